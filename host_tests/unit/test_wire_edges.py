from fakeclient import FakeClient
from waits import until

from sensordata import wire
from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from sensordata.wire import NS
from xmlstream.element import Element, tostring
from xmpp import stanza as st

HEAPSIZE = "256k"  # the sensor, the router and the XML layer, compiled from source

OWNER = "owner@example.org/phone"


def _norm(b):
    return b.replace(b'"', b"'")


def _parse(attrs=None, nodes=(), fields=(), seqnr="5"):
    a = {} if seqnr is None else {"seqnr": seqnr}
    a.update(attrs or {})
    kids = [Element("node", NS, {"nodeId": n}) for n in nodes]
    kids += [Element("field", NS, {"name": f}) for f in fields]
    return wire.parse_req(Element("req", NS, a, kids))


def _bad(**kw):
    try:
        _parse(**kw)
    except wire.BadRequest as e:
        return str(e)
    raise AssertionError("accepted %r" % (kw,))


def _sensor():
    c = FakeClient(allow=("owner@example.org",))
    s = Sensor(c, Clock(synced=True), sessions=2)
    s.register_node("n", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    return c, s


def test_a_flag_written_as_0_is_false_and_as_1_is_true():
    assert _parse({"momentary": "0", "peak": "1"}).flags == wire.PEAK


def test_seqnr_of_eleven_characters_is_accepted_and_of_twelve_refused():
    assert _parse(seqnr="12345678901").seqnr == "12345678901"
    assert _parse(seqnr="-1234567890").seqnr == "-1234567890"
    assert "seqnr" in _bad(seqnr="123456789012")


def test_a_negative_seqnr_is_accepted():
    assert _parse(seqnr="-7").seqnr == "-7"


def test_a_seqnr_that_is_only_a_sign_or_not_a_number_is_refused():
    for bad in ("-", "-x", "+1", "1.5", " 1", ""):
        assert "seqnr" in _bad(seqnr=bad), bad


def test_a_req_without_seqnr_is_refused_as_a_bad_request():
    assert "seqnr" in _bad(seqnr=None)


def test_a_request_without_seqnr_is_rejected_with_bad_request_not_an_internal_error():
    c, s = _sensor()
    iq = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": "q1", "from": OWNER},
        [Element("req", NS, {"momentary": "true"})],
    )
    c.router.dispatch(iq)
    (out,) = c.take()
    assert b"bad-request" in out and b"<rejected" in out, out
    assert b"internal-server-error" not in out


def test_an_empty_node_id_or_field_name_is_a_bad_request():
    assert "nodeId" in _bad(nodes=("",))
    assert "field" in _bad(fields=("",))


def test_node_and_field_children_of_another_namespace_are_extensions_not_filters():
    # RFC 6120 §8.4: content in a namespace we do not know is left alone, not misread.
    kids = [
        Element("node", "urn:example:other", {"nodeId": "zz"}),
        Element("field", "urn:example:other", {"name": ""}),
        Element("node", NS, {"nodeId": "n"}),
    ]
    r = wire.parse_req(Element("req", NS, {"seqnr": "1"}, kids))
    assert r.nodes == ("n",) and not r.fields, (r.nodes, r.fields)


async def test_a_device_value_in_bytes_ends_its_readout_in_a_failure_not_raw_bytes_on_the_wire():
    # The device contract says str; bytes would go out unchecked (invalid UTF-8, a
    # bytearray's repr with quotes of its own) and the server would end the stream.
    for value in (b"Serial \xb0", bytearray(b"ABC")):
        c = FakeClient(allow=("owner@example.org",))
        s = Sensor(c, Clock(synced=True), sessions=2)
        s.register_node("n", MemoryDevice((("Serial", "string", "", "identity"),), (value,)))
        req = Element("req", NS, {"seqnr": "1", "identity": "true"})
        c.router.dispatch(
            Element("iq", st.NS_CLIENT, {"type": "get", "id": "q", "from": OWNER}, [req])
        )
        await until(lambda s=s: s.table.in_use() == 0)
        out = b"".join(c.take())
        assert b"<failure" in out and b"Serial \xb0" not in out and b"bytearray" not in out, out
        out.decode()  # well-formed UTF-8 throughout


def test_at_most_sixteen_nodes_and_sixteen_fields_per_request():
    names = tuple("x%d" % i for i in range(16))
    r = _parse(nodes=names, fields=names)
    assert len(r.nodes) == 16 and len(r.fields) == 16
    assert "at most" in _bad(nodes=names + ("y",))
    assert "at most" in _bad(fields=names + ("y",))


def test_from_equal_to_to_is_accepted_and_from_after_to_is_refused():
    t = "2026-01-01T00:00:00Z"
    r = _parse({"from": t, "to": t})
    assert r.t_from == r.t_to == 1767225600
    assert "after" in _bad(attrs={"from": "2026-01-01T00:00:01Z", "to": t})


def test_a_from_with_a_fraction_starts_at_the_next_whole_second():
    # Samples are kept in whole seconds: from=...00.5 must not take in the one at ...00, which
    # lies before it; to=...00.5 still takes it in (the window is inclusive).
    t = 1767225600  # 2026-01-01T00:00:00Z
    r = _parse({"from": "2026-01-01T00:00:00.5Z", "to": "2026-01-01T00:00:02.5Z"})
    assert (r.t_from, r.t_to) == (t + 1, t + 2)
    r = _parse({"from": "2026-01-01T00:00:00.000Z"})
    assert r.t_from == t
    # Within one second, from before to is still a window (of no whole second), not an error.
    r = _parse({"from": "2026-01-01T00:00:00.25Z", "to": "2026-01-01T00:00:00.75Z"})
    assert r.t_from > r.t_to


def test_historical_covers_every_historical_flag_and_all_covers_every_flag():
    hist = 0
    for name in wire.FLAG_NAMES:
        if name.startswith("historical"):
            hist |= _parse({name: "true"}).flags
    assert _parse({"historical": "true"}).flags == hist == wire.HISTORICAL
    assert wire.HISTORICAL | wire.CURRENT == wire.ALL
    assert wire.HISTORICAL & wire.CURRENT == 0


def test_accepted_is_written_as_the_tree_it_stands_for_with_id_and_jid_escaped():
    for frm, id_ in (
        (OWNER, "1"),
        ("o@example.org/a'b\"c<&>", "x'\"<&>\t\n\r"),
        ("o@example.org/Tél\u00e9phone", "\u263a"),
        ("o@example.org/x\x01y", "i\ud800d"),  # U+FFFD for what XML cannot carry
        (None, "1"),  # the tree's own forms: never accepted, still written the same
        (OWNER, None),
        ("", ""),
    ):
        attrs = {"type": "get", "from": frm, "id": id_}
        iq = Element("iq", st.NS_CLIENT, {k: v for k, v in attrs.items() if v is not None})
        for seqnr in ("5", "-12345678901"):
            for queued in (False, True):
                q = {"queued": "true"} if queued else None
                tree = st.result(iq, wire.seq_element("accepted", seqnr, q))
                fast = wire.Accepted(iq, seqnr, queued)
                for ns in (st.NS_CLIENT, "jabber:server"):
                    assert tostring(fast, ns) == tostring(tree, ns), (frm, id_, queued, ns)
                for key in ("type", "to", "id"):
                    assert fast.get(key) == tree.get(key), key
                assert fast.name == "iq" and fast.ns == st.NS_CLIENT and not fast.children


def test_a_string_field_value_is_escaped_in_the_attribute():
    b = _norm(wire.field_bytes("Name", "string", "a'b<c&d", "", "identity"))
    assert b"value='a&apos;b&lt;c&amp;d'" in b, b


def test_a_field_name_and_unit_are_escaped_in_their_attributes():
    b = _norm(wire.field_bytes("R&D 'x'", "numeric", "1", "<u>", "momentary"))
    assert b"name='R&amp;D &apos;x&apos;' value='1' unit='&lt;u&gt;'" in b, b


def test_a_node_id_is_escaped_in_its_node_element():
    b = _norm(wire.node_block("a'b<c", 1767225600, [b"<x/>"]))
    assert b.startswith(b"<node nodeId='a&apos;b&lt;c'><timestamp"), b


async def _read_out(c, s, frm, flag):
    """What the sensor sends for one request with one type flag, once its slot is free."""
    req = Element("req", NS, {"seqnr": "1", flag: "true"})
    c.router.dispatch(Element("iq", st.NS_CLIENT, {"type": "get", "id": "q1", "from": frm}, [req]))
    await until(lambda: not s.table.in_use())
    return [_norm(m) for m in c.take()]


async def test_a_readout_with_nothing_to_send_still_ends_with_an_empty_done_fields():
    c, s = _sensor()  # history is kept but holds no sample yet
    out = await _read_out(c, s, OWNER, "historical")
    assert b"<accepted" in out[0]
    assert b"<fields" in out[1] and b"done='true'/>" in out[1], out
    assert s.table.in_use() == 0


async def test_a_requester_resource_with_quotes_is_escaped_in_the_fields_message():
    # RFC 7622: a resource may hold any character, an apostrophe or '<' among them.
    c, s = _sensor()
    out = await _read_out(c, s, "owner@example.org/it's <mine>", "momentary")
    assert b"<fields" in out[1], out
    assert b"to='owner@example.org/it&apos;s &lt;mine&gt;'" in out[1], out[1]


def test_seqnrs_with_ever_new_first_characters_leave_nothing_behind():
    from interned import held

    from sensordata import wire
    from xmlstream.element import Element

    def seqnr(s):
        wire.seqnr_of(Element("req", wire.NS, {"seqnr": s}))

    grown = held(seqnr, b"", b"12", error=wire.BadRequest)
    assert grown < 1024, grown

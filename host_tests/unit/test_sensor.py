import asyncio

from fakeclient import FakeClient
from waits import until

from sensordata.clock import Clock, iso
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

# The sensor, the router and the XML layer, compiled from source. Near 192k a run passed or
# ran out of memory by the heap's layout, not its size (176k and 192k failed, 168k, 184k and
# 200k passed, on the same code): room enough that a small change elsewhere cannot decide it.
HEAPSIZE = "256k"

OWNER = "owner@example.org/phone"
TH = (
    ("Temperature", "numeric", "°C", "momentary"),
    ("Humidity", "numeric", "%", "momentary"),
    ("Chip", "string", "", "identity"),
    ("Ok", "boolean", "", "status"),
)


def _norm(b):
    return b.replace(b'"', b"'")


def _sensor(sessions=2, budget=1536, allow=("owner@example.org",), **kw):
    c = FakeClient(allow=allow)
    s = Sensor(c, Clock(synced=True), sessions=sessions, budget=budget, **kw)
    dev = MemoryDevice(TH, ("21.53", "45.2", "SHT40", True))
    s.register_node("sht4x-44", dev, comm_timeout=200)
    return c, s, dev


def _req(seqnr="1", frm=OWNER, attrs=None, nodes=(), fields=(), id_=None, type_="get"):
    a = {"seqnr": seqnr}
    a.update({"momentary": "true"} if attrs is None else attrs)
    kids = [Element("node", NS, {"nodeId": n}) for n in nodes]
    kids += [Element("field", NS, {"name": f}) for f in fields]
    return Element(
        "iq",
        st.NS_CLIENT,
        {"type": type_, "id": id_ or seqnr, "from": frm},
        [Element("req", NS, a, kids)],
    )


async def _settle(ms=30):
    await asyncio.sleep_ms(ms)


async def _ended(s):
    """Wait until every readout ended: a slot is freed only after its last message went."""
    await until(lambda: s.table.in_use() == 0)


async def test_request_is_accepted_at_once_then_fields_with_done():
    c, s, _ = _sensor()
    c.router.dispatch(_req())
    first = _norm(c.take()[0])
    assert b"<accepted" in first and b"seqnr='1'" in first and b"type='result'" in first
    await _ended(s)
    (msg,) = [_norm(m) for m in c.take()]
    assert b"<fields" in msg and b"done='true'" in msg
    assert b"nodeId='sht4x-44'" in msg
    assert b"name='Temperature' value='21.53' unit='\xc2\xb0C' momentary='true'" in msg
    assert b"automaticReadout='true'" in msg
    assert b"name='Chip'" not in msg  # identity was not asked for
    assert s.table.in_use() == 0


async def test_accepted_and_fields_are_sent_in_that_order():
    c, s, _ = _sensor()
    c.router.dispatch(_req(attrs={"all": "true"}))
    await _ended(s)
    out = c.take()
    assert b"accepted" in out[0] and b"fields" in out[1]


async def test_no_type_flag_means_every_current_field():
    c, s, _ = _sensor()
    c.router.dispatch(_req(attrs={}))
    await _ended(s)
    msg = _norm(c.take()[1])
    for name in (b"Temperature", b"Humidity", b"Chip", b"Ok"):
        assert b"name='" + name + b"'" in msg
    assert b"identity='true'" in msg and b"status='true'" in msg
    assert b"value='true'" in msg  # boolean written as true/false


async def test_field_filter_limits_the_readout():
    c, s, _ = _sensor()
    c.router.dispatch(_req(fields=("Humidity",)))
    await _ended(s)
    msg = c.take()[1]
    assert b"Humidity" in msg and b"Temperature" not in msg


def test_unknown_node_is_rejected_with_item_not_found_and_rejected_element():
    c, s, _ = _sensor()
    c.router.dispatch(_req(nodes=("nope",)))
    (out,) = [_norm(b) for b in c.take()]
    assert b"<rejected" in out and b"item-not-found" in out and b"type='error'" in out
    assert s.table.in_use() == 0


def test_request_for_fields_that_exist_nowhere_is_rejected():
    c, s, _ = _sensor()
    c.router.dispatch(_req(fields=("Colour",)))
    (out,) = c.take()
    assert b"rejected" in out and b"item-not-found" in out


def test_unauthorized_requester_is_rejected_with_forbidden():
    c, s, _ = _sensor()
    c.router.dispatch(_req(frm="eve@evil.example/x"))
    (out,) = c.take()
    assert b"rejected" in out and b"forbidden" in out and b"Access denied" in out


def test_request_flags_and_times_are_read_from_the_attributes_present():
    from sensordata import wire

    def parse(attrs):
        a = {"seqnr": "5"}
        a.update(attrs)
        return wire.parse_req(Element("req", NS, a))

    r = parse({"momentary": "true", "identity": "1", "peak": "false", "unknown": "x"})
    assert r.flags == wire.MOMENTARY | wire.IDENTITY and r.seqnr == "5"
    assert parse({"historical": "true"}).flags == wire.HISTORICAL
    assert parse({"historicalDay": "true"}).flags == wire.HIST_DAY
    assert parse({"all": "true", "momentary": "true"}).flags == wire.ALL
    assert parse({}).flags == wire.ALL
    assert parse({"momentary": "false"}).flags == wire.ALL  # no flag set means everything
    r = parse({"from": "2026-01-01T00:00:00Z", "when": "2026-01-01T00:01:00Z"})
    assert (r.t_from, r.t_to, r.when) == (1767225600, None, 1767225660)
    for bad in ({"peak": "yes"}, {"to": "noon"}):
        try:
            parse(bad)
        except wire.BadRequest as e:
            assert list(bad)[0] in str(e)
        else:
            raise AssertionError("accepted %r" % (bad,))


def test_malformed_seqnr_and_dates_are_bad_requests():
    c, s, _ = _sensor()
    c.router.dispatch(_req(seqnr="one"))
    c.router.dispatch(_req(attrs={"momentary": "true", "from": "yesterday"}))
    c.router.dispatch(_req(attrs={"momentary": "maybe"}))
    out = c.take()
    assert len(out) == 3 and all(b"bad-request" in o and b"rejected" in o for o in out)


async def test_full_table_rejects_with_resource_constraint_and_every_request_is_answered():
    c, s, dev = _sensor(sessions=2)
    dev.delay_ms = 50
    for i in range(5):
        c.router.dispatch(_req(seqnr=str(i + 1)))
    answers = [_norm(b) for b in c.take()]
    assert len(answers) == 5
    assert sum(b"<accepted" in a for a in answers) == 2
    full = [a for a in answers if b"resource-constraint" in a]
    assert len(full) == 3 and all(b"<rejected" in a and b"type='wait'" in a for a in full)
    await _ended(s)
    assert sum(b"done='true'" in m for m in c.take()) == 2
    assert s.table.in_use() == 0


async def test_same_seqnr_from_two_requesters_are_two_sessions():
    c, s, dev = _sensor(allow=("owner@example.org", "other@example.org"))
    dev.delay_ms = 20
    c.router.dispatch(_req(seqnr="1"))
    c.router.dispatch(_req(seqnr="1", frm="other@example.org/x"))
    assert sum(b"<accepted" in a for a in c.take()) == 2
    assert s.table.in_use() == 2
    await _ended(s)
    done = [m for m in c.take() if b"done='true'" in _norm(m)]
    assert len(done) == 2, done
    assert sum(OWNER.encode() in m for m in done) == 1


async def test_a_device_that_times_out_gives_one_failure_with_done_and_others_still_answer():
    c, s, dev = _sensor()
    slow = MemoryDevice(TH[:1], ("1.0",))
    slow.delay_ms = 1000
    s.register_node("slow", slow, comm_timeout=30)
    c.router.dispatch(_req())
    await _ended(s)
    out = [_norm(b) for b in c.take()]
    assert b"<accepted" in out[0]
    fields, failure = out[1], out[2]
    assert b"<fields" in fields and b"sht4x-44" in fields and b"done=" not in fields
    assert b"<failure" in failure and b"done='true'" in failure
    assert b"nodeId='slow'" in failure and b"Timeout" in failure
    assert len(out) == 3
    assert s.table.in_use() == 0


async def test_a_device_error_fails_only_its_node():
    c, s, dev = _sensor()
    dev.fail = OSError(19)
    ok = MemoryDevice(TH[:1], ("2.0",))
    s.register_node("ok", ok)
    c.router.dispatch(_req())
    await _ended(s)
    out = c.take()
    assert b"nodeId='ok'" in _norm(out[1])
    assert b"failure" in out[2] and b"sht4x-44" in out[2]


async def test_big_readouts_are_split_under_the_byte_budget_with_done_on_the_last():
    c, s, _ = _sensor(budget=400)
    for i in range(6):
        s.register_node("n%d" % i, MemoryDevice(TH, ("1.%d" % i, "2", "X", False)))
    c.router.dispatch(_req(attrs={"all": "true"}))
    await _ended(s)
    msgs = c.take()[1:]
    assert len(msgs) >= 3
    assert all(len(m) <= 400 + 350 for m in msgs)
    assert [b"done='true'" in _norm(m) for m in msgs] == [False] * (len(msgs) - 1) + [True]
    assert sum(m.count(b"<node ") for m in msgs) == 7


async def test_cancel_frees_the_slot_and_is_confirmed():
    c, s, dev = _sensor()
    dev.delay_ms = 100
    c.router.dispatch(_req())
    c.take()
    await _settle(10)
    cancel = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": "1", "from": OWNER},
        [Element("cancel", NS, {"seqnr": "1"})],
    )
    c.router.dispatch(cancel)
    (out,) = [_norm(b) for b in c.take()]
    assert b"<cancelled" in out and b"type='result'" in out
    assert s.table.in_use() == 0
    await _settle(150)
    assert c.take() == []  # nothing more for a cancelled request


def test_cancel_for_nothing_is_rejected_with_item_not_found():
    c, s, _ = _sensor()
    cancel = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": "9", "from": OWNER},
        [Element("cancel", NS, {"seqnr": "9"})],
    )
    c.router.dispatch(cancel)
    (out,) = c.take()
    assert b"item-not-found" in out and b"rejected" in out


async def test_future_when_is_queued_then_started_then_fields():
    c, s, _ = _sensor()
    # Two whole seconds: still ahead if the clock's second turns before the request is read.
    when = iso(s.clock.now() + 2)
    c.router.dispatch(_req(attrs={"momentary": "true", "when": when}))
    acc = _norm(c.take()[0])
    assert b"queued='true'" in acc
    await _settle(100)
    assert c.take() == []
    await _ended(s)
    out = c.take()
    assert b"<started" in out[0] and b"done='true'" in _norm(out[1])


async def test_requester_going_offline_frees_its_sessions_with_a_final_answer():
    # Unavailable may only mean it stopped sharing its presence with us (RFC 6121 §3.2.2:
    # Prosody sends one on an unsubscribed) while it waits still: it gets its done.
    c, s, dev = _sensor()
    dev.delay_ms = 100
    c.router.dispatch(_req())
    await _settle(5)
    assert s.table.in_use() == 1
    c.take()
    c.router.dispatch(Element("presence", st.NS_CLIENT, {"type": "unavailable", "from": OWNER}))
    assert s.table.in_use() == 0
    sent = c.take()
    assert len(sent) == 1 and b"<failure" in sent[0] and b"done='true'" in _norm(sent[0])
    assert b"Requester unavailable" in sent[0] and b"to='%s'" % OWNER.encode() in sent[0]
    await _settle(150)  # past the readout the session was waiting for: nothing goes out
    assert c.take() == []


async def test_our_own_disconnect_frees_every_session_and_each_gets_its_end_once_back():
    # Only our stream ended: the requesters may still be online, waiting for a final answer
    # that no readout will now send (a queued one was promised hours ahead).
    c, s, dev = _sensor()
    dev.delay_ms = 100
    c.router.dispatch(_req(seqnr="1"))
    later = iso(s.clock.now() + 3600)
    c.router.dispatch(_req(seqnr="2", attrs={"momentary": "true", "when": later}))
    await _settle(5)
    c.take()
    c.go_offline()
    assert s.table.in_use() == 0
    await asyncio.sleep_ms(150)  # the cancelled readout sends nothing
    assert c.take() == []
    c.go_online()
    out = [_norm(x) for x in c.take()]
    assert len(out) == 2, out
    for i, msg in enumerate(out):
        assert b"<failure" in msg and b"seqnr='%d' done='true'" % (i + 1) in msg, msg
        assert b"Connection lost" in msg
    c.go_offline()
    c.go_online()
    assert c.take() == []  # each once


async def test_a_request_whose_accepted_cannot_be_queued_holds_no_slot_and_is_not_read():
    # The output can be full when a request comes (another readout's fields fill it while
    # the reader waits for bytes): a requester that never saw `accepted` gets no data.
    c, s, _ = _sensor()
    later = iso(s.clock.now() + 3600)
    c.full = True
    c.router.dispatch(_req(seqnr="1"))
    c.router.dispatch(_req(seqnr="2", attrs={"momentary": "true", "when": later}))
    assert s.table.in_use() == 0
    c.full = False
    await _settle(100)
    assert c.take() == []
    assert any("accepted for owner@example.org/phone seqnr=1 not sent" in x for x in c.log.lines)
    c.router.dispatch(_req(seqnr="1"))  # asked again, read as any
    await _ended(s)
    assert b"<fields" in c.take()[-1]


async def test_logins_that_end_before_online_owe_at_most_a_table_of_ends():
    # A stream that ends while the roster is still asked for serves requests (the router is
    # up) but never runs the online hooks: what each such drop owes must not pile up.
    c, s, dev = _sensor()
    dev.delay_ms = 1000
    for n in range(10):
        c.online = True  # served, not yet online: no hook ran
        c.router.dispatch(_req(seqnr=str(2 * n + 1)))
        c.router.dispatch(_req(seqnr=str(2 * n + 2)))
        await _settle(5)
        c.take()
        c.go_offline()
    assert len(s.pending) == len(s.table.slots), len(s.pending)
    c.go_online()
    out = [_norm(x) for x in c.take()]
    # The newest ends are sent; the older ones were counted and logged as dropped.
    assert [m.split(b"seqnr='")[1].split(b"'")[0] for m in out] == [b"19", b"20"], out
    assert all(b"Connection lost" in m for m in out)
    assert any("seqnr=1 dropped: connection lost again" in x for x in c.log.lines)


async def test_unsynced_clock_is_reported_as_failure_not_1970():
    c, s, _ = _sensor()
    s.clock.synced = False
    c.router.dispatch(_req())
    await _ended(s)
    out = c.take()
    assert b"failure" in out[1] and b"Clock not synchronized" in out[1]
    assert b"value='21.53'" not in _norm(out[1])
    # No time to give: no timestamp rather than a false one.
    assert b"<error nodeId='sht4x-44'>Clock not synchronized" in _norm(out[1])


def _sensor_with_history():
    """A sensor whose node holds four samples a minute apart; (client, sensor, first time)."""
    c, s, _ = _sensor(history=4, sample_s=60)
    node = s.node("sht4x-44")
    # On minute shifts (hh:01:00 to hh:04:00 of the hour before): historicalMinute values.
    t0 = int(s.clock.now()) // 3600 * 3600 - 3540
    for k in range(4):
        node.history.add(t0 + 60 * k, ("2%d.0" % k, "40.0", "SHT40", True))
    return c, s, t0


async def test_history_is_served_for_from_to_with_historical_flags():
    c, s, t0 = _sensor_with_history()
    c.router.dispatch(
        _req(attrs={"historical": "true", "from": iso(t0 + 60), "to": iso(t0 + 120)})
    )
    await _ended(s)
    msg = _norm(c.take()[1])
    assert msg.count(b"<timestamp") == 2
    assert b"value='21.0'" in msg and b"value='22.0'" in msg and b"value='20.0'" not in msg
    assert b"historicalMinute='true'" in msg
    assert b"Chip" not in msg


async def test_concurrent_requests_share_one_readout():
    c, s, dev = _sensor(allow=("owner@example.org",))
    dev.delay_ms = 20
    c.router.dispatch(_req(seqnr="1"))
    c.router.dispatch(_req(seqnr="2"))
    await _ended(s)
    assert dev.reads == 1


async def test_a_readout_that_breaks_the_board_still_ends_with_a_failure():
    c, s, dev = _sensor()

    class Broken:
        FIELDS = TH

        async def read(self):
            return ("1",)  # too few values: the readout itself fails, not the part

    s.node("sht4x-44").device = Broken()
    c.router.dispatch(_req())
    await _ended(s)
    out = c.take()
    assert b"<accepted" in out[0]
    assert b"<failure" in out[1] and b"done='true'" in _norm(out[1])
    assert b"Internal error" in out[1]
    assert s.table.in_use() == 0


def test_a_request_handler_failure_is_answered_with_rejected_too():
    c, s, _ = _sensor()

    def boom(*args):
        raise MemoryError()

    s._selected = boom
    c.router.dispatch(_req(fields=("Temperature",)))
    (out,) = c.take()
    assert b"<rejected" in out and b"internal-server-error" in out


def test_an_internal_error_rejection_echoes_the_seqnr_the_requester_keys_on():
    c, s, _ = _sensor()

    def boom(*args):
        raise MemoryError()

    s._selected = boom
    c.router.dispatch(_req(seqnr="42", fields=("Temperature",)))
    (out,) = [_norm(b) for b in c.take()]
    assert b"<rejected xmlns='urn:xmpp:iot:sensordata' seqnr='42'" in out, out


async def test_a_cancelled_request_does_not_abandon_the_readout_under_way():
    c, s, dev = _sensor()
    dev.delay_ms = 60
    c.router.dispatch(_req(seqnr="1"))
    await _settle(10)
    cancel = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": "c", "from": OWNER},
        [Element("cancel", NS, {"seqnr": "1"})],
    )
    c.router.dispatch(cancel)
    c.router.dispatch(_req(seqnr="2"))
    await _ended(s)
    assert dev.reads == 1  # the second request joined the readout the first one started
    out = c.take()
    assert sum(b"done='true'" in _norm(m) for m in out) == 1


def test_a_rejection_echoes_the_seqnr_exactly_and_a_far_when_is_refused():
    c, s, _ = _sensor()
    c.router.dispatch(_req(seqnr="999999999999"))  # 12 digits: not a valid seqnr
    c.router.dispatch(_req(attrs={"momentary": "true", "when": iso(s.clock.now() + 2 * 86400)}))
    a, b = [_norm(o) for o in c.take()]
    assert (
        b"bad-request" in a
        and b"<rejected xmlns='urn:xmpp:iot:sensordata' seqnr='999999999999'" in a
    )
    assert b"bad-request" in b and b"more than a day ahead" in b
    assert s.table.in_use() == 0


def test_a_when_sent_to_a_board_without_a_synced_clock_is_refused_for_that_reason():
    c, s, _ = _sensor()
    s.clock.synced = False
    c.router.dispatch(_req(attrs={"momentary": "true", "when": "2026-11-26T12:00:00Z"}))
    (out,) = [_norm(o) for o in c.take()]
    assert b"unexpected-request" in out and b"type='wait'" in out
    assert b"clock is not set" in out and b"<rejected" in out
    assert s.table.in_use() == 0


async def test_a_field_without_a_valid_reading_is_left_out_and_a_node_without_any_fails():
    c, s, dev = _sensor()
    dev.values[0] = None  # Temperature: no valid reading this time
    c.router.dispatch(_req())
    await _ended(s)
    msg = _norm(c.take()[1])
    assert b"name='Humidity'" in msg and b"Temperature" not in msg and b"value=''" not in msg
    c, s, dev = _sensor()  # a new readout (requests within 250 ms share one)
    dev.values[0] = dev.values[1] = None
    c.router.dispatch(_req(seqnr="2"))
    await _ended(s)
    fail = _norm(c.take()[1])
    assert b"<failure" in fail and b"No valid reading" in fail and b"done='true'" in fail


def _samples_around_an_hour():
    """A sensor whose node holds samples at hh:58:59, hh:59:00 and hh:00:00 of the last
    hour; (client, sensor)."""
    c, s, _ = _sensor(history=4, sample_s=60)
    node = s.node("sht4x-44")
    hour = int(s.clock.now()) // 3600 * 3600 - 3600
    if hour % 86400 == 0:
        hour -= 3600  # midnight lies on a day shift too: the tests would fail after 01:00 UTC
    for t in (hour - 61, hour - 60, hour):
        node.history.add(t, ("21.0", "40.0", "SHT40", True))
    return c, s


async def test_a_history_sample_is_flagged_by_the_shift_its_time_lies_on():
    # XEP-0323 "Field Types": historicalMinute is a value stored at a minute shift
    # (seconds = 0), historicalHour at an hour shift...; not the sampling period's name.
    c, s = _samples_around_an_hour()
    c.router.dispatch(_req(attrs={"historical": "true"}))
    await _ended(s)
    msg = _norm(c.take()[1])
    # Two momentary fields per sample: hh:58:59, then hh:59:00, then hh:00:00.
    assert msg.count(b"historicalSecond='true'") == 2
    assert msg.count(b"historicalMinute='true'") == 2
    assert msg.count(b"historicalHour='true'") == 2


async def test_only_the_historical_types_asked_for_are_sent_each_as_the_longest_asked():
    # A sample lies on every shift its time divides by: the one at hh:00:00 is an hour, a
    # minute and a second shift value, the one at hh:59:00 a minute and a second one.
    c, s = _samples_around_an_hour()
    for flags, counts in (
        ({"historicalHour": "true"}, (0, 0, 2)),  # the hour shift only
        ({"historicalMinute": "true"}, (0, 4, 0)),  # hh:59:00 and hh:00:00, as minutes
        ({"historicalSecond": "true", "historicalHour": "true"}, (4, 0, 2)),
        ({"historicalDay": "true"}, None),  # none lies on a day shift: nothing to send
    ):
        c.router.dispatch(_req(attrs=flags))
        await _ended(s)
        msg = _norm(c.take()[1])
        kinds = (b"historicalSecond='true'", b"historicalMinute='true'", b"historicalHour='true'")
        if counts is None:
            assert b"<timestamp" not in msg and b"done='true'" in msg, msg
        else:
            assert tuple(msg.count(k) for k in kinds) == counts, (flags, msg)


async def test_a_sample_of_the_readout_served_as_momentary_is_not_sent_again_as_history():
    # XEP-0323 glossary: a field is unique by (node, field name, timestamp); the sampler's
    # readout shared by a request (or taken in the same second) is that same value.
    c, s, _ = _sensor(history=4, sample_s=60)
    t = int(s.clock.now())
    s.clock.now = lambda: t
    s.node("sht4x-44").history.add(t - 60, ("20.0", "40.0", "SHT40", True))
    s.node("sht4x-44").history.add(t, ("21.53", "45.2", "SHT40", True))
    c.router.dispatch(_req(attrs={"all": "true"}))
    await _ended(s)
    msg = _norm(c.take()[1])
    assert msg.count(b"<timestamp value='%s'>" % iso(t).encode()) == 1
    assert msg.count(b"<timestamp") == 2 and b"value='20.0'" in msg
    assert b"momentary='true'" in msg


async def test_a_sample_at_the_time_of_a_readout_without_momentary_fields_is_sent_as_history():
    # Only identity was read now: the sample's momentary values were not sent yet.
    c, s, _ = _sensor(history=4, sample_s=60)
    t = int(s.clock.now())
    s.clock.now = lambda: t
    s.node("sht4x-44").history.add(t, ("21.53", "45.2", "SHT40", True))
    c.router.dispatch(_req(attrs={"identity": "true", "historical": "true"}))
    await _ended(s)
    msg = _norm(c.take()[1])
    assert msg.count(b"<timestamp value='%s'>" % iso(t).encode()) == 2
    assert b"name='Chip'" in msg and b"name='Temperature' value='21.53'" in msg


async def test_historical_without_from_or_to_gives_the_whole_history():
    c, s, _ = _sensor_with_history()
    c.router.dispatch(_req(attrs={"historical": "true"}))
    await _ended(s)
    msg = _norm(c.take()[1])
    assert msg.count(b"<timestamp") == 4 and b"done='true'" in msg


async def test_an_internal_error_without_a_synced_clock_carries_no_timestamp():
    c, s, _ = _sensor()
    s.clock.synced = False

    async def broken(*args):
        raise MemoryError()

    s._readout = broken
    c.router.dispatch(_req())
    await _ended(s)
    out = _norm(c.take()[1])
    assert b"<failure" in out and b"Internal error" in out and b"done='true'" in out
    assert b"timestamp=" not in out  # never a 1970 (or 2000) one
    assert s.table.in_use() == 0


async def test_a_numeric_field_without_a_unit_still_carries_the_required_unit_attribute():
    c, s, _ = _sensor()
    s.register_node("count", MemoryDevice((("Count", "numeric", "", "momentary"),), ("3",)))
    c.router.dispatch(_req(nodes=("count",)))
    await _ended(s)
    msg = _norm(c.take()[1])
    # XEP-0323 schema: unit is required on numeric; a unitless value leaves it blank.
    assert b"<numeric name='Count' value='3' unit=''" in msg


async def test_the_sampler_marks_each_node_read_so_failing_parts_do_not_look_like_a_hang():
    # The watchdog's probe passes while `sampled` is recent. A turn reads every node, each up
    # to its comm timeout: with several unplugged parts a turn outlasts the probe's limit
    # (2 periods + 20 s) when the mark is set only once per turn, and the board resets.
    import time

    from thing.supervisor import Sampler

    c, s, _ = _sensor(history=2, sample_s=1)
    probe = Sampler(s, 300)
    judged = []

    class Slow(MemoryDevice):
        async def read(self):
            # Judged as each read starts, just after the one before timed out: with one mark
            # per turn the third read starts over 400 ms (two timeouts) after it.
            judged.append(probe(time.ticks_ms()))
            return await MemoryDevice.read(self)

    def slow():
        dev = Slow(TH, ("21.53", "45.2", "SHT40", True))
        dev.delay_ms = 1000  # past the node's 200 ms: a timeout
        return dev

    s.node("sht4x-44").device = slow()
    for k in range(3):
        s.register_node("slow-%d" % k, slow(), comm_timeout=200)
    s.start_sampling()
    await until(lambda: len(judged) >= 4)  # through the first turn: four timeouts
    s.stop()
    assert judged[:4] == [None] * 4, judged


# -- bounces: a requester that can no longer be reached (RFC 6120 §8.3, RFC 6121 §8.5) -------


def _bounce(sent, frm=OWNER, condition="service-unavailable", type_="cancel"):
    """The error a server returns for message `sent` (bytes): its id, nothing of its payload,
    as Prosody's error replies have it."""
    sent = _norm(sent)
    i = sent.index(b"id='") + 4
    id_ = sent[i : sent.index(b"'", i)].decode()
    err = Element("error", st.NS_CLIENT, {"type": type_}, [Element(condition, st.NS_STANZAS)])
    return Element("message", st.NS_CLIENT, {"type": "error", "id": id_, "from": frm}, [err])


async def _mid_readout(c, s, seqnr="1", frm=OWNER):
    """A readout whose first <fields> went out while its slow last node is read."""
    c.router.dispatch(_req(seqnr=seqnr, frm=frm))
    await until(lambda: any(b"<fields" in m for m in c.sent))
    return [m for m in c.take() if b"<fields" in m]


def _two_node_sensor(**kw):
    c, s, dev = _sensor(budget=256, **kw)
    s.register_node("fast", MemoryDevice(TH[:1], ("2.0",)))
    slow = MemoryDevice(TH[:1], ("1.0",))
    slow.delay_ms = 300
    s.register_node("slow", slow, comm_timeout=1000)
    return c, s


async def test_a_bounced_fields_message_ends_its_session_and_frees_the_slot():
    c, s = _two_node_sensor()
    (fields,) = await _mid_readout(c, s)
    assert s.table.in_use() == 1
    c.router.dispatch(_bounce(fields))
    assert s.table.in_use() == 0
    assert any("unreachable" in line and "seqnr=1" in line for line in c.log.lines), c.log.lines
    await _settle(400)
    assert c.take() == []  # nothing more goes to a requester the server says is gone


async def test_a_bounce_ends_only_the_session_of_that_jid_and_seqnr():
    other = "other@example.org/x"
    c, s = _two_node_sensor(sessions=4, allow=("owner@example.org", "other@example.org"))
    c.router.dispatch(_req(seqnr="1"))
    c.router.dispatch(_req(seqnr="2"))
    c.router.dispatch(_req(seqnr="1", frm=other))
    await until(lambda: sum(b"<fields" in m for m in c.sent) == 3)  # the fast node's, each
    fields = [m for m in c.take() if b"<fields" in m]
    mine = [m for m in fields if OWNER.encode() in m and b"seqnr='1'" in _norm(m)]
    assert s.table.in_use() == 3 and len(mine) == 1
    # From another resource of the same account: not where that message went.
    c.router.dispatch(_bounce(mine[0], frm="owner@example.org/laptop"))
    assert s.table.in_use() == 3
    c.router.dispatch(_bounce(mine[0]))
    assert s.table.in_use() == 2
    assert s.table.find(OWNER, "2") is not None and s.table.find(other, "1") is not None


async def test_a_late_bounce_for_an_earlier_session_ends_nothing_of_the_next_one():
    # slixmpp counts seqnr from 1 in every process: a requester back with the same JID asks
    # for seqnr 1 again, while the bounce of what went to its last run may still be on its way.
    c, s = _two_node_sensor()
    c.router.dispatch(_req(seqnr="1"))
    await _ended(s)
    (old,) = [m for m in c.take() if b"<fields" in m][:1]
    await _settle(300)  # past the 250 ms in which a node's last readout is shared
    await _mid_readout(c, s)  # seqnr 1 again, under way
    c.router.dispatch(_bounce(old))
    assert s.table.in_use() == 1
    await _ended(s)
    assert any(b"done='true'" in _norm(m) for m in c.take())


async def test_an_error_of_type_continue_is_only_a_warning_and_ends_nothing():
    c, s = _two_node_sensor()
    (fields,) = await _mid_readout(c, s)
    c.router.dispatch(_bounce(fields, type_="continue"))
    assert s.table.in_use() == 1


async def test_a_bounce_that_is_not_for_a_session_message_ends_nothing():
    c, s = _two_node_sensor()
    await _mid_readout(c, s)
    for id_ in (None, "c7", "x.2", "c1.1.1"):
        attrs = {"type": "error", "from": OWNER}
        if id_:
            attrs["id"] = id_
        c.router.dispatch(Element("message", st.NS_CLIENT, attrs, []))
    assert s.table.in_use() == 1


async def test_every_message_of_a_session_carries_its_own_id():
    c, s = _two_node_sensor()
    c.router.dispatch(_req())
    await _ended(s)
    msgs = [_norm(m) for m in c.take() if m.startswith(b"<message")]
    assert len(msgs) == 3  # one per node under this budget
    ids = [m[m.index(b"id='") : m.index(b"'", m.index(b"id='") + 4)] for m in msgs]
    assert len(set(ids)) == 3, ids


async def test_a_queued_request_ends_when_its_requester_goes_offline():
    c, s, _ = _sensor()
    c.router.dispatch(_req(attrs={"momentary": "true", "when": iso(s.clock.now() + 60)}))
    assert s.table.in_use() == 1
    c.router.dispatch(Element("presence", st.NS_CLIENT, {"type": "unavailable", "from": OWNER}))
    assert s.table.in_use() == 0
    c.router.dispatch(
        _req(seqnr="2", attrs={"momentary": "true", "when": iso(s.clock.now() + 60)})
    )
    other = {"type": "unavailable", "from": "owner@example.org/laptop"}
    c.router.dispatch(Element("presence", st.NS_CLIENT, other))
    assert s.table.in_use() == 1  # another resource of the same account went, not this one


async def test_a_cancel_from_another_jid_does_not_end_someone_elses_session():
    # Sessions are keyed by requester and seqnr: slixmpp counts seqnr from 1, so any contact
    # could otherwise cancel the owner's readout.
    c, s, dev = _sensor(allow=("owner@example.org", "other@example.org"))
    dev.delay_ms = 100
    c.router.dispatch(_req())
    c.take()
    await _settle(10)
    cancel = Element("cancel", NS, {"seqnr": "1"})
    attrs = {"type": "get", "id": "x1", "from": "other@example.org/x"}
    c.router.dispatch(Element("iq", st.NS_CLIENT, attrs, [cancel]))
    (out,) = c.take()
    assert b"item-not-found" in out and s.table.in_use() == 1, out
    await _settle(200)
    assert any(b"done=" in m for m in c.take())


def test_message_ids_compare_by_count_not_as_text():
    # A bounce is matched to a session only if its id was issued since the session began.
    from sensordata import sensor as sensor_module

    assert sensor_module._later("c100", "cff") and not sensor_module._later("cff", "c100")

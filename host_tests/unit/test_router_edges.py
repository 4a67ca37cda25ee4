import asyncio

from fakeclient import FakeClient
from waits import until

from xmlstream.element import Element
from xmpp import stanza as st


def _iq(type_, payloads, id_="1", frm="owner@example.org/phone"):
    return Element("iq", st.NS_CLIENT, {"type": type_, "id": id_, "from": frm}, payloads)


def test_a_second_request_with_an_id_still_pending_is_refused():
    c = FakeClient()
    c.router.expect("dup", lambda el: None, "a@example.org/x")
    try:
        c.router.expect("dup", lambda el: None, "b@example.org/x")
    except OverflowError:
        pass
    else:
        raise AssertionError("a pending id was taken twice")
    assert c.router.pending["dup"][1] == "a@example.org/x"


async def test_finished_async_handlers_give_their_places_back():
    c = FakeClient()

    async def quick(el):
        await asyncio.sleep_ms(0)
        return st.result(el)

    c.router.iq("urn:example:x", "x", quick)
    for round_ in range(3):
        for i in range(4):
            c.router.dispatch(
                _iq("get", [Element("x", "urn:example:x")], id_="q%d%d" % (round_, i))
            )
        await until(lambda: not c.router.tasks, what="a handler still runs")
        out = c.take()
        assert len(out) == 4 and not any(b"resource-constraint" in o for o in out), out
    assert c.router.tasks == 0


async def test_handlers_cancelled_before_or_during_their_work_give_their_places_back():
    # One is cancelled before its first turn (its body never runs), one while it waits:
    # both places are free at once, and neither frees a place again when it ends.
    c = FakeClient()
    gate = asyncio.Event()

    async def slow(el):
        await gate.wait()
        return st.result(el)

    c.router.iq("urn:example:x", "x", slow)
    c.router.dispatch(_iq("get", [Element("x", "urn:example:x")], id_="a"))
    await asyncio.sleep_ms(0)
    c.router.dispatch(_iq("get", [Element("x", "urn:example:x")], id_="b"))
    c.router.drop_pending()
    assert c.router.tasks == 0
    for i in range(4):
        c.router.dispatch(_iq("get", [Element("x", "urn:example:x")], id_="n%d" % i))
    await asyncio.sleep_ms(10)  # the cancelled ones end now
    assert c.router.tasks == 4
    gate.set()
    await until(lambda: not c.router.tasks, what="a handler still runs")
    out = c.take()
    assert len(out) == 4 and all(b"id='n" in o.replace(b'"', b"'") for o in out), out


def test_an_iq_get_with_two_payloads_is_a_bad_request():
    c = FakeClient()
    seen = []
    c.router.iq("urn:example:x", "x", lambda el: seen.append(el) or st.result(el))
    c.router.dispatch(_iq("get", [Element("x", "urn:example:x"), Element("y", "urn:example:x")]))
    (out,) = c.take()
    assert b"bad-request" in out and seen == []


def test_a_first_level_element_outside_the_client_namespace_is_no_stanza_and_is_ignored():
    # <iq xmlns=''> is an element named iq in no namespace (RFC 6120 §8: stanzas are
    # jabber:client's): it gets no answer, and the ping handler never sees it.
    c = FakeClient()
    for ns in ("", "urn:example:x", "jabber:server"):
        iq = Element("iq", ns, {"type": "get", "id": "p1", "from": "owner@example.org/phone"})
        iq.children = [Element("ping", "urn:xmpp:ping")]
        c.router.dispatch(iq)
    assert c.take() == []
    c.router.dispatch(_iq("get", [Element("ping", "urn:xmpp:ping")], "p1"))
    (out,) = c.take()
    assert b"type='result'" in out and b"id='p1'" in out


def test_dropping_pending_requests_tells_each_once_and_forgets_them():
    c = FakeClient()
    told = []
    c.router.expect("a", told.append, "a@example.org/x")
    c.router.expect("b", told.append, "b@example.org/x")
    c.router.drop_pending()
    assert told == [None, None] and c.router.pending == {}
    c.router.drop_pending()
    assert told == [None, None]


def test_answers_hold_for_each_jid_asked_not_only_the_last_one_parsed():
    c = FakeClient()
    r = c.router
    a, b = "a@example.org/x", "b@example.org/x"
    assert r.answers(a, a) and r.answers("A@Example.org/x", a)
    assert not r.answers(a, b) and r.answers(b, b)
    assert not r.answers(b, a) and not r.answers(a, "a@exa mple.org/x")
    assert not r.answers("a@exa mple.org/x", "a@exa mple.org/x")


def test_a_message_with_a_body_beside_a_payload_goes_to_the_payloads_handler():
    # Whatever the order: a device may put a line for people before its readout.
    c = FakeClient()
    got = []
    c.router.message(st.NS_CLIENT, "body", lambda m: got.append("body"))
    c.router.message("urn:example:x", "x", lambda m: got.append("x"))
    body = Element("body", st.NS_CLIENT, None, None, "T=1")
    for kids in ([body, Element("x", "urn:example:x")], [Element("x", "urn:example:x"), body]):
        c.router.dispatch(Element("message", st.NS_CLIENT, {"from": "a@b/c"}, kids))
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": "a@b/c"}, [body]))
    assert got == ["x", "x", "body"], got

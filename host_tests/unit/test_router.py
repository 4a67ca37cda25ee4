from fakeclient import FakeClient
from waits import until

from xmlstream.element import Element
from xmpp import stanza as st


def _iq(type_, payload, id_="1", frm="owner@example.org/phone"):
    return Element("iq", st.NS_CLIENT, {"type": type_, "id": id_, "from": frm}, [payload])


def test_unknown_iq_get_is_answered_with_service_unavailable():
    c = FakeClient()
    c.router.dispatch(_iq("get", Element("query", "urn:example:nothing")))
    (out,) = c.take()
    assert b"type='error'" in out or b'type="error"' in out
    assert b"service-unavailable" in out
    assert b"owner@example.org/phone" in out


def test_iq_results_and_errors_are_never_answered():
    c = FakeClient()
    c.router.dispatch(_iq("result", Element("query", "urn:example:nothing")))
    c.router.dispatch(_iq("error", Element("query", "urn:example:nothing")))
    assert c.take() == []


def test_error_messages_are_never_answered():
    c = FakeClient()
    msg = Element(
        "message",
        st.NS_CLIENT,
        {"type": "error", "from": "x@y/z"},
        [Element("body", st.NS_CLIENT, None, None, "help")],
    )
    c.router.dispatch(msg)
    assert c.take() == []


def test_ping_is_answered_with_an_empty_result_and_the_same_id():
    c = FakeClient()
    c.router.dispatch(_iq("get", Element("ping", st.NS_PING), id_="p-42"))
    (out,) = c.take()
    out = out.replace(b'"', b"'")
    assert b"type='result'" in out and b"id='p-42'" in out
    assert out.startswith(b"<iq ") and out.endswith(b"/>"), out  # no payload: XEP-0199 §4.1


def test_disco_info_lists_identity_and_registered_features():
    c = FakeClient()
    c.router.iq("urn:example:x", "x", lambda el: None, feature="urn:example:x")
    c.router.dispatch(_iq("get", Element("query", st.NS_DISCO_INFO)))
    (out,) = c.take()
    for f in (b"urn:xmpp:ping", b"jabber:iq:version", b"urn:example:x", b"identity"):
        assert f in out, out


def test_disco_info_for_an_unknown_node_is_item_not_found():
    c = FakeClient()
    c.router.dispatch(_iq("get", Element("query", st.NS_DISCO_INFO, {"node": "nope"})))
    (out,) = c.take()
    assert b"item-not-found" in out


def test_iq_without_payload_is_a_bad_request():
    c = FakeClient()
    c.router.dispatch(Element("iq", st.NS_CLIENT, {"type": "get", "id": "1", "from": "a@b/c"}))
    (out,) = c.take()
    assert b"bad-request" in out


def test_a_failing_handler_still_answers_once_with_internal_server_error():
    c = FakeClient()

    def boom(el):
        raise ValueError("bug")

    c.router.iq("urn:example:x", "x", boom)
    c.router.dispatch(_iq("set", Element("x", "urn:example:x")))
    (out,) = c.take()
    assert b"internal-server-error" in out


async def test_async_handlers_reply_when_done_and_are_bounded():
    import asyncio

    c = FakeClient()
    gate = asyncio.Event()

    async def slow(el):
        await gate.wait()
        return st.result(el)

    c.router.iq("urn:example:x", "x", slow)
    for i in range(6):
        c.router.dispatch(_iq("get", Element("x", "urn:example:x"), id_="q%d" % i))
    await asyncio.sleep_ms(0)
    busy = c.take()
    assert len(busy) == 2 and all(b"resource-constraint" in b for b in busy)
    gate.set()
    await until(lambda: len(c.sent) >= 4, what="the handlers did not all answer")
    done = c.take()
    assert len(done) == 4 and all(b"result" in b for b in done)


async def test_request_matches_the_response_by_id():
    import asyncio

    c = FakeClient()
    q = st.iq("get", "example.org", "r1", Element("ping", st.NS_PING))
    task = asyncio.create_task(c.router.request(q, 1000))
    await asyncio.sleep_ms(0)
    c.router.dispatch(Element("iq", st.NS_CLIENT, {"type": "result", "id": "r1"}))
    answer = await task
    assert answer.get("type") == "result"
    assert c.router.pending == {}


async def test_request_times_out_with_none():
    c = FakeClient()
    q = st.iq("get", "example.org", "r2", Element("ping", st.NS_PING))
    assert await c.router.request(q, 20) is None
    assert c.router.pending == {}


def test_subscription_from_an_allowed_jid_is_approved_and_returned():
    c = FakeClient()
    c.router.dispatch(
        Element("presence", st.NS_CLIENT, {"type": "subscribe", "from": "Owner@Example.org"})
    )
    out = b"".join(c.take())
    assert b"subscribed" in out and b"'subscribe'" in out.replace(b'"', b"'")


def test_subscription_from_a_stranger_is_refused():
    c = FakeClient()
    c.router.dispatch(
        Element("presence", st.NS_CLIENT, {"type": "subscribe", "from": "eve@evil.example"})
    )
    (out,) = c.take()
    assert b"unsubscribed" in out
    assert not c.roster.is_authorized("eve@evil.example/x")


def test_a_subscribe_from_an_approved_contact_is_confirmed_not_revoked():
    # RFC 6121 §3.1.3 has the server answer this itself; one that passes it on must not make
    # the board cancel a subscription it approved.
    c = FakeClient()
    c.roster.contacts.add("friend@example.org")
    c.router.dispatch(
        Element("presence", st.NS_CLIENT, {"type": "subscribe", "from": "friend@example.org"})
    )
    (out,) = c.take()
    assert b"'subscribed'" in out.replace(b'"', b"'") and b"unsubscribed" not in out
    assert c.roster.is_authorized("friend@example.org/phone")


def test_roster_push_adds_a_contact_only_from_our_own_server():
    c = FakeClient()
    item = Element("item", st.NS_ROSTER, {"jid": "friend@example.org", "subscription": "both"})
    for frm in ("eve@evil.example/x", "dev@example.org/another-client", "example.org"):
        fake = _iq("set", Element("query", st.NS_ROSTER, None, [item]), frm=frm)
        c.router.dispatch(fake)
        assert not c.roster.is_authorized("friend@example.org/a"), frm
        assert b"service-unavailable" in c.take()[-1]
        assert c.log.lines[-1] == "W roster push from %s refused" % frm  # someone tried
    real = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "set", "id": "push1"},
        [Element("query", st.NS_ROSTER, None, [item])],
    )
    c.router.dispatch(real)
    assert c.roster.is_authorized("friend@example.org/a")


async def test_an_answer_counts_only_from_whom_we_asked():
    import asyncio

    c = FakeClient()  # account dev@example.org
    res = {"type": "result", "id": "r3"}
    q = st.iq("get", "thing@example.org/sensor", "r3", Element("ping", st.NS_PING))
    task = asyncio.create_task(c.router.request(q, 1000))
    await asyncio.sleep_ms(0)
    for frm in (None, "mallory@evil.example/x", "thing@example.org/other", "example.org"):
        attrs = dict(res, **{"from": frm}) if frm else res
        c.router.dispatch(Element("iq", st.NS_CLIENT, attrs))
        assert "r3" in c.router.pending, frm
        assert c.log.lines[-1] == "W iq r3 answered by %s: ignored" % frm  # said, each time
    c.router.dispatch(
        Element("iq", st.NS_CLIENT, dict(res, **{"from": "Thing@Example.ORG/sensor"}))
    )
    assert (await task).get("from") == "Thing@Example.ORG/sensor"


async def test_what_we_ask_our_server_is_answered_by_it_or_our_account_not_by_others():
    import asyncio

    c = FakeClient()
    for to, frm, ok in (
        (None, None, True),
        (None, "dev@example.org", True),
        (None, "example.org", True),
        (None, "mallory@evil.example/x", False),
        (None, "dev@example.org/other", False),
        ("example.org", None, True),
        ("example.org", "example.org", True),
        ("example.org", "evil.example", False),
    ):
        q = st.iq("get", to, "r4", Element("query", "jabber:iq:roster"))
        task = asyncio.create_task(c.router.request(q, 30))
        await asyncio.sleep_ms(0)
        attrs = {"type": "result", "id": "r4"}
        if frm:
            attrs["from"] = frm
        c.router.dispatch(Element("iq", st.NS_CLIENT, attrs))
        assert ((await task) is not None) == ok, (to, frm)


def test_a_failing_message_handler_costs_its_stanza_not_the_next_ones():
    c = FakeClient()
    got = []

    def handler(el):
        if el.get("id") == "bad":
            raise KeyError("bug")
        got.append(el.get("id"))

    c.router.message("urn:x", "x", handler)
    for id_ in ("bad", "good"):
        x = Element("x", "urn:x")
        c.router.dispatch(Element("message", st.NS_CLIENT, {"id": id_, "from": "a@b/c"}, [x]))
    assert got == ["good"]


def test_disco_items_of_an_unknown_node_is_item_not_found_and_of_none_an_empty_list():
    c = FakeClient()
    c.router.dispatch(_iq("get", Element("query", st.NS_DISCO_ITEMS, {"node": "nope"})))
    (out,) = c.take()
    assert b"item-not-found" in out
    c.router.dispatch(_iq("get", Element("query", st.NS_DISCO_ITEMS)))
    (out,) = c.take()
    assert b"type='result'" in out.replace(b'"', b"'") and b"<item" not in out


def test_queries_that_exist_only_as_get_refuse_a_set():
    c = FakeClient()
    for payload in (
        Element("query", st.NS_DISCO_INFO),
        Element("query", st.NS_DISCO_ITEMS),
        Element("ping", st.NS_PING),
        Element("query", st.NS_VERSION),
    ):
        c.router.dispatch(_iq("set", payload))
        (out,) = c.take()
        assert b"bad-request" in out, payload.ns


async def test_a_roster_that_cannot_be_loaded_leaves_only_the_allow_list_authorized():
    import asyncio

    c = FakeClient()
    # Known from the last connection; its subscription may have been revoked meanwhile,
    # and the push that said so went to nobody while the board was offline.
    c.roster.contacts.add("friend@example.org")
    task = asyncio.create_task(c.roster.load())
    await asyncio.sleep_ms(0)
    (get,) = c.take()
    assert b"jabber:iq:roster" in get and b"c1" in get
    refusal = st.error_element("internal-server-error")
    c.router.dispatch(Element("iq", st.NS_CLIENT, {"type": "error", "id": "c1"}, [refusal]))
    await task
    assert not c.roster.is_authorized("friend@example.org/phone")
    assert c.roster.is_authorized("owner@example.org/phone")


def test_a_failing_answer_callback_costs_that_answer_not_the_connection():
    c = FakeClient()

    def broken(el):
        raise ValueError("bug")

    c.router.expect("q1", broken, "thing@example.org/sensor")
    answer = {"type": "result", "id": "q1", "from": "thing@example.org/sensor"}
    c.router.dispatch(Element("iq", st.NS_CLIENT, answer))  # must not unwind the reader
    assert c.router.pending == {}
    assert any("q1" in line for line in c.log.lines), c.log.lines
    c.router.dispatch(_iq("get", Element("ping", st.NS_PING), id_="p2"))
    (out,) = c.take()
    assert b"p2" in out


def test_requests_of_the_roles_leave_room_for_the_clients_own_ping():
    # A requester with many sessions in flight must not crowd out the liveness ping: a ping
    # that cannot be sent ends the connection.
    c = FakeClient()
    n = 0
    try:
        while n < 100:
            c.router.expect("r%d" % n, lambda el: None, "thing%d@example.org/sensor" % n)
            n += 1
    except OverflowError:
        pass
    assert 0 < n < 100
    c.router.expect("ping", lambda el: None, None, True)  # the ping still goes out


def test_software_version_names_the_os_unless_told_not_to():
    c = FakeClient()
    ask = _iq("get", Element("query", st.NS_VERSION))
    c.router.dispatch(ask)
    (out,) = c.take()
    assert b"<name>" in out and b"<version>" in out and b"<os>MicroPython" in out
    c.router.share_os = False  # config xmpp.version_os: false (XEP-0092 §2)
    c.router.dispatch(ask)
    (out,) = c.take()
    assert b"<version>" in out and b"<os>" not in out


def test_an_error_message_is_shown_to_the_bounce_handlers_and_never_answered():
    c = FakeClient()
    seen = []
    c.router.bounce(seen.append)
    err = st.error_element("service-unavailable")
    msg = Element("message", st.NS_CLIENT, {"type": "error", "id": "m1", "from": "x@y/z"}, [err])
    c.router.dispatch(msg)
    c.router.dispatch(Element("message", st.NS_CLIENT, {"id": "m2", "from": "x@y/z"}))
    assert seen == [msg]
    assert c.take() == []


def test_an_iq_without_id_gets_no_answer_and_one_with_a_bad_type_gets_bad_request():
    # RFC 6120 §8.2.3: without an id no reply can be matched, so none is sent.
    c = FakeClient()
    ping = _iq("get", Element("ping", st.NS_PING))
    del ping.attrs["id"]
    c.router.dispatch(ping)
    assert c.take() == []
    c.router.dispatch(_iq("fetch", Element("ping", st.NS_PING)))
    (out,) = c.take()
    assert b"bad-request" in out, out


def test_an_error_message_never_reaches_the_handler_of_its_payload():
    # A chat handler would answer the echoed <body/>: two entities bouncing errors forever.
    c = FakeClient()
    seen = []
    c.router.message(st.NS_CLIENT, "body", seen.append)
    body = Element("body", st.NS_CLIENT, None, None, "help")
    msg = Element("message", st.NS_CLIENT, {"type": "error", "from": "x@y/z"}, [body])
    c.router.dispatch(msg)
    assert seen == []
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": "x@y/z"}, [body]))
    assert len(seen) == 1

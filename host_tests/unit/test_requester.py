import asyncio

from reqtest import DEV, accepted, answer, fields, iq_id, message, settle, start
from waits import until

from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "160k"  # the requester and the XML layer compiled from source, with margin


def _fields(seqnr, done=True):
    f = Element("numeric", NS, {"name": "T", "value": "1.5", "unit": "C", "momentary": "true"})
    ts = Element("timestamp", NS, {"value": "2026-11-23T21:02:03Z"}, [f])
    node = Element("node", NS, {"nodeId": "n1"}, [ts])
    attrs = {"seqnr": seqnr, "done": "true"} if done else {"seqnr": seqnr}
    return Element("message", st.NS_CLIENT, {"from": DEV}, [Element("fields", NS, attrs, [node])])


async def test_accepted_is_reported_before_fields_that_arrive_in_the_same_read():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb, node_ids=["n1"])
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    assert b"<req" in req and b"momentary='true'" in req.replace(b'"', b"'")
    seqnr = s.seqnr
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": seqnr})))
    c.router.dispatch(_fields(seqnr))
    assert [x[0] for x in seen] == ["accepted", "fields", "done"]
    assert seen[1][1] == "n1"
    assert seen[1][2][0][:4] == ("T", "numeric", "1.5", "C")
    assert "momentary" in seen[1][2][0][5]
    assert r.table.in_use() == 0


async def test_a_rejection_reports_the_text_and_frees_the_session():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    rej = Element("rejected", NS, {"seqnr": s.seqnr}, [Element("error", NS, None, None, "No")])
    c.router.dispatch(answer(iq_id(req), rej, "error"))
    assert seen == [("rejected", None, None, "No")]
    assert r.table.in_use() == 0


async def test_no_answer_ends_in_timeout():
    c, r, seen, cb = start(timeout_ms=30)
    r.request_data(DEV, cb)
    await until(lambda: seen)
    assert [x[0] for x in seen] == ["timeout"]
    assert r.table.in_use() == 0 and c.router.pending == {}


async def test_a_session_that_ends_in_its_own_task_frees_its_slot_without_an_error():
    # The timeout is found by the session's own task, which cannot cancel itself.
    c, r, seen, cb = start(timeout_ms=30)
    r.request_data(DEV, cb)
    await until(lambda: seen)
    await asyncio.sleep_ms(10)
    assert [x[0] for x in seen] == ["timeout"] and r.table.in_use() == 0
    assert c.log.latest() is None, c.log.lines


async def test_a_full_table_refuses_new_requests():
    c, r, seen, cb = start(sessions=1)
    assert r.request_data(DEV, cb) is not None
    assert r.request_data(DEV, cb) is None


async def test_failure_ends_the_session_with_the_node_and_text():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    req = c.take()[0]
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))
    err = Element(
        "error", NS, {"nodeId": "n1", "timestamp": "2026-11-23T21:02:03Z"}, None, "Timeout"
    )
    fail = Element("failure", NS, {"seqnr": s.seqnr, "done": "true"}, [err])
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": DEV}, [fail]))
    assert [x[0] for x in seen] == ["accepted", "failure"]
    assert seen[1][3] == "Timeout"
    assert r.table.in_use() == 0


async def test_fields_from_another_jid_are_ignored():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    msg = _fields(s.seqnr)
    msg.attrs["from"] = "mallory@example.org/x"
    c.router.dispatch(msg)
    assert seen == []


async def test_losing_the_connection_ends_every_session():
    c, r, seen, cb = start()
    r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    c.go_offline()
    assert [x[0] for x in seen] == ["timeout"]
    assert r.table.in_use() == 0


async def test_losing_the_connection_ends_no_free_slot():
    c, r, seen, cb = start(sessions=3)
    r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    c.go_offline()
    assert [x[0] for x in seen] == ["timeout"]
    assert c.log.latest() is None, c.log.lines  # no callback looked for in a free slot


def _accept(c, r, s):
    req = c.take()[0]
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))


def _failure(seqnr, node_id, text, done):
    err = Element(
        "error", NS, {"nodeId": node_id, "timestamp": "2026-11-23T21:02:03Z"}, None, text
    )
    attrs = {"seqnr": seqnr, "done": "true"} if done else {"seqnr": seqnr}
    fail = Element("failure", NS, attrs, [err])
    return Element("message", st.NS_CLIENT, {"from": DEV}, [fail])


async def test_a_separate_done_message_ends_the_readout():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    _accept(c, r, s)
    c.router.dispatch(_fields(s.seqnr, done=False))
    assert r.table.in_use() == 1
    done = Element("done", NS, {"seqnr": s.seqnr})
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": DEV}, [done]))
    assert [x[0] for x in seen] == ["accepted", "fields", "done"]
    assert r.table.in_use() == 0


async def test_a_failure_without_done_reports_the_node_and_the_readout_goes_on():
    c, r, seen, cb = start()
    states = []

    def track(session, result, *args):
        states.append((result, session.state))
        cb(session, result, *args)

    s = r.request_data(DEV, track)
    await asyncio.sleep_ms(0)
    _accept(c, r, s)
    c.router.dispatch(_failure(s.seqnr, "n2", "Timeout", done=False))
    assert r.table.in_use() == 1  # n1 is still being read
    c.router.dispatch(_fields(s.seqnr, done=True))
    assert [x[0] for x in seen] == ["accepted", "failure", "fields", "done"]
    assert seen[1][1] == "n2" and seen[1][3] == "Timeout"
    assert [st for _, st in states] == ["accepted", "accepted", "accepted", "ended"]
    assert r.table.in_use() == 0


async def test_a_failure_with_done_and_no_error_still_ends_with_a_final_answer():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    _accept(c, r, s)
    fail = Element("failure", NS, {"seqnr": s.seqnr, "done": "true"})
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": DEV}, [fail]))
    assert [x[0] for x in seen] == ["accepted", "failure"]
    assert r.table.in_use() == 0


async def test_more_requests_than_iqs_the_router_tracks_end_in_failure_not_in_a_lost_slot():
    c, r, seen, cb = start(timeout_ms=50, sessions=10)
    for _ in range(10):
        assert r.request_data(DEV, cb) is not None
    await asyncio.sleep_ms(0)
    refused = [x for x in seen if x[0] == "failure"]
    # The router tracks 8 iqs and keeps 2 of them for the client's own ping and roster.
    assert len(refused) == 4 and "in flight" in refused[0][3]
    await until(lambda: len(seen) >= 10)
    assert sorted(x[0] for x in seen) == ["failure"] * 4 + ["timeout"] * 6
    assert r.table.in_use() == 0


async def test_a_request_the_router_cannot_track_is_not_sent():
    c, r, seen, cb = start(timeout_ms=50, sessions=10)
    for _ in range(10):
        r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    assert len(seen) == 4  # refused: no place for their answers, so no request went out
    assert len([m for m in c.take() if b"<req" in m]) == 6


async def test_field_flags_are_the_flag_attributes_only_not_a_true_value():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    _accept(c, r, s)
    a = {"name": "Ok", "value": "true", "status": "true", "automaticReadout": "true"}
    ok = Element("boolean", NS, a)
    one = Element("int", NS, {"name": "1", "value": "1", "unit": "1", "writable": "1"})
    # XEP-0323 0.6's own "read-out all" example still uses the old name of `identity`.
    ident = Element("string", NS, {"name": "Id", "value": "D1", "identification": "true"})
    ts = Element("timestamp", NS, {"value": "2026-11-23T21:02:03Z"}, [ok, one, ident])
    node = Element("node", NS, {"nodeId": "n1"}, [ts])
    fields = Element("fields", NS, {"seqnr": s.seqnr, "done": "true"}, [node])
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": DEV}, [fields]))
    got = {f[0]: f for f in seen[1][2]}
    assert sorted(got["Ok"][5]) == ["automaticReadout", "status"]
    assert got["Ok"][2] == "true"
    assert got["1"][5] == ("writable",)
    assert got["Id"][5] == ("identity",)


async def _queued_seconds_ahead(timeout_ms, ahead=2):
    """A request for `ahead` seconds from now, which the device accepts as queued."""
    from sensordata.clock import iso, unix_now

    c, r, seen, cb = start(timeout_ms=timeout_ms)
    # Whole seconds: its `when` is still at least ahead - 1 s away when the answer comes.
    s = r.request_data(DEV, cb, when=iso(unix_now() + ahead))
    await asyncio.sleep_ms(0)
    req = c.take()[0]
    acc = Element("accepted", NS, {"seqnr": s.seqnr, "queued": "true"})
    c.router.dispatch(answer(iq_id(req), acc))
    return c, r, s, seen


async def test_a_queued_request_waits_for_its_when_not_for_the_silence_timeout():
    # Far enough ahead that the 400 ms below end long before it, however loaded the host.
    c, r, s, seen = await _queued_seconds_ahead(timeout_ms=100, ahead=6)
    await asyncio.sleep_ms(400)  # silent, as a queued device is, past timeout_ms
    assert [x[0] for x in seen] == ["queued"] and r.table.in_use() == 1
    started = Element("started", NS, {"seqnr": s.seqnr})
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": DEV}, [started]))
    c.router.dispatch(_fields(s.seqnr))
    assert [x[0] for x in seen] == ["queued", "started", "fields", "done"]
    assert r.table.in_use() == 0


async def test_a_queued_request_still_ends_in_timeout_when_nothing_comes_after_its_when():
    c, r, s, seen = await _queued_seconds_ahead(timeout_ms=100)
    await until(lambda: len(seen) >= 2)
    assert [x[0] for x in seen] == ["queued", "timeout"] and r.table.in_use() == 0


async def test_a_message_without_from_or_seqnr_touches_no_free_slot():
    c, r, seen, cb = start()
    for name in ("fields", "failure", "done", "started"):
        c.router.dispatch(
            Element("message", st.NS_CLIENT, None, [Element(name, NS, {"done": "true"})])
        )
    assert seen == [] and c.log.lines == []
    assert all(s.deadline == 0 and s.state is None for s in r.table.slots)


async def test_a_request_that_cannot_be_sent_ends_at_once_and_frees_its_slot():
    c, r, seen, cb = start()
    c.online = False
    r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    assert [x[0] for x in seen] == ["failure"] and "not sent" in seen[0][3]
    assert r.table.in_use() == 0 and c.router.pending == {}


async def test_a_cancel_that_cannot_be_tracked_still_ends_the_session():
    c, r, seen, cb = start(sessions=1)
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    _accept(c, r, s)
    try:  # the router's table of iqs in flight, filled by someone else
        for i in range(8):
            c.router.expect("x%d" % i, lambda el: None, DEV)
    except OverflowError:
        pass
    r.cancel_request(s)
    await until(lambda: len(seen) >= 2, what="the session did not end")
    assert [x[0] for x in seen] == ["accepted", "failure"]
    assert r.table.in_use() == 0


async def test_a_jid_written_in_capitals_still_matches_the_answers_from_its_normal_form():
    c, r, seen, cb = start()
    s = r.request_data("Thing@Example.ORG/sensor", cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    assert b"to='thing@example.org/sensor'" in req.replace(b'"', b"'")
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))
    c.router.dispatch(_fields(s.seqnr))
    assert [x[0] for x in seen] == ["accepted", "fields", "done"]


def test_sequence_numbers_do_not_start_alike_after_every_boot():
    # A device may still hold (our JID, seqnr) from before a quick reboot.
    firsts = set()
    for _ in range(4):
        c, r, _, cb = start()
        firsts.add(r.request_data(DEV, cb).seqnr)
    assert len(firsts) > 1, firsts


async def test_answers_to_two_requests_in_flight_reach_their_own_sessions():
    c, r, _, _ = start(sessions=2)
    got = {}

    def cb_for(tag):
        def cb(session, result, node_id=None, timestamp=None, fields=None, error_msg=None):
            got.setdefault(tag, []).append(result)

        return cb

    s1 = r.request_data(DEV, cb_for("a"))
    s2 = r.request_data(DEV, cb_for("b"))
    await asyncio.sleep_ms(0)
    req1, req2 = c.take()
    # The device answers the second first, and refuses it.
    c.router.dispatch(answer(iq_id(req2), None, "error"))
    c.router.dispatch(answer(iq_id(req1), Element("accepted", NS, {"seqnr": s1.seqnr})))
    assert got == {"b": ["rejected"], "a": ["accepted"]}, got
    assert s1.state != "ended" and s2.state == "ended"


async def test_the_final_callback_sees_the_ended_session_with_its_jid_and_seqnr():
    c, r, _, _ = start()
    ends = []

    def cb(session, result, node_id=None, timestamp=None, fields_=None, error_msg=None):
        if result == "done":
            ends.append((session.jid, session.seqnr, session.state))

    s = await accepted(c, r, cb)
    c.router.dispatch(fields(s.seqnr))
    assert ends == [(DEV, s.seqnr, "ended")], ends


async def test_a_started_after_our_cancel_does_not_lose_the_cancel_confirmation():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    c.take()
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    (cancel,) = [x for x in c.take() if b"<cancel" in x]
    c.router.dispatch(message(Element("started", NS, {"seqnr": s.seqnr})))
    c.router.dispatch(answer(iq_id(cancel)))
    await settle(lambda: s.state == "ended")
    assert seen[-1][0] == "cancelled", seen

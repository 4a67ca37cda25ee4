# The XEP-0323 requester at its edges: session matching, cancel, queued waits, odd readouts.
import asyncio
import time

from esp32ticks import install
from reqtest import DEV, accepted, answer, fields, iq_id, message, numeric, start

from sensordata import requester as requester_module
from sensordata.clock import iso, unix_now
from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "160k"  # the requester and the XML layer compiled from source, with margin


def _q(sent):
    return sent.replace(b'"', b"'")


async def test_two_requests_to_one_device_get_different_sequence_numbers():
    c, r, seen, cb = start()
    a = r.request_data(DEV, cb)
    b = r.request_data(DEV, cb)
    assert a.seqnr != b.seqnr


async def test_the_nodes_and_fields_asked_for_are_sent():
    c, r, seen, cb = start()
    r.request_data(DEV, cb, node_ids=["bme280-76"], fields=["Temperature"])
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    assert b"<node nodeId='bme280-76'" in _q(req), req
    assert b"<field name='Temperature'" in _q(req), req


async def test_a_history_window_is_sent_as_from_and_to_and_asks_for_history():
    # XEP-0323 §3.1.4: from/to bound historical values; given alone, they ask for history.
    c, r, seen, cb = start(sessions=3)
    t0, t1 = "2026-11-28T01:00:00Z", "2026-11-28T02:00:00Z"
    r.request_data(DEV, cb, start=t0, end=t1)
    r.request_data(DEV, cb, flags=("historicalHour",), start=t0)
    r.request_data(DEV, cb, end=t1)
    await asyncio.sleep_ms(0)
    window, hourly, until = [_q(x) for x in c.take()]
    assert b"historical='true'" in window and b"momentary" not in window, window
    assert b"from='%s'" % t0.encode() in window and b"to='%s'" % t1.encode() in window
    assert b"historicalHour='true'" in hourly and b"from='%s'" % t0.encode() in hourly
    assert b" to=" not in hourly.split(b"<req")[1] and b"historical='true'" not in hourly
    assert (
        b"historical='true'" in until
        and b"from=" not in until
        and b"to='%s'" % t1.encode() in until
    )


async def test_an_answer_to_an_ended_request_does_not_reach_the_next_one():
    c, r, seen, cb = start(sessions=1)
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (first,) = c.take()
    c.router.dispatch(fields(s.seqnr))  # fields and done before the iq answer
    t = r.request_data(DEV, cb)
    assert t is not s and t.index == s.index  # the slot serves the next request
    c.router.dispatch(answer(iq_id(first), Element("accepted", NS, {"seqnr": "0"})))
    assert [x[0] for x in seen] == ["fields", "done"], seen
    assert t.state == "requested"


async def test_queued_and_done_may_be_written_as_1():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    acc = Element("accepted", NS, {"seqnr": s.seqnr, "queued": "1"})
    c.router.dispatch(answer(iq_id(req), acc))
    c.router.dispatch(fields(s.seqnr, done="1"))
    assert [x[0] for x in seen] == ["queued", "fields", "done"]
    assert r.table.in_use() == 0


async def test_a_failure_with_done_written_as_1_ends_the_session():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    fail = Element("failure", NS, {"seqnr": s.seqnr, "done": "1"})
    c.router.dispatch(message(fail))
    assert [x[0] for x in seen] == ["accepted", "failure"]
    assert r.table.in_use() == 0


async def test_a_final_failure_with_several_errors_ends_with_the_last_one():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    errs = [Element("error", NS, {"nodeId": n}, None, "bad " + n) for n in ("n1", "n2")]
    c.router.dispatch(message(Element("failure", NS, {"seqnr": s.seqnr, "done": "true"}, errs)))
    assert [(x[0], x[1], x[3]) for x in seen[1:]] == [
        ("failure", "n1", "bad n1"),
        ("failure", "n2", "bad n2"),
    ]
    assert r.table.in_use() == 0


async def test_a_stanza_error_text_is_the_rejection_message():
    c, r, seen, cb = start()
    r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    text = Element("text", st.NS_STANZAS, None, None, "Not now")
    cond = Element("forbidden", st.NS_STANZAS)
    err = Element("error", st.NS_CLIENT, {"type": "auth"}, [cond, text])
    c.router.dispatch(answer(iq_id(req), err, "error"))
    assert seen == [("rejected", None, None, "Not now")]


async def test_unknown_elements_in_a_readout_are_not_taken_for_nodes_timestamps_or_fields():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    odd = Element("unit", NS, {"name": "U", "value": "2"})
    ts = Element("timestamp", NS, {"value": "2026-11-23T21:02:03Z"}, [numeric("T"), odd])
    other = Element("note", NS, None, [Element("numeric", NS, {"name": "X", "value": "3"})])
    node = Element("node", NS, {"nodeId": "n1"}, [ts, other])
    stray = Element("extra", NS, None, [Element("timestamp", NS, {"value": "x"}, [])])
    c.router.dispatch(message(Element("fields", NS, {"seqnr": s.seqnr}, [node, stray])))
    got = [x for x in seen if x[0] == "fields"]
    assert len(got) == 1, seen
    assert [f[0] for f in got[0][2]] == ["T"]


async def test_elements_of_another_namespace_in_a_readout_are_extensions_not_data():
    # RFC 6120 §8.4: a <numeric/> or <node/> of someone else's namespace is not one of ours.
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    x = "urn:example:other"
    odd = Element("numeric", x, {"name": "U", "value": "2"})
    ts = Element("timestamp", NS, {"value": "2026-11-23T21:02:03Z"}, [numeric("T"), odd])
    stray_ts = Element("timestamp", x, {"value": "x"}, [numeric("V")])
    node = Element("node", NS, {"nodeId": "n1"}, [ts, stray_ts])
    stray = Element("node", x, {"nodeId": "n2"}, [ts])
    c.router.dispatch(message(Element("fields", NS, {"seqnr": s.seqnr}, [node, stray])))
    got = [x for x in seen if x[0] == "fields"]
    assert len(got) == 1 and got[0][1] == "n1", seen
    assert [f[0] for f in got[0][2]] == ["T"]


async def test_a_device_that_keeps_reporting_outlives_the_silence_timeout():
    # timeout_ms is the longest silence: every message from the device starts it anew.
    ticks = install(requester_module)
    c, r, seen, cb = start(timeout_ms=500)
    s = await accepted(c, r, cb)
    for _ in range(10):
        ticks.advance(400)  # 4 s of the requester's clock in all, in steps shorter than 500 ms
        c.router.dispatch(fields(s.seqnr, done=None))
        await asyncio.sleep_ms(0)
    await asyncio.sleep_ms(700)  # the waiting task wakes and looks at its deadline
    assert "timeout" not in [x[0] for x in seen], seen
    c.router.dispatch(fields(s.seqnr))
    assert seen[-1][0] == "done"


async def test_a_device_repeating_started_does_not_keep_a_session_alive():
    # `started` says a readout began, once (XEP-0323 §3.4); a device repeating it without
    # ever reporting would otherwise hold our slot for as long as it likes.
    ticks = install(requester_module)
    c, r, seen, cb = start(timeout_ms=500)
    s = await accepted(c, r, cb)
    started = message(Element("started", NS, {"seqnr": s.seqnr}))
    for _ in range(10):
        ticks.advance(200)
        c.router.dispatch(started)
        await asyncio.sleep_ms(0)
    await asyncio.sleep_ms(700)  # the waiting task wakes and looks at its deadline
    assert [x[0] for x in seen] == ["accepted", "started", "timeout"], seen


async def test_the_silence_timeout_starts_again_when_the_request_is_accepted():
    # timeout_ms is the longest silence from the device: its `accepted` answer breaks it, as
    # its messages do, so a device that answers late still has the whole timeout to report.
    ticks = install(requester_module)
    c, r, seen, cb = start(timeout_ms=500)
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    ticks.advance(400)
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))
    ticks.advance(400)  # 800 ms since the request, 400 ms since the device last spoke
    await asyncio.sleep_ms(700)  # the waiting task wakes and looks at its deadline
    assert [x[0] for x in seen] == ["accepted"], seen
    c.router.dispatch(fields(s.seqnr))
    assert seen[-1][0] == "done"


async def test_a_queued_request_for_a_past_time_still_waits_the_silence_timeout():
    c, r, seen, cb = start(timeout_ms=1000)
    s = r.request_data(DEV, cb, when=iso(unix_now() - 3600))
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    acc = Element("accepted", NS, {"seqnr": s.seqnr, "queued": "true"})
    c.router.dispatch(answer(iq_id(req), acc))
    assert time.ticks_diff(s.deadline, time.ticks_ms()) > 0


async def test_a_queued_request_waits_at_most_a_day_for_its_when():
    c, r, seen, cb = start(timeout_ms=1000)
    s = r.request_data(DEV, cb, when=iso(unix_now() + 30 * 86400))
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    acc = Element("accepted", NS, {"seqnr": s.seqnr, "queued": "true"})
    c.router.dispatch(answer(iq_id(req), acc))
    assert seen[0][0] == "queued"
    left = time.ticks_diff(s.deadline, time.ticks_ms())
    assert 0 < left <= 86400 * 1000 + 1000, left
    r.cancel_request(s)


async def test_a_device_going_offline_ends_its_sessions_at_once_even_a_queued_one():
    # Its sessions end with its XMPP session (a device frees them when it goes offline): no
    # answer can come, and a queued request would otherwise hold its slot for up to a day.
    c, r, seen, cb = start(timeout_ms=1000)
    s = r.request_data(DEV, cb, when=iso(unix_now() + 3600))
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    acc = Element("accepted", NS, {"seqnr": s.seqnr, "queued": "true"})
    c.router.dispatch(answer(iq_id(req), acc))
    other = {"type": "unavailable", "from": "thing@example.org/other"}
    c.router.dispatch(Element("presence", st.NS_CLIENT, other))
    c.router.dispatch(Element("presence", st.NS_CLIENT, {"from": DEV}))  # available
    assert [x[0] for x in seen] == ["queued"] and r.table.in_use() == 1
    gone = {"type": "unavailable", "from": "Thing@Example.org/sensor"}
    c.router.dispatch(Element("presence", st.NS_CLIENT, gone))
    assert [x[0] for x in seen] == ["queued", "failure"], seen
    assert r.table.in_use() == 0


async def test_requester_matches_messages_from_the_device_jid_written_otherwise():
    # RFC 7622 §3.2-3.3: Thing@Example.ORG is thing@example.org. The iq answer is matched in
    # normal form (the router), so the messages of the same session must be too.
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    frm = "Thing@Example.ORG/sensor"
    acc = Element("accepted", NS, {"seqnr": s.seqnr})
    c.router.dispatch(
        Element("iq", st.NS_CLIENT, {"type": "result", "id": iq_id(req), "from": frm}, [acc])
    )
    f = Element("numeric", NS, {"name": "T", "value": "1", "unit": "", "momentary": "true"})
    ts = Element("timestamp", NS, {"value": "2026-11-23T21:02:03Z"}, [f])
    readout = Element(
        "fields",
        NS,
        {"seqnr": s.seqnr, "done": "true"},
        [Element("node", NS, {"nodeId": "n1"}, [ts])],
    )
    c.router.dispatch(Element("message", st.NS_CLIENT, {"from": frm}, [readout]))
    assert [x[0] for x in seen] == ["accepted", "fields", "done"], seen
    assert r.table.in_use() == 0


async def test_each_request_checks_its_jid_also_after_one_to_a_good_jid():
    c, r, seen, cb = start(sessions=3)
    r.request_data("Thing@Example.org/sensor", cb)
    from xmpp.jid import JIDError

    for bad in ("thing@exa mple.org/sensor", "@example.org/x"):
        try:
            r.request_data(bad, cb)
            raise AssertionError("no JIDError for " + bad)
        except JIDError:
            pass
    s = r.request_data("Thing@Example.org/sensor", cb)
    assert s.jid == "thing@example.org/sensor" and r.table.in_use() == 2


async def test_a_request_whose_iq_cannot_be_made_ends_once_with_a_failure():
    # Out of memory for its iq id: the caller has the session, and hears it end, once.
    c, r, seen, cb = start(timeout_ms=50, sessions=1)

    def no_memory():
        raise MemoryError

    c.new_id = no_memory
    s = r.request_data(DEV, cb)
    assert s is not None
    await asyncio.sleep_ms(150)  # past the silence timeout: no second end
    assert seen == [("failure", None, None, "internal error")], seen
    assert r.table.in_use() == 0

# The XEP-0323 requester's cancel: sent once, only while the session lives, and reported once.
import asyncio

from reqtest import DEV, accepted, answer, cancels, fields, iq_id, settle, start

from sensordata.wire import NS
from xmlstream.element import Element

HEAPSIZE = "160k"  # the requester and the XML layer compiled from source, with margin


async def test_a_confirmed_cancel_ends_in_cancelled():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    (iq,) = cancels(c.take())
    c.router.dispatch(answer(iq_id(iq), Element("cancelled", NS, {"seqnr": s.seqnr})))
    await settle(lambda: len(seen) > 1)
    assert [x[0] for x in seen] == ["accepted", "cancelled"]
    assert r.table.in_use() == 0


async def test_a_refused_cancel_is_rejected_with_the_devices_text_as_slixmpp_reports_it():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    (iq,) = cancels(c.take())
    why = Element("error", NS, None, None, "No matching request is active.")
    c.router.dispatch(
        answer(iq_id(iq), Element("rejected", NS, {"seqnr": s.seqnr}, [why]), "error")
    )
    await settle(lambda: len(seen) > 1)
    assert [x[0] for x in seen] == ["accepted", "rejected"]
    assert seen[1][3] == "No matching request is active."
    assert r.table.in_use() == 0


async def test_an_unanswered_cancel_is_a_failure_not_cancelled():
    c, r, seen, cb = start(timeout_ms=100)
    s = await accepted(c, r, cb)
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    assert len(cancels(c.take())) == 1
    await settle(lambda: len(seen) > 1)
    # As the README has it: the cancel's own wait ends it, not the silence timeout.
    assert [x[0] for x in seen] == ["accepted", "failure"], seen
    assert seen[1][-1] == "cancel not confirmed", seen
    assert r.table.in_use() == 0


async def test_a_second_cancel_sends_nothing_more():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    r.cancel_request(s)
    # The accepted answer comes after the cancel was asked for: still cancelling.
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    assert len(cancels(c.take())) == 1
    assert s.state == "cancelling"


async def test_cancelling_an_ended_session_does_nothing():
    c, r, seen, cb = start()
    s = await accepted(c, r, cb)
    c.router.dispatch(fields(s.seqnr))
    assert [x[0] for x in seen] == ["accepted", "fields", "done"]
    r.cancel_request(s)
    await asyncio.sleep_ms(10)
    assert cancels(c.take()) == []
    assert len(seen) == 3
    assert s.state == "ended" and r.table.in_use() == 0  # the handle is left as it ended


async def test_a_cancel_from_the_final_callback_sends_nothing():
    # The session has ended (state "ended") though its slot is freed only after the callback:
    # a cancel then would reach the device for a seqnr it has finished with.
    c, r, seen, _ = start(sessions=2)

    def cb(s, result, *rest):
        seen.append(result)
        if result == "done":
            r.cancel_request(s)

    s = await accepted(c, r, cb)
    c.router.dispatch(fields(s.seqnr))
    await asyncio.sleep_ms(10)
    assert seen[-1] == "done" and cancels(c.take()) == []


async def test_a_late_cancel_answer_leaves_the_next_session_in_the_slot_alone():
    c, r, seen, cb = start(sessions=1)
    s = await accepted(c, r, cb)
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    (iq,) = cancels(c.take())
    c.router.dispatch(fields(s.seqnr))  # the readout finished before the cancel arrived
    t = await accepted(c, r, cb)
    assert t is not s and t.index == s.index  # the same slot, now another session
    c.router.dispatch(answer(iq_id(iq), Element("cancelled", NS, {"seqnr": "0"})))
    await asyncio.sleep_ms(20)  # the cancel task runs to its end
    assert [x[0] for x in seen] == ["accepted", "fields", "done", "accepted"]
    assert r.table.in_use() == 1 and t.state == "accepted"


async def test_an_old_handle_cancels_nothing_once_its_slot_serves_another_request():
    # README: a session already over is not cancelled; its handle must not reach the next
    # request in its slot, however fast the device ended the first.
    c, r, seen, cb = start(sessions=1)
    s = await accepted(c, r, cb)
    c.router.dispatch(fields(s.seqnr))  # done at once
    t = await accepted(c, r, cb)
    r.cancel_request(s)  # e.g. a "give up after 10 s" timer of the application
    await asyncio.sleep_ms(10)
    assert cancels(c.take()) == [] and t.state == "accepted"
    assert s.state == "ended" and s.seqnr != t.seqnr  # the old handle still says what it was


async def test_a_final_callback_may_ask_again_though_every_slot_was_taken():
    # Polling: the next request from the last one's final callback, with one slot.
    c, r, seen, _ = start(sessions=1)
    again = []

    def cb(s, result, *rest):
        seen.append(result)
        if result == "done" and not again:
            again.append(r.request_data(DEV, cb))

    s = await accepted(c, r, cb)
    c.router.dispatch(fields(s.seqnr))
    assert again[0] is not None and again[0].state == "requested", again
    assert r.table.in_use() == 1


async def test_a_cancel_from_the_fields_callback_sends_nothing_when_that_message_ends_it():
    # The same <fields> message carries done='true': the session ends before the cancel's
    # task has its first turn, and the device is done with the seqnr.
    c, r, seen, _ = start()

    def cb(s, result, *rest):
        seen.append(result)
        if result == "fields":
            r.cancel_request(s)

    s = await accepted(c, r, cb)
    c.router.dispatch(fields(s.seqnr))
    await asyncio.sleep_ms(10)
    assert seen == ["accepted", "fields", "done"]
    assert cancels(c.take()) == [] and c.router.pending == {}


async def test_a_cancel_overtaken_by_the_requests_rejection_sends_nothing():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    r.cancel_request(s)
    rej = Element("rejected", NS, {"seqnr": s.seqnr}, [Element("error", NS, None, None, "No")])
    c.router.dispatch(answer(iq_id(req), rej, "error"))
    await asyncio.sleep_ms(10)
    assert [x[0] for x in seen] == ["rejected"]
    assert cancels(c.take()) == [] and c.router.pending == {}


async def test_a_cancel_late_in_a_silence_still_gets_its_confirmation_heard():
    # The device has as long to confirm the cancel as the cancel waits for it.
    c, r, seen, cb = start(timeout_ms=200)
    s = await accepted(c, r, cb)
    await asyncio.sleep_ms(150)
    r.cancel_request(s)
    await asyncio.sleep_ms(10)
    (iq,) = cancels(c.take())
    await asyncio.sleep_ms(80)  # past the silence deadline the request had
    c.router.dispatch(answer(iq_id(iq), Element("cancelled", NS, {"seqnr": s.seqnr})))
    await settle(lambda: len(seen) > 1)
    assert [x[0] for x in seen] == ["accepted", "cancelled"]


async def test_a_cancel_that_cannot_be_made_ends_the_session_once_with_a_log_line():
    c, r, seen, cb = start(timeout_ms=5000)
    s = await accepted(c, r, cb)

    def no_memory():
        raise MemoryError

    c.new_id = no_memory
    seqnr = s.seqnr
    r.cancel_request(s)
    await settle(lambda: len(seen) > 1)
    assert [x[0] for x in seen] == ["accepted", "failure"]
    assert r.table.in_use() == 0
    assert any("cancel of %s" % seqnr in line for line in c.log.lines), c.log.lines


async def test_news_after_a_cancel_leaves_it_to_end_as_an_unconfirmed_cancel():
    # The readout's next message in the same read as the callback that cancelled: the
    # cancel still gets its whole wait, and ends as the README says, not as a timeout.
    c, r, seen, cb = start(timeout_ms=100)
    s = await accepted(c, r, cb)
    r.cancel_request(s)
    c.router.dispatch(fields(s.seqnr, done=None))
    await settle(lambda: seen[-1][0] not in ("accepted", "fields"))
    assert [x[0] for x in seen] == ["accepted", "fields", "failure"], seen


async def test_the_final_callback_comes_when_the_slot_is_freed_in_place():
    # No room for a new session at the end: the slot is freed in place, the result still told.
    from sensordata import sessions

    c, r, seen, cb = start(sessions=1)
    s = await accepted(c, r, cb)
    real = sessions.Session

    def no_room(index):
        raise MemoryError

    sessions.Session = no_room
    try:
        c.router.dispatch(fields(s.seqnr))
    finally:
        sessions.Session = real
    assert [x[0] for x in seen] == ["accepted", "fields", "done"], seen
    assert r.table.in_use() == 0


async def test_a_late_failure_of_a_request_leaves_the_next_one_in_its_slot_alone():
    # Request A is not sent (output full): its failure comes from a task. A ends sooner (the
    # device went offline) in a slot freed in place, and A's callback asks again at once.
    from sensordata import sessions

    c, r, seen, _ = start(sessions=1)
    again = []

    def cb(s, result, *rest):
        seen.append((s.seqnr, result))
        if not again:
            c.full = False
            again.append(r.request_data(DEV, cb))

    c.full = True
    a = r.request_data(DEV, cb)
    first = a.seqnr
    real = sessions.Session

    def no_room(index):
        raise MemoryError

    sessions.Session = no_room
    try:
        r._on_presence(Element("presence", "jabber:client", {"from": DEV, "type": "unavailable"}))
    finally:
        sessions.Session = real
    b = again[0]
    await asyncio.sleep_ms(10)  # A's failure task runs
    assert seen == [(first, "failure")], seen
    assert b.state == "requested" and r.table.in_use() == 1

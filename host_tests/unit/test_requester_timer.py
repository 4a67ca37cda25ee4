# The requester without a task per request: one timer ends the silent sessions, the router's
# answer callback finds its session by iq id, and no callback runs inside request_data.
import asyncio

from reqtest import DEV, answer, iq_id, start
from waits import until

from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "160k"  # the requester and the XML layer compiled from source, with margin


async def test_no_callback_runs_inside_request_data_even_when_nothing_can_be_sent():
    c, r, seen, cb = start()
    c.online = False
    s = r.request_data(DEV, cb)
    assert seen == [] and s.state == "requested"
    await until(lambda: seen)
    assert [x[0] for x in seen] == ["failure"] and r.table.in_use() == 0


async def test_a_request_made_by_a_final_callback_still_times_out():
    c, r, seen, cb = start(timeout_ms=30, sessions=2)
    again = []

    def first(session, result, *rest):
        seen.append(result)
        if result == "timeout" and not again:
            again.append(r.request_data(DEV, cb))

    r.request_data(DEV, first)
    await until(lambda: len(seen) >= 2, what="the second request did not time out")
    assert [x if type(x) is str else x[0] for x in seen] == ["timeout", "timeout"]
    assert r.table.in_use() == 0


async def test_the_timer_ends_once_no_session_is_live():
    c, r, seen, cb = start(timeout_ms=30)
    s = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    (req,) = c.take()
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))
    c.router.dispatch(
        Element("message", st.NS_CLIENT, {"from": DEV}, [Element("done", NS, {"seqnr": s.seqnr})])
    )
    assert [x[0] for x in seen] == ["accepted", "done"]
    await until(lambda: r._timer is None, what="the timer still runs")
    # The next request starts it again, and is timed as the first.
    r.request_data(DEV, cb)
    await until(lambda: len(seen) >= 3)
    assert seen[2][0] == "timeout"


async def test_a_lost_connection_ends_a_session_still_waiting_for_its_iq_answer():
    # The router tells every pending iq, by calling its callback with None.
    c, r, seen, cb = start(sessions=2)
    a = r.request_data(DEV, cb)
    b = r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    first = c.take()[0]
    c.router.dispatch(answer(iq_id(first), Element("accepted", NS, {"seqnr": a.seqnr})))
    c.router.drop_pending()
    assert [x[0] for x in seen] == ["accepted", "timeout"] and seen[1][3] == "connection lost"
    assert a.state == "accepted" and b.state == "ended" and c.router.pending == {}


async def test_an_ended_session_leaves_no_pending_iq_behind():
    c, r, seen, cb = start()
    s = r.request_data(DEV, cb)
    assert len(c.router.pending) == 1
    r.cancel_request(s)
    await asyncio.sleep_ms(0)
    cancel = c.take()[1]
    c.router.dispatch(answer(iq_id(cancel), Element("cancelled", NS, {"seqnr": s.seqnr})))
    await until(lambda: seen)
    assert [x[0] for x in seen] == ["cancelled"] and c.router.pending == {}


async def test_going_offline_stops_the_timer_and_a_later_request_starts_another():
    c, r, seen, cb = start(timeout_ms=50)
    r.request_data(DEV, cb)
    await asyncio.sleep_ms(0)
    timer = r._timer
    c.go_offline()
    assert [x[0] for x in seen] == ["timeout"] and r._timer is None
    await asyncio.sleep_ms(0)
    assert timer.done()
    c.online = True
    r.request_data(DEV, cb)
    assert r._timer is not None
    await until(lambda: len(seen) >= 2)
    assert [x[0] for x in seen] == ["timeout", "timeout"] and r.table.in_use() == 0

# A MemoryError (or any exception) can strike at any allocation on a fragmented heap: each
# costs its own stanza, sample or session, never a slot, a task or the connection for good.
import asyncio

from fakeclient import FakeClient
from waits import until

from sensordata import node as node_module
from sensordata import requester as requester_module
from sensordata import wire
from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.node import Node
from sensordata.requester import Requester
from sensordata.sensor import Sensor
from xmlstream.element import Element
from xmpp import router as router_module
from xmpp import stanza as st
from xmpp.log import Log
from xmpp.router import Router

HEAPSIZE = "512k"  # the client and the sensor, compiled from source on the heap

OWNER = "owner@example.org/phone"
DEVICE = "thing@example.org/sensor"
FIELDS = (("Temperature", "numeric", "°C", "momentary"),)


class _NoTasks:
    """Stands in for the asyncio module where a task is made: the heap has no room for one."""

    Event = asyncio.Event

    def __init__(self, fails=1):
        self.fails = fails

    def create_task(self, coro):
        if self.fails:
            self.fails -= 1
            coro.close()
            raise MemoryError()
        return asyncio.create_task(coro)


def _req(seqnr="1", frm=OWNER):
    return Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": "r" + seqnr, "from": frm},
        [Element("req", wire.NS, {"seqnr": seqnr, "momentary": "true"})],
    )


def _sensor(sessions=2, **kw):
    c = FakeClient()
    s = Sensor(c, Clock(synced=True), sessions=sessions, **kw)
    dev = MemoryDevice(FIELDS, ("21.5",))
    s.register_node("t", dev, comm_timeout=200)
    return c, s, dev


# -- a node's readout --------------------------------------------------------------------


async def test_a_readout_task_that_cannot_be_made_does_not_wedge_the_node():
    n = Node("t", MemoryDevice(FIELDS, ("21.5",)), 200, Clock(synced=True), FakeClient().log)
    node_module.asyncio = _NoTasks()
    try:
        try:
            await n.read()
            raise AssertionError("no MemoryError")
        except MemoryError:
            pass
    finally:
        node_module.asyncio = asyncio
    values, _, err = await asyncio.wait_for_ms(n.read(), 500)
    assert err is None and values == ("21.5",)


class _FailingClock(Clock):
    """A clock whose next reading fails: on an ESP32 the Unix time is a heap-allocated int."""

    def __init__(self):
        super().__init__(synced=True)
        self.fails = 1

    def now(self):
        if self.fails:
            self.fails -= 1
            raise MemoryError()
        return super().now()


async def test_a_readout_that_fails_before_the_part_is_asked_fails_that_readout_only():
    n = Node("t", MemoryDevice(FIELDS, ("21.5",)), 200, _FailingClock(), FakeClient().log)
    values, _, err = await asyncio.wait_for_ms(n.read(), 500)
    assert values is None and err
    values, _, err = await asyncio.wait_for_ms(n.read(), 500)
    assert err is None and values == ("21.5",)


# -- the sensor's sessions -----------------------------------------------------------------


async def test_a_request_failing_after_its_slot_was_taken_frees_the_slot_and_reads_nothing():
    c, s, dev = _sensor()
    real = wire.Accepted
    fails = [1]

    def accepted(*args):
        if fails.pop() if fails else 0:
            raise MemoryError()  # the `accepted`; the rejection that follows finds memory
        return real(*args)

    wire.Accepted = accepted
    try:
        c.router.dispatch(_req())
    finally:
        wire.Accepted = real
    (out,) = c.take()
    assert b"<rejected" in out and b"internal-server-error" in out
    assert s.table.in_use() == 0
    await asyncio.sleep_ms(50)
    assert c.take() == [] and dev.reads == 0  # no readout follows a rejection


def _push(subscription, jid="friend@example.org"):
    item = Element("item", st.NS_ROSTER, {"jid": jid, "subscription": subscription})
    query = Element("query", st.NS_ROSTER, None, [item])
    return Element("iq", st.NS_CLIENT, {"type": "set", "id": "push"}, [query])


def _failing_once(s):
    real = s._failure

    def failure(*args, **kwargs):
        s._failure = real
        raise MemoryError()  # the session's small <failure>, the heap full at that moment

    s._failure = failure


async def test_a_session_ended_by_a_revoke_or_a_presence_is_freed_though_its_end_cannot_be_made():
    # The slot was freed after the <failure> was built: out of memory there, a contact whose
    # access had just been revoked still got its readout.
    for end in (_push("remove"), Element("presence", st.NS_CLIENT, {"type": "unavailable"})):
        c, s, dev = _sensor()
        dev.delay_ms = 100
        c.router.dispatch(_push("both"))
        c.router.dispatch(_req(frm="friend@example.org/pc"))
        await asyncio.sleep_ms(10)
        assert s.table.in_use() == 1
        c.take()
        _failing_once(s)
        end.attrs["from"] = "friend@example.org/pc" if end.name == "presence" else None
        c.router.dispatch(end)
        assert s.table.in_use() == 0, end
        await asyncio.sleep_ms(150)  # past the readout the session was waiting for
        assert not any(b"<fields" in m for m in c.take()), end


async def test_a_read_that_cannot_start_ends_the_session_with_a_failure():
    c, s, dev = _sensor()
    c.router.dispatch(_req())
    node_module.asyncio = _NoTasks()
    try:
        await until(lambda: len(c.sent) >= 2, what="no final answer")
    finally:
        node_module.asyncio = asyncio
    out = c.take()
    assert b"<accepted" in out[0] and b"<failure" in out[1] and b"done=" in out[1]
    assert s.table.in_use() == 0


async def test_the_sampler_outlives_a_sample_that_could_not_be_kept():
    c, s, dev = _sensor(history=4, sample_s=0)
    hist = s.node("t").history
    real = hist.add
    calls = []

    def add(t, values):
        calls.append(t)
        if len(calls) == 1:
            raise MemoryError()
        real(t, values)

    hist.add = add
    s.start_sampling()
    await until(lambda: len(calls) >= 2 and hist.count >= 1, what="no sample after the failed one")
    assert not s._sampler.done()
    assert len(calls) >= 2 and hist.count >= 1
    assert any("MemoryError" in line for line in c.log.lines)
    s.stop()


async def test_the_sampler_outlives_a_readout_that_could_not_start():
    c, s, dev = _sensor(history=4, sample_s=0)
    node_module.asyncio = _NoTasks()
    try:
        s.start_sampling()
        await asyncio.sleep_ms(20)
    finally:
        node_module.asyncio = asyncio
    await until(lambda: s.node("t").history.count >= 1, what="no sample kept")
    assert not s._sampler.done()
    s.stop()


# -- the router --------------------------------------------------------------------------


def _router(max_tasks=1):
    sent = []
    r = Router(sent.append, FakeClient().log, max_tasks=max_tasks)

    async def slow(el):
        await asyncio.sleep_ms(1)
        return st.result(el)

    r.iq("urn:test", "q", slow)
    return r, sent


def _iq(id_):
    return Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": id_, "from": OWNER},
        [Element("q", "urn:test")],
    )


async def test_a_handler_task_that_cannot_be_made_is_answered_and_costs_no_place():
    r, sent = _router(max_tasks=1)
    router_module.asyncio = _NoTasks()
    try:
        r.dispatch(_iq("a"))
    finally:
        router_module.asyncio = asyncio
    assert r.tasks == 0
    assert len(sent) == 1 and sent[0].get("type") == "error"
    assert st.error_condition(sent[0]) == "resource-constraint"
    r.dispatch(_iq("b"))  # the one place is still free
    await until(lambda: len(sent) >= 2, what="no answer to b")
    assert sent[-1].get("type") == "result" and sent[-1].get("id") == "b"


def test_every_pending_request_hears_of_the_lost_connection_though_one_callback_fails():
    r, _ = _router()
    heard = []

    def boom(el):
        raise MemoryError()

    r.expect("a", boom)
    r.expect("b", heard.append)
    r.drop_pending()
    assert heard == [None] and not r.pending


# -- the requester -----------------------------------------------------------------------


def test_a_request_that_cannot_start_leaves_no_session_behind():
    c = FakeClient()
    rq = Requester(c, sessions=2)
    requester_module.asyncio = _NoTasks()
    try:
        try:
            rq.request_data(DEVICE, lambda *a: None)
            raise AssertionError("no MemoryError")
        except MemoryError:
            pass
    finally:
        requester_module.asyncio = asyncio
    assert rq.table.in_use() == 0


async def test_a_request_that_cannot_be_sent_ends_with_a_failure_and_frees_its_session():
    c = FakeClient()
    rq = Requester(c, sessions=2)
    heard = []

    def send(el):
        raise MemoryError()

    c.send = send
    rq.request_data(DEVICE, lambda s, result, *a: heard.append((result, s.state)))
    await until(lambda: heard, what="no final callback")
    assert heard == [("failure", "ended")]
    assert rq.table.in_use() == 0 and not c.router.pending


# -- the client ------------------------------------------------------------------------


async def test_a_failure_after_a_session_ended_leaves_its_freed_slot_alone():
    c = FakeClient()
    rq = Requester(c, sessions=1, timeout_ms=30)
    heard = []

    def forget(id_):
        raise MemoryError()  # after the timeout has ended the session, in the same task

    c.router.forget = forget
    rq.request_data(DEVICE, lambda s, result, *a: heard.append(result))
    await until(lambda: heard, what="no final callback")
    await asyncio.sleep_ms(20)
    assert heard == ["timeout"] and rq.table.in_use() == 0
    # Nothing more is done to the freed slot: no callback is looked for there again.
    assert not any("callback failed" in line for line in c.log.lines), c.log.lines


def _client(**extra):
    from xmpp.client import Client

    cfg = {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1", "tls": "plain"}
    cfg.update(extra)
    return Client(cfg, None, Log("test"))


async def test_a_client_that_cannot_get_online_for_lack_of_memory_ends_for_the_watchdog():
    # A heap too fragmented for a login stays so; the supervisor's reset is the cure.
    c = _client(backoff_base_s=0)
    calls = []

    async def starved():
        calls.append(1)
        if len(calls) >= 20:
            c.stop()
        await asyncio.sleep_ms(1)
        raise MemoryError()

    c._connection = starved
    try:
        await asyncio.wait_for_ms(c.run(), 5000)
        raise AssertionError("run() went on retrying")
    except MemoryError:
        pass
    assert len(calls) == 5, len(calls)


async def test_a_connection_that_got_online_starts_the_count_of_starved_attempts_anew():
    c = _client(backoff_base_s=0)
    calls = []

    async def starved():
        calls.append(1)
        if len(calls) in (3, 6):
            c.connects += 1  # online for a while, then out of memory
        if len(calls) >= 9:
            c.stop()
        await asyncio.sleep_ms(1)
        raise MemoryError()

    c._connection = starved
    await asyncio.wait_for_ms(c.run(), 5000)
    assert len(calls) == 9


async def test_a_connection_that_got_online_and_dropped_starts_the_count_anew_too():
    # Out of memory now and then, days apart, with good connections in between (each ending
    # as connections do, here a reset link): no run of failed logins, no reason to give up.
    c = _client(backoff_base_s=0)
    calls = []

    async def sometimes_starved():
        calls.append(1)
        await asyncio.sleep_ms(1)
        if len(calls) >= 12:
            c.stop()
        if len(calls) % 2:
            raise MemoryError()
        c.connects += 1  # online for a while
        raise OSError(104)

    c._connection = sometimes_starved
    await asyncio.wait_for_ms(c.run(), 5000)  # a MemoryError out of run() fails the test
    assert len(calls) == 12


def test_a_stanza_that_cannot_be_serialized_for_lack_of_memory_is_dropped_not_raised():
    c = _client()
    c._online = c._routed = True

    def put_nowait(el):
        raise MemoryError()

    c.outbox.put_nowait = put_nowait
    assert c.send(Element("presence", st.NS_CLIENT)) is False
    assert c.outbox.dropped == 1


_HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.org' "
    b"version='1.0'><stream:features/>"
)


def _listener():
    from loopback import listener

    s, port = listener()
    s.setblocking(False)
    return s, port


async def _accept(listener):
    while True:
        try:
            peer = listener.accept()[0]
            break
        except OSError:
            await asyncio.sleep_ms(2)
    listener.close()
    peer.setblocking(False)
    peer.write(_HEADER)
    return peer


async def _read_until_closed(peer, ms=10_000):
    """What the client sent until it closed TCP; None if it kept the connection open."""
    buf = bytearray(512)
    got = b""
    for _ in range(ms // 5):
        try:
            n = peer.readinto(buf)
        except OSError:
            n = 0
        if n == 0:
            return got
        if n:
            got += bytes(buf[:n])
        await asyncio.sleep_ms(5)
    return None


async def test_a_failing_offline_hook_skips_neither_the_others_nor_closing_the_connection():
    from xmpp import login

    async def logged_in(c):
        c.xml.reset()
        await c.next_stanza()
        c.full_jid = "dev@example.org/sensor"

    async def no_roster():
        pass

    login.login = logged_in
    listener, port = _listener()
    c = _client()
    c.opt.port = port
    c.roster.load = no_roster
    heard = []

    def boom():
        raise MemoryError()

    c.on_offline = [boom, lambda: heard.append(len(c.outbox))]
    run = asyncio.create_task(c.run())
    peer = await _accept(listener)
    await asyncio.wait_for_ms(c.online.wait(), 10_000)  # bounds against a hang only
    peer.write(b"</stream:stream>")
    got = await _read_until_closed(peer)
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    peer.close()
    assert heard, "the second offline hook was not called"
    assert got is not None, "the connection was left open"
    assert got.endswith(b"</stream:stream>"), got
    assert c.transport is None and len(c.outbox) == 0

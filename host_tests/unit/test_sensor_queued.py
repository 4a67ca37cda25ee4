# Requests queued with `when` (up to a day ahead) hold at most half the session table.
import asyncio

from fakeclient import FakeClient

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
FRIEND = "friend@example.org/pc"


def _sensor(*contacts):
    """A sensor with 4 slots and node t1; `contacts`: roster contacts (bare JIDs)."""
    c = FakeClient()
    s = Sensor(c, Clock(synced=True), sessions=4)
    s.register_node("t1", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    for j in contacts:
        c.roster.contacts.add(j)
    return c, s


def _req(frm, seqnr, when=None):
    attrs = {"seqnr": seqnr, "momentary": "true"}
    if when:
        attrs["when"] = when
    req = Element("req", NS, attrs)
    return Element("iq", st.NS_CLIENT, {"type": "get", "id": "q" + seqnr, "from": frm}, [req])


def test_one_contact_cannot_lock_everyone_out_for_a_day_with_queued_requests():
    c, s = _sensor("friend@example.org")
    when = iso(s.clock.now() + 86000)  # just under the one-day limit
    for k in range(len(s.table.slots)):
        c.router.dispatch(_req(FRIEND, str(k + 1), when))
    c.take()
    c.router.dispatch(_req(OWNER, "1"))
    (out,) = c.take()
    assert b"<accepted" in out, out


def test_queued_requests_over_half_the_table_get_resource_constraint_and_reads_still_go():
    c, s = _sensor("friend@example.org", "other@example.org")
    when = iso(s.clock.now() + 3600)
    outs = []
    for k, frm in enumerate((FRIEND, "other@example.org/pc", FRIEND)):
        c.router.dispatch(_req(frm, str(k + 1), when))
        outs += c.take()
    assert [b"queued='true'" in o.replace(b'"', b"'") for o in outs] == [True, True, False]
    assert b"resource-constraint" in outs[2] and b"Too many queued requests" in outs[2]
    c.router.dispatch(_req(FRIEND, "9"))  # a readout now still finds a slot
    (out,) = c.take()
    assert b"<accepted" in out and b"queued" not in out, out
    assert s.table.in_use() == 3


def test_even_the_owner_may_queue_only_half_the_table():
    c, s = _sensor()
    when = iso(s.clock.now() + 3600)
    for k in range(3):
        c.router.dispatch(_req(OWNER, str(k + 1), when))
    outs = [o.replace(b'"', b"'") for o in c.take()]
    assert [b"queued='true'" in o for o in outs] == [True, True, False], outs
    assert b"resource-constraint" in outs[2] and s.table.in_use() == 2


def test_a_table_of_one_slot_still_takes_a_queued_request():
    c = FakeClient()
    s = Sensor(c, Clock(synced=True), sessions=1)
    s.register_node("t1", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    c.router.dispatch(_req(OWNER, "1", iso(s.clock.now() + 3600)))
    (out,) = c.take()
    assert b"queued='true'" in out.replace(b'"', b"'"), out


def test_a_contact_may_queue_one_request_on_a_table_of_two_slots():
    c = FakeClient()
    s = Sensor(c, Clock(synced=True), sessions=2)
    s.register_node("t1", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    c.roster.contacts.add("friend@example.org")
    c.router.dispatch(_req(FRIEND, "1", iso(s.clock.now() + 3600)))
    (out,) = c.take()
    assert b"queued='true'" in out.replace(b'"', b"'"), out


def test_one_contact_cannot_take_every_queued_place_for_a_day():
    c, s = _sensor("friend@example.org")
    when = iso(s.clock.now() + 86000)  # just under the one-day limit
    for k in range(len(s.table.slots)):
        c.router.dispatch(_req(FRIEND, str(k + 1), when))
    c.take()
    c.router.dispatch(_req(OWNER, "1", when))  # the owner's own scheduled readout
    (out,) = c.take()
    assert b"queued='true'" in out.replace(b'"', b"'"), out


async def test_a_queued_request_does_not_outwait_a_clock_stepped_back_by_days():
    # `when` is bounded to a day ahead when accepted; a clock stepped back afterwards (an NTP
    # correction, or a forged answer from the network) must not make the slot wait for weeks.
    c, s = _sensor()
    now = s.clock.now()
    c.router.dispatch(_req(OWNER, "1", iso(now + 60)))
    c.take()
    s.clock.now = lambda: now - 30 * 86400
    await asyncio.sleep_ms(20)
    assert s.table.in_use() == 0
    (out,) = c.take()
    assert b"<failure" in out and b"done=" in out, out


async def test_the_clock_changed_end_waits_for_room_in_the_output_rather_than_being_lost():
    c, s = _sensor()
    now = s.clock.now()
    c.router.dispatch(_req(OWNER, "1", iso(now + 60)))
    c.take()
    room = asyncio.Event()
    c.send = lambda el: False  # the output is full: what cannot wait is dropped

    async def send_wait(el):
        await room.wait()
        c.sent.append(el)

    c.send_wait = send_wait
    s.clock.now = lambda: now - 30 * 86400
    await asyncio.sleep_ms(20)
    room.set()
    await asyncio.sleep_ms(20)
    assert s.table.in_use() == 0
    (out,) = c.take()
    assert out.name == "message" and out.children[0].name == "failure", out


async def test_a_queued_request_reads_the_clock_again_at_least_every_minute():
    # A clock stepped forward meanwhile (NTP) must start the readout within a minute, not
    # when the wait computed at first runs out.
    from sensordata import sensor as sensor_module

    class Asyncio:
        def __init__(self):
            self.slept = []  # each sleep asked for, in ms

        async def sleep_ms(self, ms):
            self.slept.append(ms)
            await asyncio.sleep_ms(1)

        def __getattr__(self, name):
            return getattr(asyncio, name)

    shim = Asyncio()
    sensor_module.asyncio = shim
    try:
        c, s = _sensor()
        now = s.clock.now()
        c.router.dispatch(_req(OWNER, "1", iso(now + 3600)))
        c.take()
        await asyncio.sleep_ms(10)
        s.clock.now = lambda: now + 3600
        await asyncio.sleep_ms(10)
    finally:
        sensor_module.asyncio = asyncio
    assert shim.slept and max(shim.slept) <= 60_000, shim.slept
    assert s.table.in_use() == 0 and b"<started" in c.take()[0]

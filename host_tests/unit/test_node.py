# sensordata.node: one readout at a time, very recent ones shared.

from esp32ticks import DAY_MS, install

from sensordata import node as node_module
from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.node import Node


class _Log:
    def warn(self, text):
        pass


FIELDS = (("Temperature", "numeric", "°C", None, "momentary"),)


def _node(dev):
    return Node("t1", dev, 1000, Clock(synced=True), _Log())


async def test_a_readout_is_shared_for_a_moment_then_repeated():
    ticks = install(node_module, now=1_000)  # moved by hand: a loaded host takes its time
    dev = MemoryDevice(FIELDS, ("21.5",))
    n = _node(dev)
    assert (await n.read())[0] == ("21.5",)
    dev.values[0] = "22.0"
    ticks.advance(240)
    assert (await n.read())[0] == ("21.5",) and dev.reads == 1  # within 250 ms: shared
    ticks.advance(60)
    assert (await n.read())[0] == ("22.0",) and dev.reads == 2


async def test_a_readout_a_week_old_is_not_taken_for_a_recent_one():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative, hence "recent".
    ticks = install(node_module, now=1_000)
    dev = MemoryDevice(FIELDS, ("21.5",))
    n = _node(dev)
    await n.read()
    dev.values[0] = "18.0"
    ticks.advance(7 * DAY_MS)
    assert (await n.read())[0] == ("18.0",) and dev.reads == 2


async def test_a_readout_from_before_the_clock_was_set_is_not_shared_with_its_false_time():
    # Chat reads a node before NTP answers (a board without TLS goes online first); a request
    # or the sampler that comes once the clock is set must not get that readout's 1970 (or
    # 2000) time, neither from the readout under way nor from the one just ended.
    import asyncio

    install(node_module, now=1_000)  # no time passes between the readouts below
    clock = Clock(synced=False)
    clock.now = lambda: 0 if not clock.synced else 1_800_000_000
    dev = MemoryDevice(FIELDS, ("21.5",))
    dev.delay_ms = 50
    n = Node("t1", dev, 1000, clock, _Log())
    early = asyncio.create_task(n.read())
    await asyncio.sleep_ms(10)
    clock.synced = True
    assert (await n.read())[1] == 1_800_000_000  # joined the readout under way
    assert (await early)[1] == 1_800_000_000
    clock.synced = False
    await n.read()
    clock.synced = True
    assert (await n.read())[1] == 1_800_000_000  # within 250 ms of one read unsynced


async def test_a_failed_readout_from_before_the_clock_was_set_is_not_dated_by_it():
    # The same for a readout that fails or times out: a request that joined it once the clock
    # was set sends its time in the <failure>.
    import asyncio

    for fail, timeout in ((OSError(19), 1000), (None, 20)):
        clock = Clock(synced=False)
        clock.now = lambda c=clock: 0 if not c.synced else 1_800_000_000
        dev = MemoryDevice(FIELDS, ("21.5",))
        dev.delay_ms = 50
        dev.fail = fail
        n = Node("t1", dev, timeout, clock, _Log())
        early = asyncio.create_task(n.read())
        await asyncio.sleep_ms(10)
        clock.synced = True
        got = await n.read()  # joined the readout under way
        assert got[2] is not None and got[1] == 1_800_000_000, got
        assert (await early)[1] == 1_800_000_000


async def test_a_part_that_needs_longer_than_comm_timeout_is_given_its_own_time():
    # A device may say how long a readout of a working part can take (read_ms): an SCD4x's
    # first sample comes 5 s after it starts, and a 2 s timeout would fail every readout
    # in those first seconds. The node waits the longer of the two.
    dev = MemoryDevice(FIELDS, ("21.5",))
    dev.delay_ms = 150
    dev.read_ms = 5000
    n = Node("t1", dev, 20, Clock(synced=True), _Log())
    assert n.comm_timeout == 5000
    values, _, error = await n.read()
    assert error is None and values == ("21.5",)


async def test_comm_timeout_still_ends_a_readout_that_outlasts_it():
    dev = MemoryDevice(FIELDS, ("21.5",))
    dev.delay_ms = 2000
    dev.read_ms = 10  # shorter than the configured timeout: the configured one holds
    n = Node("t1", dev, 30, Clock(synced=True), _Log())
    values, _, error = await n.read()
    assert values is None and error == "Timeout: no answer within 30 ms"

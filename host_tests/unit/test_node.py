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

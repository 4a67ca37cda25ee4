# The firmware's Thing in-process, instrumented for heap per XEP-0323 session; driven by
# tools/bench_sensordata.py. Usage: micropython tools/bench_sensordata_mp.py TREE CONFIG.json
#
# Besides the host board's nodes it publishes GATES nodes "gate-0".. whose readouts wait on
# an Event, so a requester can park one session per gate (each node has its own lock).
# Lines it prints (stdout), besides the client's log:
#   parked live=K heap=N   the first time K sessions are live and all parked at gates (K=0
#                          once online); heap is gc.mem_alloc() after gc.collect(). When
#                          GATES sessions are parked, the gates open and all complete.
#   peak heap=N live=K     a new high-water of heap in use, sampled after gc.collect() each
#                          time a session queues a message (accepted answers excluded).
import sys

_tree = sys.argv[1]
sys.path[:0] = [_tree + "/lib", _tree + "/boards/host"]

import asyncio  # noqa: E402
import gc  # noqa: E402

import board  # noqa: E402

from thing import app, config  # noqa: E402

GATES = 4
_FIELDS = (("Value", "numeric", "", "momentary"),)


class Gate:
    FIELDS = _FIELDS

    def __init__(self):
        self.open = asyncio.Event()
        self.waiting = 0

    async def read(self):
        self.waiting += 1
        try:
            await self.open.wait()
        finally:
            self.waiting -= 1
        return ("1.0",)


def live(sensor):
    return sum(1 for s in sensor.table.slots if s.jid is not None)


async def monitor(thing, gates):
    sensor = thing.sensor
    await thing.client.online.wait()
    reported = -1
    while True:
        await asyncio.sleep_ms(10)
        n = live(sensor)
        if n == 0 and reported == len(gates):
            for g in gates:
                g.open = asyncio.Event()  # closed again for the next round
            reported = -1
        if n == sum(g.waiting for g in gates) and n != reported:
            gc.collect()
            print("parked live=%d heap=%d" % (n, gc.mem_alloc()))
            reported = n
            if n == len(gates):
                for g in gates:
                    g.open.set()


def hook_send(sensor):
    # Every readout message of the sensor waits for room through send_wait: measured there.
    client = sensor.client
    send = client.send_wait
    peak = [0]

    async def counted(el):
        gc.collect()
        used = gc.mem_alloc()
        if used > peak[0]:
            peak[0] = used
            print("peak heap=%d live=%d" % (used, live(sensor)))
        await send(el)

    client.send_wait = counted


async def run(thing, gates):
    asyncio.create_task(monitor(thing, gates))
    await thing.run()


def main(path):
    cfg = config.load(path, on_board=False)
    with open(cfg["xmpp"]["ca"], "rb") as f:
        ca_der = f.read()
    gates = [Gate() for _ in range(GATES)]
    nodes = board.nodes(cfg) + [("gate-%d" % i, g) for i, g in enumerate(gates)]
    thing = app.Thing(cfg, nodes, ca_der)
    for i in range(GATES):
        thing.sensor.node("gate-%d" % i).comm_timeout = 60_000
    hook_send(thing.sensor)
    asyncio.run(run(thing, gates))


main(sys.argv[2])

# MicroPython: many simulated boards (thing.app.Thing) in one process, for `make fleet`.
# Usage: micropython tools/fleet_mp.py FLEET.json
#   {"ca": "ca.der", "allow": ["poller@localhost"], "xmpp": {common options},
#    "boards": [{"jid": "b0@localhost", "password": "...", "index": 0}, ...],
#    "stagger_ms": 20}
# Each board publishes two MemoryDevice nodes: "env" (Temperature, Humidity) and "id"
# (Board: its own index), so a requester can tell that every answer came from the board
# it asked: nothing is shared between the things but the interpreter.
# Prints `FLEET online=K of N heap=H` every second (H: gc.mem_alloc() after a collection)
# and one line per board log line at warn and above; runs until SIGINT.
import gc
import json
import sys

_root = __file__.rpartition("/")[0].rpartition("/")[0] or "."
sys.path[:0] = [_root + "/lib"]

import asyncio  # noqa: E402

from sensordata.device import MemoryDevice  # noqa: E402
from thing import app  # noqa: E402

ENV = (("Temperature", "numeric", "°C", "momentary"), ("Humidity", "numeric", "%", "momentary"))
ID = (("Board", "numeric", "", "identity"),)


def nodes(index):
    t = "%d.%02d" % (20 + index % 10, index % 100)
    return [
        ("env", MemoryDevice(ENV, (t, "45.00"))),
        ("id", MemoryDevice(ID, (str(index),))),
    ]


def thing(spec, common, allow, ca):
    x = dict(common)
    x["jid"] = spec["jid"]
    x["password"] = spec["password"]
    cfg = {
        "xmpp": x,
        "allow": allow,
        "sensor": {"sessions": 2, "history": 0, "requests": 1},
        "log": "warn",
    }
    return app.Thing(cfg, nodes(spec["index"]), ca)


async def main(path):
    with open(path) as f:
        fleet = json.load(f)
    ca = app.read_file(fleet["ca"])
    things = []
    for spec in fleet["boards"]:
        things.append(thing(spec, fleet.get("xmpp", {}), fleet.get("allow", []), ca))
    gc.collect()
    print("FLEET built %d heap=%d" % (len(things), gc.mem_alloc()))
    stagger = fleet.get("stagger_ms", 20)
    for t in things:
        asyncio.create_task(t.run())
        await asyncio.sleep_ms(stagger)
    while True:
        online = 0
        for t in things:
            if t.client.online.is_set():
                online += 1
        gc.collect()
        print("FLEET online=%d of %d heap=%d" % (online, len(things), gc.mem_alloc()))
        await asyncio.sleep_ms(1000)


try:
    asyncio.run(main(sys.argv[1]))
except KeyboardInterrupt:
    print("FLEET stopped")

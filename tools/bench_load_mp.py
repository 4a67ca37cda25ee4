# Our XEP-0323 requester under MicroPython as a load generator, for tools/bench_sensordata.py.
# Usage: micropython tools/bench_load_mp.py TREE CONFIG.json
#   CONFIG: {"ca": "ca.der", "xmpp": {common client options},
#            "requesters": [{"jid": "r1@localhost", "password": "..."}, ...]}
# Logs every requester in (several Clients in one process), prints `LOAD online`, then
# serves commands read from stdin, one per line:
#   run SECONDS TO NODE   each requester keeps exactly one request for NODE in flight at the
#                         full JID TO, for SECONDS; then prints
#                         `LOAD done=N bad={result: count} elapsed_ms=E`
#   quit                  logs out and exits
# Between commands the event loop is blocked on stdin: nothing is in flight then.
import sys

_tree = sys.argv[1]
sys.path[:0] = [_tree + "/lib"]

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from sensordata.requester import Requester  # noqa: E402
from xmpp.client import Client  # noqa: E402
from xmpp.log import WARN, Log  # noqa: E402

FINAL = ("done", "rejected", "failure", "cancelled", "timeout")


async def chain(rq, to, node, until, tally):
    """Request, wait for the final answer, request again, until the deadline."""
    ended = asyncio.Event()

    def on_result(_s, result, *_):
        if result in FINAL:
            tally[result] = tally.get(result, 0) + 1
            ended.set()

    while time.ticks_diff(until, time.ticks_ms()) > 0:
        ended.clear()
        if rq.request_data(to, on_result, node_ids=(node,)) is None:
            tally["no slot"] = tally.get("no slot", 0) + 1
            return
        await ended.wait()


async def run(rqs, seconds, to, node):
    tally = {}
    t0 = time.ticks_ms()
    until = time.ticks_add(t0, int(seconds * 1000))
    await asyncio.gather(*(chain(rq, to, node, until, tally) for rq in rqs))
    elapsed = time.ticks_diff(time.ticks_ms(), t0)
    done = tally.pop("done", 0)
    print("LOAD done=%d bad=%s elapsed_ms=%d" % (done, json.dumps(tally), elapsed))


async def main(path):
    with open(path) as f:
        cfg = json.load(f)
    with open(cfg["ca"], "rb") as f:
        ca = f.read()
    clients, rqs = [], []
    for r in cfg["requesters"]:
        x = dict(cfg["xmpp"])
        x["jid"], x["password"] = r["jid"], r["password"]
        c = Client(x, ca, Log(r["jid"].split("@")[0], WARN))
        clients.append(c)
        rqs.append(Requester(c, sessions=1, timeout_ms=10_000))
        asyncio.create_task(c.run())
    for c in clients:
        await c.online.wait()
    print("LOAD online")
    while True:
        words = sys.stdin.readline().split()  # blocks the loop: nothing is in flight now
        if not words or words[0] == "quit":
            break
        await run(rqs, float(words[1]), words[2], words[3])
    for c in clients:
        c.stop()
    await asyncio.sleep_ms(100)


asyncio.run(main(sys.argv[2]))

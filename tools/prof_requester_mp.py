# Our XEP-0323 requester on a real Client, its socket replaced by bytes: what one readout
# costs the requester side, for instruction counts under valgrind.
# Usage (from the repo root): micropython tools/prof_requester_mp.py [N [TREE [check]]]
#   N      readouts, one after the other, as tools/bench_load_mp.py drives each requester
#          (request_data with a callback, the next request once the final one arrived);
#   TREE   where lib/ is (default "."; build/mpy for the .mpy that the bench runs);
#   check  also print every request's bytes.
# The Client's reader and sender tasks run as online; the transport hands each request the
# sender writes to a fake device, which answers as ours does through Prosody: the iq result
# with <accepted/>, then (a later read) one <fields done='true'> message with the two
# momentary fields of sht4x-44. Per readout: I(N2) - I(N1) over N2 - N1, e.g.
#   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
#     .venv/bin/micropython -X heapsize=512k tools/prof_requester_mp.py 600 build/mpy
# It prints the requests' digest (the same bytes on the wire give the same digest), the
# heap held by the Client and Requester, and the bytes allocated per readout.
import sys

_n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
_tree = sys.argv[2] if len(sys.argv) > 2 else "."
_check = len(sys.argv) > 3 and sys.argv[3] == "check"
sys.path[:0] = [_tree + "/lib"]

import asyncio  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import random  # noqa: E402

import micropython  # noqa: E402

from sensordata.requester import Requester  # noqa: E402
from xmpp.client import Client  # noqa: E402
from xmpp.log import WARN, Log  # noqa: E402

ME = "r1@localhost/mp"
DEV = "sensor@localhost/sensor"
NODE = "sht4x-44"
HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xml:lang='en' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>"
)
# As Prosody delivers what our sensor writes (attribute order as it writes them).
ACCEPTED = (
    b"<iq id='%s' type='result' to='" + ME.encode() + b"' from='" + DEV.encode() + b"'>"
    b"<accepted xmlns='urn:xmpp:iot:sensordata' seqnr='%s'/></iq>"
)
FIELDS = (
    b"<message id='c1f00.%s' xml:lang='en' to='" + ME.encode() + b"' from='" + DEV.encode()
    + b"'><fields xmlns='urn:xmpp:iot:sensordata' seqnr='%s' done='true'>"
    b"<node nodeId='sht4x-44'><timestamp value='2026-11-23T21:02:03Z'>"
    b"<numeric name='Temperature' value='21.53' unit='\xc2\xb0C' momentary='true'"
    b" automaticReadout='true'/><numeric name='Humidity' value='45.12' unit='%%'"
    b" momentary='true' automaticReadout='true'/></timestamp></node></fields></message>"
)  # fmt: skip


class Device:
    """The transport: what the sender writes is a request; its answers are what is read."""

    def __init__(self):
        self.rx = [HEADER]
        self.ready = asyncio.Event()
        self.ready.set()
        self.digest = hashlib.sha256()
        self.requests = 0

    async def readinto(self, buf):
        while not self.rx:
            self.ready.clear()
            await self.ready.wait()
        data = self.rx.pop(0)
        buf[: len(data)] = data
        return len(data)

    async def drain(self, src=None):
        data = bytes(src.w.pending())
        src.sent(len(data))
        self.requests += 1
        self.digest.update(data)
        if _check:
            print(data.decode())
        i = data.find(b"id='") + 4
        id_ = data[i : data.find(b"'", i)]
        i = data.find(b"seqnr='") + 7
        seqnr = data[i : data.find(b"'", i)]
        # Two reads, as over the network: the reader wakes for each.
        self.rx.append(ACCEPTED % (id_, seqnr))
        self.ready.set()
        await asyncio.sleep_ms(0)
        self.rx.append(FIELDS % (seqnr, seqnr))
        self.ready.set()
        await asyncio.sleep_ms(0)

    def close(self):
        pass


async def chain(rq, n, tally):
    """As bench_load_mp.chain: request, wait for the final answer, request again."""
    ended = asyncio.Event()

    def on_result(_s, result, *_):
        if result in ("done", "rejected", "failure", "cancelled", "timeout"):
            tally[result] = tally.get(result, 0) + 1
            ended.set()

    for _ in range(n):
        ended.clear()
        if rq.request_data(DEV, on_result, node_ids=(NODE,)) is None:
            tally["no slot"] = tally.get("no slot", 0) + 1
            return
        await ended.wait()


async def main():
    random.seed(1)  # the same ids and seqnrs every run: the digest compares the bytes
    cfg = {"jid": "r1@localhost", "password": "x", "resource": "mp"}
    c = Client(cfg, b"", Log("r1", WARN))
    gc.collect()
    base = gc.mem_alloc()
    rq = Requester(c, sessions=1, timeout_ms=10_000)
    c.transport = dev = Device()
    c.full_jid = ME
    c._online = c._routed = True
    tasks = [
        asyncio.create_task(c._guard(c._reader())),
        asyncio.create_task(c._guard(c._sender())),
    ]
    await asyncio.sleep_ms(0)  # the stream header is read
    tally = {}
    await chain(rq, 3, tally)  # first use: interned strings, dict growth
    gc.collect()
    held = gc.mem_alloc()
    total = micropython.mem_total() if hasattr(micropython, "mem_total") else 0
    await chain(rq, _n, tally)
    per = (micropython.mem_total() - total) // _n if total else -1
    gc.collect()
    print("PROF readouts=%d tally=%s requests=%d" % (_n, tally, dev.requests))
    print("PROF digest=%s" % dev.digest.digest().hex())
    print("PROF requester_heap=%d held_after=%d alloc_per_readout=%d" % (
        held - base, gc.mem_alloc() - base, per))  # fmt: skip
    for t in tasks:
        t.cancel()


asyncio.run(main())

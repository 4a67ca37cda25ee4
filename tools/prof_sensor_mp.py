# Readout requests fed through the firmware's own path, in-process, for instruction counts:
# stream bytes -> tokenizer -> builder -> Client.stanza -> router -> Sensor -> node read ->
# outbox bytes. The Thing is the firmware's (thing/app.py) on the host board's five nodes;
# each request is a readout iq as slixmpp's xep_0323 requester sends it, relayed by Prosody,
# for node sht4x-44 (two momentary fields). No socket: the outbox is emptied after each one.
#
# Usage (from the repo root):
#   .venv/bin/micropython tools/prof_sensor_mp.py N [CASE] [STAGE] [OUT]
#     CASE   fresh: the node is read afresh for every request (default)
#            coalesced: every request gets the node's last reading (as requests less than
#            250 ms apart do; the driver keeps that reading young, whatever the wall clock)
#     STAGE  full: to the last byte of the fields message (default)
#            accept: up to the `accepted` iq in the outbox; the readout task ends at once
#            parse: bytes to stanza elements only (the router is not called)
#     OUT    a file that gets every byte the outbox held, in order (to compare two trees)
# TREE=build/mpy (after `make compile`) loads the libraries compiled, as the bench's firmware
# does (tools/run-host MPY=1, with -X heapsize=512k); the heap's layout, and so what the
# allocator costs, depends on both.
# Per request: valgrind --tool=callgrind --callgrind-out-file=/dev/null on N1 and N2, then
# (I(N2) - I(N1)) / (N2 - N1).
import os
import sys

_tree = os.getenv("TREE") or "."
sys.path[:0] = [_tree + "/lib", _tree + "/boards/host"]

import asyncio  # noqa: E402
import time  # noqa: E402

import board  # noqa: E402

from sensordata.clock import Clock  # noqa: E402
from thing import app  # noqa: E402

_T = 1795000000  # 2026-11-18T11:06:40Z
_HEAD = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' "
    b"version='1.0' xml:lang='en'>"
)
_REQ = (
    b"<iq id='%d' type='get' to='sensor@localhost/sensor' from='requester@localhost/bench' "
    b"xml:lang='en'><req xmlns='urn:xmpp:iot:sensordata' seqnr='%d' momentary='true'>"
    b"<node nodeId='sht4x-44'/></req></iq>"
)
_CFG = {
    "xmpp": {"jid": "sensor@localhost", "password": "x", "host": "127.0.0.1"},
    "allow": ["requester@localhost"],
    "board": "host",
}


class StepClock(Clock):
    """Synced; a second later at each request (so OUT is the same from run to run)."""

    t = _T

    def now(self):
        return self.t


async def _served(s):
    pass  # STAGE accept: the readout task does nothing (Sensor._serve frees no slot then)


async def run(n, case, stage, out):
    thing = app.Thing(_CFG, board.nodes(_CFG), b"", StepClock(True))
    client, sensor = thing.client, thing.sensor
    client._ids = 0  # not random: the same message ids in every run
    client._online = client._routed = True
    client.full_jid = "sensor@localhost/sensor"
    node = sensor.node("sht4x-44")
    outbox = client.outbox
    if stage == "parse":
        client.router.dispatch = lambda el: None
    elif stage == "accept":
        sensor._serve = _served
    client._feed(_HEAD)
    buf = bytearray(512)
    mv = memoryview(buf)
    for i in range(1, n + 1):
        thing.clock.t = _T + i
        if case == "fresh":
            node.last = None
        elif node.last is not None:
            node.last = (time.ticks_ms(), node.last[1], node.last[2])
        r = _REQ % (i, i)
        k = len(r)
        buf[:k] = r  # as the reader gets it: in its buffer, fed as a memoryview
        client._feed(mv[:k])
        for s in sensor.table.slots:
            if s.task is not None:
                await s.task
        if stage == "accept":
            sensor.table.free_all()
        k = len(outbox)
        if k:
            if out is not None:
                out.write(outbox.w.pending())
            outbox.sent(k)
    left = sensor.table.in_use()
    if left or outbox.dropped:
        raise SystemExit("sessions left: %d, stanzas dropped: %d" % (left, outbox.dropped))


def main():
    a = sys.argv[1:]
    n = int(a[0])
    case = a[1] if len(a) > 1 else "fresh"
    stage = a[2] if len(a) > 2 else "full"
    out = open(a[3], "wb") if len(a) > 3 else None
    asyncio.run(run(n, case, stage, out))
    if out is not None:
        out.close()


main()

# MicroPython: one TLS client online while dozens of other sockets join the event loop's
# poller, then pings through the crowd.
# Usage: micropython mp_crowded_poller.py CONFIG.json EXTRA_SOCKETS PINGS
# Prints POLLED <kinds>, PINGS <answered>/<asked>, then OK. The unix port's poller corrupts
# its entry for an object without a file descriptor (a TLS object) whenever its descriptor
# table moves: a transport that lets the TLS object into the poller may die here (SIGSEGV),
# and the POLLED line names it either way.
import sys

_root = __file__.rpartition("/")[0].rpartition("/")[0].rpartition("/")[0] or "."
sys.path[:0] = [_root + "/lib", _root + "/boards/host"]

import asyncio  # noqa: E402

from thing import app, config  # noqa: E402
from xmlstream.element import Element  # noqa: E402
from xmpp import stanza as st  # noqa: E402


async def idle_reader(host, port, opened):
    reader, _ = await asyncio.open_connection(host, port)
    opened.append(reader)
    await reader.read(1)  # waits on its socket in the poller until the end of the test


async def main(path, extra, pings):
    cfg = config.load(path, on_board=False)
    me = app.Thing(cfg, [], app.read_file(cfg["xmpp"]["ca"]))
    asyncio.create_task(me.run())
    await asyncio.wait_for_ms(me.client.online.wait(), 60_000)  # a bound against a hang
    c = me.client
    opened = []
    tasks = []
    for _ in range(extra):
        # One at a time, so the poller's descriptor table grows (and moves) while the
        # client's reader is registered in it.
        tasks.append(
            asyncio.create_task(idle_reader(cfg["xmpp"]["host"], cfg["xmpp"]["port"], opened))
        )
        await asyncio.sleep_ms(2)
    while len(opened) < extra:
        await asyncio.sleep_ms(10)
    polled = [entry[2] for entry in asyncio.core._io_queue.map.values()]
    kinds = sorted(set(type(s).__name__ for s in polled))
    print("POLLED %s tls-object-in-poller=%s" % (",".join(kinds), c.transport.sock in polled))
    answered = 0
    for _ in range(pings):
        ping = st.iq("get", c.opt.domain, c.new_id(), Element("ping", st.NS_PING))
        if await c.router.request(ping, 30_000) is not None:  # however slowly, not never
            answered += 1
    print("PINGS %d/%d" % (answered, pings))
    for t in tasks:
        t.cancel()
    await asyncio.sleep_ms(0)
    for r in opened:
        r.s.close()
    me.stop()
    await asyncio.sleep_ms(50)
    print("OK")


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

# The XMPP client under MicroPython, for tools/bench_xmpp.py (which starts Prosody).
# Usage: micropython tools/bench_xmpp_mp.py TREE CONFIG.json login N
#        micropython tools/bench_xmpp_mp.py TREE CONFIG.json serve
# TREE is the source root or a build/mpy tree; CONFIG.json holds the client's "xmpp" section
# with "ca" naming a DER file.
#
# login: one warm-up login, N logins with an empty SCRAM key cache, N with the cached key;
#   one JSON line per login: {"kind", phase: µs since the previous mark, ...}. Phases are
#   timed by wrapping Transport, login and Client functions here: the library is not changed.
#   The client loads xmpp.login for each login and unloads it after, so its functions are
#   wrapped anew at each connection, once TCP is up: the import is timed where the client
#   makes it, in the "proceed" phase.
# serve: the bare Client (no sensor, no chat), connected until killed; it logs
#   "online as JID (heap in use: N)" like the firmware does, after printing the heap in use
#   once the modules are imported and once the Client is built.
# phases: serve, also printing the heap in use (after a collection) once the TLS handshake
#   is done and once SASL succeeded; the collections move the heap's layout, so the smallest
#   heaps are bisected with serve.
import sys

_tree = sys.argv[1]
sys.path[:0] = [_tree + "/lib"]

import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from xmpp import client as xc  # noqa: E402
from xmpp import transport as xt  # noqa: E402
from xmpp.log import Log  # noqa: E402

# The boundaries, in order; the same ones tools/bench_xmpp.py marks on slixmpp.
ORDER = (
    "tcp",  # TCP connected
    "proceed",  # clear header + features + <starttls/> answered by <proceed/>
    "handshake",  # TLS handshake done (the first TLS write went out)
    "features",  # header + features over TLS
    "sasl",  # SCRAM done, server signature verified
    "bind",  # stream restart + features + bind result
    "presence",  # roster fetched, presence queued
)

marks = []


def mark(name):
    marks.append((name, time.ticks_us()))


def at_each_login(patch):
    """patch(the login module) at each connection, once TCP is up: before the client's own
    import, which then finds the module loaded (and unloads it after the login)."""
    T = xt.Transport
    connect = T.connect

    async def t_connect(self, host, port):
        await connect(self, host, port)
        from xmpp import login

        patch(login)

    T.connect = t_connect


def instrument():
    T, C = xt.Transport, xc.Client
    connect, start_tls, write = T.connect, T.start_tls, T.write
    send = C.send

    async def t_connect(self, host, port):
        mark("t0")
        await connect(self, host, port)
        mark("tcp")

    def t_start_tls(self, ctx, hostname):
        mark("proceed")
        start_tls(self, ctx, hostname)
        self.first_tls_write = True

    async def t_write(self, data):
        await write(self, data)
        if getattr(self, "first_tls_write", False):
            self.first_tls_write = False
            mark("handshake")

    def patch(xl):
        authenticate, bind = xl.authenticate, xl.bind

        async def c_authenticate(c, features):
            mark("features")
            await authenticate(c, features)
            mark("sasl")

        async def c_bind(c, features):
            await bind(c, features)
            mark("bind")

        xl.authenticate, xl.bind = c_authenticate, c_bind

    def c_send(self, el):
        ok = send(self, el)
        if getattr(el, "name", None) == "presence" and marks and marks[-1][0] == "bind":
            mark("presence")
        return ok

    T.connect, T.start_tls, T.write = t_connect, t_start_tls, t_write
    C.send = c_send
    at_each_login(patch)


def trace_heap():
    """Print the heap in use after the TLS handshake and after SASL, in serve's words."""
    T = xt.Transport
    write = T.write

    def used(what):
        gc.collect()
        print("heap %s: %d" % (what, gc.mem_alloc()))

    async def t_write(self, data):
        tls = self.tls and not self._up  # the first write under TLS waits out the handshake
        await write(self, data)
        if tls:
            used("after the TLS handshake")

    def patch(xl):
        authenticate = xl.authenticate

        async def c_authenticate(c, features):
            await authenticate(c, features)
            used("after SASL")

        xl.authenticate = c_authenticate

    T.write = t_write
    at_each_login(patch)


def phases():
    got = dict(marks)
    out = {}
    prev = got["t0"]
    for name in ORDER:
        out[name] = time.ticks_diff(got[name], prev)
        prev = got[name]
    out["total"] = time.ticks_diff(prev, got["t0"])
    return out


async def login_once(c, kind):
    marks.clear()
    online = asyncio.Event()
    c.on_online[:] = [online.set]
    task = asyncio.create_task(c._connection())
    await asyncio.wait_for_ms(online.wait(), 20_000)
    row = phases()
    row["kind"] = kind
    row["mem"] = gc.mem_alloc()  # after the client's collection at the online point
    sock = c.transport.sock
    if kind == "warmup" and hasattr(sock, "cipher"):
        row["cipher"] = sock.cipher()
    # Log out politely (the client closes the stream when stopping), then allow a new run.
    c._stop.set()
    c._down.set()
    await task
    c._stop.clear()
    print(json.dumps(row))


async def logins(c, n):
    await login_once(c, "warmup")
    for _ in range(n):
        c.sasl_cache = {}  # as the client makes it: no key cached
        await login_once(c, "uncached")
    for _ in range(n):
        await login_once(c, "cached")


def main():
    with open(sys.argv[2]) as f:
        cfg = json.load(f)
    with open(cfg["ca"], "rb") as f:
        ca_der = f.read()
    mode = sys.argv[3]
    log = Log(cfg["jid"].split("@")[0], 30 if mode == "login" else 20)
    if mode == "login":
        instrument()
        c = xc.Client(cfg, ca_der, log)
        asyncio.run(logins(c, int(sys.argv[4])))
    else:
        if mode == "phases":
            trace_heap()
        gc.collect()
        print("heap after imports: %d" % gc.mem_alloc())
        c = xc.Client(cfg, ca_der, log)
        gc.collect()
        print("heap with the client built: %d" % gc.mem_alloc())
        asyncio.run(c.run())


main()

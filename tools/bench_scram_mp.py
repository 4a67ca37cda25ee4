# Times SCRAM's PBKDF2 and a cached login under MicroPython.
# Usage: .venv/bin/micropython tools/bench_scram_mp.py
# One line per measurement: "<what> <ms> ms <bytes> B allocated"; best of REPEAT runs.
import gc
import hashlib
import sys
import time

import micropython

_here = __file__.rpartition("/")[0] or "."
sys.path.insert(0, _here + "/../lib")

from xmpp import scram  # noqa: E402

REPEAT = 3
# RFC 5802 §5 exchange (SCRAM-SHA-1, i=4096).
NONCE = b"fyko+d2lbbFgONRv9qkxdawL"
SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="


def measure(fn):
    best_us, churn = None, 0
    for _ in range(REPEAT):
        gc.collect()
        m0 = micropython.mem_total()
        t0 = time.ticks_us()
        fn()
        dt = time.ticks_diff(time.ticks_us(), t0)
        churn = micropython.mem_total() - m0
        best_us = dt if best_us is None else min(best_us, dt)
    return best_us / 1000, churn


def report(what, fn):
    ms, churn = measure(fn)
    print("%s %.2f ms %d B allocated" % (what, ms, churn))


def login(cache):
    c = scram.ScramClient("SCRAM-SHA-1", "user", "pencil", cache, NONCE)
    c.first()
    c.final(SERVER_FIRST)
    c.verify(SERVER_FINAL)


def main():
    print("micropython", ".".join(str(v) for v in sys.implementation.version[:3]))
    for name, h in (("sha1", hashlib.sha1), ("sha256", hashlib.sha256)):
        for n in (4096, 10000):
            report(
                "pbkdf2-%s i=%d" % (name, n),
                lambda h=h, n=n: scram.pbkdf2(h, b"pencil", b"salt", n),
            )
    report("login-sha1 i=4096 uncached", lambda: login(None))
    cache = scram.KeyCache()
    login(cache)
    report("login-sha1 i=4096 cached", lambda: login(cache))


main()

"""SCRAM cost on this host: MicroPython's xmpp.scram next to CPython's hashlib.pbkdf2_hmac.

Usage: python tools/bench_scram.py
Runs tools/bench_scram_mp.py under the venv's MicroPython, then prints the same PBKDF2 runs
done by CPython's C implementation, in the same "<what> <ms> ms" format.
"""

import hashlib
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 3


def micropython_binary():
    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else "micropython"


def cpython_pbkdf2(name, iterations):
    best = None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        hashlib.pbkdf2_hmac(name, b"pencil", b"salt", iterations)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best * 1000


def main():
    script = ROOT / "tools" / "bench_scram_mp.py"
    proc = subprocess.run([micropython_binary(), str(script)], capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    print("cpython", sys.version.split()[0])
    for name in ("sha1", "sha256"):
        for n in (4096, 10000):
            print("pbkdf2-%s i=%d %.2f ms" % (name, n, cpython_pbkdf2(name, n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

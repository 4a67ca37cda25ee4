"""Fuzz the XML layer and XEP-0323 request handling under MicroPython, on every core.

Usage: python tools/fuzz.py [--seed S] [--cases N] [--jobs J] [--heap SIZE]
       python tools/fuzz.py --seed S --case I [--shrink]     # replay one case

The cases [0, N) of seed S are split into J contiguous ranges, one MicroPython process each
(tools/fuzz_mp.py makes and checks the cases). A case is made from (S, index) alone, so a
violation is reproduced by its pair; --shrink also cuts the case down to the bytes that
still fail the same check. Prints the rate, every violation with its replay command, and
how the cases ended (error conditions of the XML cases, answers of the XEP-0323 cases).
Exit status 1 when there is any violation.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "tools" / "fuzz_mp.py"


def micropython():
    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else "micropython"


def engine_cmd(heap, *args):
    return [micropython(), "-X", "heapsize=" + heap, str(ENGINE), *map(str, args)]


def _env():
    return dict(os.environ, MICROPYPATH=".frozen")  # hermetic: no user libs


def replay(args):
    mode = "--shrink" if args.shrink else "--show"
    cmd = engine_cmd(args.heap, args.seed, args.case, mode)
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).splitlines():
        if "exception chaining" not in line:
            print(line)
    return 1 if "VIOLATION" in proc.stdout or proc.returncode else 0


def ranges(cases, jobs):
    per, extra = divmod(cases, jobs)
    first = 0
    for j in range(jobs):
        n = per + (j < extra)
        if n:
            yield first, n
        first += n


def run(args):
    t0 = time.monotonic()
    procs = []
    for first, count in ranges(args.cases, args.jobs):
        cmd = engine_cmd(args.heap, args.seed, first, count)
        p = subprocess.Popen(
            cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        procs.append((first, count, p))
    print(
        "fuzz: seed %d, %d cases in %d MicroPython processes (heap %s)"
        % (args.seed, args.cases, len(procs), args.heap)
    )
    violations = []
    stats = {}
    done = 0
    failed = []
    for first, count, p in procs:
        out, err = p.communicate()
        result = None
        for line in out.splitlines():
            if line.startswith("V "):
                violations.append(json.loads(line[2:]))
            elif line.startswith("R "):
                result = json.loads(line[2:])
        if p.returncode or result is None:
            failed.append((first, count, p.returncode, (out + err)[-2000:]))
            continue
        done += result["cases"]
        for k, v in result["stats"].items():
            stats[k] = stats.get(k, 0) + v
    secs = time.monotonic() - t0
    report(args, done, secs, violations, stats, failed)
    return 1 if violations or failed or done < args.cases else 0


def _table(title, items):
    total = sum(n for _, n in items) or 1
    print(title)
    for k, n in sorted(items, key=lambda kv: -kv[1]):
        print("  %-26s %7d  %5.1f%%" % (k, n, 100.0 * n / total))


def report(args, done, secs, violations, stats, failed):
    rate = done / secs if secs else 0.0
    print("cases: %d in %.1f s: %.0f cases/s" % (done, secs, rate))
    kinds = [(k[5:], n) for k, n in stats.items() if k.startswith("kind:")]
    xep = [(k[4:], n) for k, n in stats.items() if k.startswith("xep:")]
    xml = [(k, n) for k, n in stats.items() if ":" not in k]
    _table("case kinds:", kinds)
    _table("XML cases, by error condition of the whole feed (ok: none):", xml)
    _table("XEP-0323 cases: stream errors (ok: none), then iq answers sent:", xep)
    for first, count, code, tail in failed:
        print("process for cases %d..%d died (exit %s):" % (first, first + count - 1, code))
        print(tail)
    print("violations: %d" % len(violations))
    for v in violations:
        print("  seed %d case %d: %s: %s" % (v["seed"], v["case"], v["check"], v["detail"][:300]))
        print(
            "    replay: python tools/fuzz.py --seed %d --case %d --shrink"
            % (v["seed"], v["case"])
        )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--heap", default="1m", help="MicroPython heap per process")
    ap.add_argument("--case", type=int, help="replay this one case and show it")
    ap.add_argument("--shrink", action="store_true", help="with --case: cut the case down")
    args = ap.parse_args(argv)
    if args.case is not None:
        return replay(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

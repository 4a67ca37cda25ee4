"""Fuzz the XML layer and XEP-0323 request handling under MicroPython, on every core.

Usage: python tools/fuzz.py [--seed S] [--cases N] [--jobs J] [--heap SIZE] [--kind K]
       python tools/fuzz.py --seed S --case I [--shrink] [--kind K]   # replay one case

The cases [0, N) of seed S are split into J contiguous ranges, one MicroPython process each
(tools/fuzz_mp.py makes and checks the cases). A case is made from (S, index) alone, so a
violation is reproduced by its pair; --shrink also cuts the case down to the bytes that
still fail the same check. Prints the rate, every violation with its replay command, and
how the cases ended (error conditions of the XML cases, answers of the XEP-0323 cases, what
the whole-Thing stanza cases (tools/fuzz_thing_mp.py) were answered). --kind runs only
cases of one kind (grammar, corpus, xep, thing), each still made from (S, index).
Then as many documents of seed S go through the differential check against CPython's expat
(tools/fuzz_expat.py: does ours read exactly the documents expat reads, with the same
events?); --kind expat runs only that, and replays its documents with --case.
Exit status 1 when there is any violation or difference.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import fuzz_expat

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "tools" / "fuzz_mp.py"
MEM_SLACK = 2048  # as in fuzz_mp.py
HEAP_WARM, HEAP_SLACK = 40, 8192  # as in fuzz_thing_mp.py


def micropython():
    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else "micropython"


def engine_cmd(heap, *args):
    return [micropython(), "-X", "heapsize=" + heap, str(ENGINE), *map(str, args)]


def _env():
    return dict(os.environ, MICROPYPATH=".frozen")  # hermetic: no user libs


def replay(args):
    if args.kind == "expat":
        return fuzz_expat.show(args.seed, args.case, args.shrink)
    mode = "--shrink" if args.shrink else "--show"
    cmd = engine_cmd(args.heap, args.seed, args.case, mode, *_kind(args))
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).splitlines():
        if "exception chaining" not in line:
            print(line)
    return 1 if "VIOLATION" in proc.stdout or proc.returncode else 0


def _kind(args):
    return (args.kind,) if args.kind else ()


def ranges(cases, jobs):
    per, extra = divmod(cases, jobs)
    first = 0
    for j in range(jobs):
        n = per + (j < extra)
        if n:
            yield first, n
        first += n


class Job:
    """One MicroPython process and what it has said so far."""

    def __init__(self, args, first, count):
        self.first, self.count = first, count
        cmd = engine_cmd(args.heap, args.seed, first, count, *_kind(args))
        self.p = subprocess.Popen(
            cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.progress = 0
        self.result = None
        self.violations = []
        self.tail = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("V "):
                v = json.loads(line[2:])
                self.violations.append(v)
                print("  violation: seed %d case %d: %s" % (v["seed"], v["case"], v["check"]))
            elif line.startswith("P "):
                self.progress = int(line[2:])
            elif line.startswith("R "):
                self.result = json.loads(line[2:])
            elif "exception chaining" not in line:
                self.tail = (self.tail + [line])[-20:]


def run(args):
    if args.kind == "expat":
        return run_expat(args)
    code = run_mp(args)
    return code if args.kind else run_expat(args) or code  # --kind: that kind only


def run_mp(args):
    t0 = time.monotonic()
    jobs = [Job(args, first, count) for first, count in ranges(args.cases, args.jobs)]
    print(
        "fuzz: seed %d, %d cases in %d MicroPython processes (heap %s)"
        % (args.seed, args.cases, len(jobs), args.heap),
        flush=True,
    )
    while any(j.reader.is_alive() for j in jobs):
        for j in jobs:
            j.reader.join(timeout=30 / len(jobs))
        n = sum(j.progress for j in jobs)
        if n:
            secs = time.monotonic() - t0
            print("  %d/%d cases, %.0f cases/s" % (n, args.cases, n / secs), flush=True)
    violations = []
    stats = {}
    done = 0
    failed = []
    for j in jobs:
        code = j.p.wait()
        violations += j.violations
        if code or j.result is None:
            tail = "".join(j.tail)
            failed.append((j.first, j.count, code, tail))
            continue
        done += j.result["cases"]
        for k, v in j.result["stats"].items():
            if k.startswith("max:"):
                stats[k] = max(stats.get(k, v), v)
            else:
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
    thing = [(k[6:], n) for k, n in stats.items() if k.startswith("thing:")]
    _table("case kinds:", kinds)
    if xml:
        _table("XML cases, by error condition of the whole feed (ok: none):", xml)
    if xep:
        _table("XEP-0323 cases: stream errors (ok: none), then iq answers sent:", xep)
    if thing:
        _table("Thing cases: answers sent, requests ended, stream errors:", thing)
        grown = stats.get("max:thing_heap_growth")
        if grown is not None:
            print(
                "memory: heap in use grew at most %d bytes from the %dth thing case of a"
                " process to its end (bound %d)" % (grown, HEAP_WARM, HEAP_SLACK)
            )
    held = stats.get("max:held_over_max_stanza")
    if held is not None:
        print(
            "memory: the tokenizer held at most max_stanza %+d bytes at a chunk boundary"
            " (bound: max_stanza + read size (<= 512) + %d)" % (held, MEM_SLACK)
        )
    for first, count, code, tail in failed:
        print("process for cases %d..%d died (exit %s):" % (first, first + count - 1, code))
        print(tail)
    print("violations: %d" % len(violations))
    for v in violations:
        print("  seed %d case %d: %s: %s" % (v["seed"], v["case"], v["check"], v["detail"][:300]))
        print(
            "    replay: python tools/fuzz.py --seed %d --case %d --shrink%s"
            % (v["seed"], v["case"], " --kind " + args.kind if args.kind else "")
        )


def run_expat(args):
    t0 = time.monotonic()
    head = "expat: seed %d, %d documents, ours in up to %d MicroPython processes"
    print(head % (args.seed, args.cases, args.jobs), flush=True)
    last = [t0]

    def progress(n):
        now = time.monotonic()
        if now - last[0] >= 30:
            last[0] = now
            print("  %d/%d documents, %.0f/s" % (n, args.cases, n / (now - t0)), flush=True)

    done, found, stats = fuzz_expat.run(args.seed, 0, args.cases, args.jobs, args.heap, progress)
    secs = time.monotonic() - t0
    print("documents: %d in %.1f s: %.0f documents/s" % (done, secs, done / secs if secs else 0))
    _table("expat's verdict (design: refused by ours on purpose):", _prefixed(stats, "expat:"))
    _table("ours (incomplete: an element or token left open):", _prefixed(stats, "ours:"))
    print("differences from expat: %d" % len(found))
    for d in found:
        print("  seed %d case %d: %s: %s" % (d["seed"], d["case"], d["check"], d["detail"][:300]))
        print("    document: %r" % d["doc"][:600])
        print(
            "    replay: python tools/fuzz.py --seed %d --case %d --shrink --kind expat"
            % (d["seed"], d["case"])
        )
    return 1 if found or done < args.cases else 0


def _prefixed(stats, prefix):
    return [(k[len(prefix) :], n) for k, n in stats.items() if k.startswith(prefix)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--heap", default="1m", help="MicroPython heap per process")
    ap.add_argument("--case", type=int, help="replay this one case and show it")
    ap.add_argument("--shrink", action="store_true", help="with --case: cut the case down")
    kinds = ("grammar", "corpus", "xep", "thing", "expat")
    ap.add_argument("--kind", choices=kinds, help="only these")
    args = ap.parse_args(argv)
    if args.case is not None:
        return replay(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

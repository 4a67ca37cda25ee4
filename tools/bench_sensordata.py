"""XEP-0323 benchmark: our sensor (host board firmware) against slixmpp 1.17's sensor.

Usage: python tools/bench_sensordata.py
One private Prosody (nagle = false) serves both sensors and the requesters. The requester
is slixmpp's xep_0323 plugin (threaded False) in this process, the same code for both
sensors. Ours is the firmware on the host board (tools/run-host, MPY=1, 512k heap) in its
own process; slixmpp's is tools/slixsensor.py (threaded False, one node with two static
momentary fields) in a CPython process of its own. The anchor is slixmpp's sensor.

1. Round trip, request sent -> final `done` callback, ROUNDTRIPS sequential requests per
   node, the nodes taking turns in BLOCKS blocks: median and p95.
2. Sustained readouts per second: 4 requester accounts, each with one request in flight
   at all times, for SUSTAIN_S seconds per sensor in SLICES turns, reading LIKE_NODE on
   ours (two momentary fields, as slixmpp's node); with the CPU time each process used.
3. Heap: bisect -X heapsize (1 KiB steps) for the smallest heap at which the firmware from
   .mpy serves HEAP_READOUTS readouts to 4 requesters in flight (a full session table),
   bench_xmpp.CONFIRM times in a row; and heap in use per session, from
   tools/bench_sensordata_mp.py (the Thing in-process). Then the same bisection with the
   code in place from a ROMFS image of build/mpy (tools/run-host ROMFS=), less the image.
"""

import asyncio
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

ROUNDTRIPS = 500
WARMUP = 20
BLOCKS = 10  # round trips: the sensors take turns in this many blocks
SUSTAIN_S = 10
SLICES = 4  # sustained: the sensors take turns in this many slices
HEAP_READOUTS = 1000
HEAP_TARGET_KB = 48
REQUESTERS = ("r1", "r2", "r3", "r4")
ACCOUNTS = {"sensor": "sensor-secret", "slixsensor": "slix-secret", "requester": "req-secret"}
ACCOUNTS.update({r: r + "-secret" for r in REQUESTERS})
FINAL = ("done", "rejected", "failure", "cancelled")
MOMENTARY = {"momentary": "true"}
# (label, node) read on our board, by momentary fields: mcu and adc-34 one, sht4x-44 two
# (Temperature, Humidity: the same readout as slixmpp's Device22), bme280-76 three. The
# chips' conversions are simulated with their datasheet times.
OUR_NODES = (
    ("mcu", "mcu"),
    ("adc-34", "adc-34"),
    ("sht4x-44", "sht4x-44"),
    ("bme280-76", "bme280-76"),
)
# The node the sustained rows read on ours: two momentary fields, the answer slixmpp's
# Device22 gives (mcu has one; "each field costs both ends").
LIKE_NODE = "sht4x-44"


# -- slixmpp's sensor, in a process of its own (bench_sensordata.py --slixsensor ARGS) -----


def serve_slixsensor(args):
    import types

    import slixsensor
    from localxmpp.client import ClientLoop

    server = types.SimpleNamespace(
        domain=args["domain"],
        port=args["port"],
        ca_pem_path=args["ca_pem"],
        accounts={"slixsensor": args["password"]},
        jid=lambda u: "%s@%s" % (u, args["domain"]),
    )
    clients = ClientLoop()
    c = slixsensor.start(clients, server)
    print("online as %s" % c.jid, flush=True)
    try:
        clients.loop.run_forever()
    except KeyboardInterrupt:
        pass


def start_slixsensor(server, workdir):
    from hostboard import HostBoard, _live

    args = {
        "domain": server.domain,
        "port": server.port,
        "ca_pem": str(server.ca_pem_path),
        "password": ACCOUNTS["slixsensor"],
    }

    class SlixSensor(HostBoard):
        def start(self):
            import threading

            self.proc = subprocess.Popen(
                [sys.executable, __file__, "--slixsensor", json.dumps(args)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip
            _live.add(self.proc)
            threading.Thread(target=self._pump, daemon=True).start()
            return self

    fw = SlixSensor({}, Path(workdir) / "slixsensor").start()
    return fw, fw.wait_log(r"online as (\S+)", timeout=20).group(1)


# -- our requesters, in a MicroPython process of their own (tools/bench_load_mp.py) ---------


def start_our_requesters(server, workdir):
    """bench_load_mp.py with the REQUESTERS logged in as /mp (a HostBoard-like handle)."""
    from bench_xmpp import script_board

    cfg = {
        "ca": str(server.ca_der_path),
        "xmpp": {"host": "127.0.0.1", "port": server.port, "resource": "mp", "ping_s": 30},
        "requesters": [{"jid": server.jid(r), "password": server.accounts[r]} for r in REQUESTERS],
    }
    load = script_board("bench_load_mp.py", cfg, Path(workdir) / "load", 512).start()
    load.wait_log(r"LOAD online", timeout=30)
    return load


def load_run(load, seconds, to, node):
    """(done, bad dict, elapsed s) of one `run` command: one request in flight per requester."""
    after = load.mark()
    load.proc.stdin.write(b"run %s %s %s\n" % (str(seconds).encode(), to.encode(), node.encode()))
    load.proc.stdin.flush()
    m = load.wait_log(r"LOAD done=(\d+) bad=(\{.*\}) elapsed_ms=(\d+)", seconds + 30, after)
    return int(m.group(1)), json.loads(m.group(2)), int(m.group(3)) / 1e3


# -- measurements ------------------------------------------------------------------------


def cpu_s(pid):
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path("/proc/%d/stat" % pid).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def roundtrips(req, to, node, n, out, bad):
    """Append to `out` the seconds from request to final callback of n sequential requests."""
    for _ in range(n):
        t0 = time.perf_counter()
        seqnr = req.request(to, nodeIds=[node], flags=MOMENTARY)
        rs = req.wait(seqnr, timeout=10)
        final = rs[-1][0]
        if final != "done":
            bad[final] = bad.get(final, 0) + 1
        else:
            out.append(req.times[seqnr] - t0)


def interleaved_roundtrips(req, targets):
    """{label: (times, bad)}: the targets take turns in blocks, after a warm-up each."""
    res = {label: ([], {}) for label, _, _ in targets}
    for _label, to, node in targets:
        roundtrips(req, to, node, WARMUP, [], {})
    for _ in range(BLOCKS):
        for label, to, node in targets:
            roundtrips(req, to, node, ROUNDTRIPS // BLOCKS, *res[label])
    return res


def p95(xs):
    return sorted(xs)[max(0, int(round(0.95 * len(xs))) - 1)]


class Chain:
    """One requester keeping exactly one request in flight, re-sending on each final answer."""

    def __init__(self, req, to, node):
        self.req, self.to, self.node = req, to, node
        self.plugin = req.plugin
        self.loop = req.client.loop
        self.running = False
        self.in_flight = False
        self.done = 0
        self.bad = {}
        self.last = time.monotonic()

    def go(self):
        if not self.running:
            return
        self.in_flight = True
        self.plugin.request_data(
            self.req.jid, self.to, self._cb, nodeIds=[self.node], flags=MOMENTARY
        )

    def _cb(self, from_jid, result, nodeId=None, timestamp=None, fields=None, error_msg=None):
        if result not in FINAL:
            return
        self.in_flight = False
        self.last = time.monotonic()
        if result == "done":
            self.done += 1
        else:
            self.bad[result] = self.bad.get(result, 0) + 1
        self.loop.call_soon(self.go)


def run_chains(reqs, to, node, seconds=None, readouts=None, stall_s=5.0):
    """Keep one request in flight per requester; until `seconds` pass or `readouts` are done.

    Returns (done, bad dict, elapsed s, stalled)."""
    chains = [Chain(r, to, node) for r in reqs]
    loop = reqs[0].client.loop

    async def drive():
        t0 = time.monotonic()
        for c in chains:
            c.running = True
            c.go()
        stalled = False
        while True:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            if seconds is not None and now - t0 >= seconds:
                break
            if readouts is not None and sum(c.done for c in chains) >= readouts:
                break
            if any(c.bad for c in chains):
                break
            if now - max(c.last for c in chains) > stall_s:
                stalled = True
                break
        for c in chains:
            c.running = False
        end = time.monotonic() + stall_s
        while any(c.in_flight for c in chains) and time.monotonic() < end:
            await asyncio.sleep(0.005)
        # The answers to the requests still in flight count as done: so does their time (as in
        # tools/bench_load_mp.py, whose elapsed_ms ends with the last answer).
        elapsed = time.monotonic() - t0
        stalled = stalled or any(c.in_flight for c in chains)
        return elapsed, stalled

    elapsed, stalled = loop.run_until_complete(drive())
    bad = {}
    for c in chains:
        for k, v in c.bad.items():
            bad[k] = bad.get(k, 0) + v
    return sum(c.done for c in chains), bad, elapsed, stalled


def slix_chains(reqs):
    """A runner: slixmpp's requesters in this process, one request in flight each."""

    def run(seconds, to, node):
        t0 = time.process_time()
        done, bad, elapsed, stalled = run_chains(reqs, to, node, seconds=seconds)
        return done, bad, elapsed, stalled, time.process_time() - t0

    return run


def mp_chains(load):
    """A runner: our requesters (start_our_requesters), one request in flight each."""

    def run(seconds, to, node):
        t0 = cpu_s(load.proc.pid)
        done, bad, elapsed = load_run(load, seconds, to, node)
        return done, bad, elapsed, False, cpu_s(load.proc.pid) - t0

    return run


def sustained(targets, prosody_pid):
    """{label: (readouts/s, done, bad, stalled, cpu s by process)}, targets taking turns.

    A target is (label, runner, to, node, sensor pid); the runners are slix_chains/mp_chains."""
    acc = {}
    for _ in range(SLICES):
        for label, runner, to, node, pid in targets:
            pids = {"sensor": pid, "prosody": prosody_pid}
            before = {k: cpu_s(p) for k, p in pids.items()}
            done, bad, elapsed, stalled, req_cpu = runner(SUSTAIN_S / SLICES, to, node)
            cpu = {k: cpu_s(p) - before[k] for k, p in pids.items()}
            cpu["requesters"] = req_cpu
            a = acc.setdefault(label, [0, {}, False, {}, 0.0])
            a[0] += done
            for k, v in bad.items():
                a[1][k] = a[1].get(k, 0) + v
            a[2] = a[2] or stalled
            for k, v in cpu.items():
                a[3][k] = a[3].get(k, 0) + v
            a[4] += elapsed
    return {label: (a[0] / a[4], a[0], a[1], a[2], a[3]) for label, a in acc.items()}


# -- heap ----------------------------------------------------------------------------------


def board_cfg(server, user="sensor"):
    from hostboard import board_config

    return board_config(server, user, allow=("requester",) + REQUESTERS)


def heap_trial(server, reqs, workdir, heap_kb, romfs=None):
    from bench_xmpp import wait_online
    from hostboard import HostBoard

    where = Path(workdir) / ("heap-%d" % heap_kb)
    fw = HostBoard(board_cfg(server), where, "%dk" % heap_kb, True, romfs).start()
    try:
        m = wait_online(fw)
        if m is None:
            return False, None, "no login"
        done, bad, _, stalled = run_chains(reqs, m.group(1), "mcu", readouts=HEAP_READOUTS)
        if bad or stalled or done < HEAP_READOUTS:
            why = "%d done, %r%s" % (done, bad, " stalled" * stalled)
            worst = [ln for ln in fw.log.splitlines() if ln[:2] in ("E ", "W ")]
            return False, int(m.group(2)), why + (" (%s)" % worst[-1] if worst else "")
        if fw.count("online as") != 1 or fw.count("out of memory|MemoryError"):
            return False, int(m.group(2)), "reconnected or ran out of memory"
        return True, int(m.group(2)), "ok"
    finally:
        fw.stop()


def wait_log_looping(fw, req, pattern, after, timeout=10.0):
    """wait_log's first group, running the requesters' loop meanwhile (stanzas go out)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fw.wait_log(pattern, 0.01, after).group(1)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            req.settle(0.02)


def session_heap(server, reqs, workdir):
    """Heap in use with 0..4 sessions parked at gates (second round), and the load peak."""
    from bench_xmpp import script_board

    fw = script_board("bench_sensordata_mp.py", board_cfg(server), Path(workdir) / "inproc", 512)
    fw.start()
    try:
        to = fw.wait_log(r"online as (\S+)", timeout=20).group(1)
        parked = {}
        for _round in range(2):  # the first round loads what the first readouts import
            # Past the sensor's 250 ms coalescing window, so the gates are really read.
            reqs[0].settle(0.4)
            wait_log_looping(fw, reqs[0], r"parked live=0 heap=(\d+)", 0)
            parked[0] = int(re.findall(r"^parked live=0 heap=(\d+)$", fw.log, re.M)[-1])
            for i, r in enumerate(reqs):
                at = fw.mark()
                r.request(to, nodeIds=["gate-%d" % i], flags=MOMENTARY)
                parked[i + 1] = int(
                    wait_log_looping(fw, r, r"parked live=%d heap=(\d+)" % (i + 1), at)
                )
            wait_log_looping(fw, reqs[0], r"parked live=0 heap=(\d+)", at)  # all done
        done, bad, _, stalled = run_chains(reqs, to, "mcu", readouts=400)
        peaks = [
            (int(m.group(1)), int(m.group(2)))
            for m in re.finditer(r"^peak heap=(\d+) live=(\d+)$", fw.log, re.M)
        ]
        return parked, peaks[-1] if peaks else None, (done, bad, stalled)
    finally:
        fw.stop()


# -- main ----------------------------------------------------------------------------------


def main():
    from bench_xmpp import bisect_heap, build_mpy, print_romfs_rows, sim_heap
    from hostboard import HostBoard, heap_blocks, romfs_image
    from localxmpp import Prosody
    from localxmpp.client import ClientLoop
    from sdrequester import SDRequester

    logging.getLogger().setLevel(logging.ERROR)  # slixmpp: "Unknown stanza interface"
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # unretrieved IqErrors: counted
    build_mpy()
    with (
        tempfile.TemporaryDirectory(prefix="bench-sd-") as workdir,
        Prosody() as server,
        ClientLoop() as clients,
    ):
        server.register_all(ACCOUNTS)
        ours = HostBoard(board_cfg(server), Path(workdir) / "board", "512k", True).start()
        our_jid = ours.wait_log(r"online as (\S+)", timeout=20).group(1)
        slix, slix_jid = start_slixsensor(server, workdir)
        req = SDRequester(clients, server, "requester")
        reqs = [SDRequester(clients, server, r) for r in REQUESTERS]
        import slixsensor

        print("Prosody on loopback (nagle = false); requester: slixmpp 1.17 xep_0323, threaded")
        print("False, in this process; sensors: ours = host board firmware (run-host, MPY=1,")
        print("512k heap), slixmpp's = tools/slixsensor.py in its own CPython process")

        # 1. round trips
        targets = [("slixmpp " + slixsensor.NODE, slix_jid, slixsensor.NODE)]
        targets += [("ours " + label, our_jid, node) for label, node in OUR_NODES]
        rows = list(interleaved_roundtrips(req, targets).items())
        anchor = statistics.median(rows[0][1][0])
        print("\nround trip request -> done, %d sequential requests per node in %d turns"
              " (after %d warm-up); load average %.1f" % (ROUNDTRIPS, BLOCKS, WARMUP,
                                                        os.getloadavg()[0]))  # fmt: skip
        print("  %-22s %10s %10s %9s  %s" % ("sensor node", "median ms", "p95 ms", "ratio", ""))
        for label, (times, bad) in rows:
            med = statistics.median(times)
            print("  %-22s %10.2f %10.2f %8.2fx  %s"
                  % (label, med * 1e3, p95(times) * 1e3, med / anchor,
                     "not done: %r" % bad if bad else ""))  # fmt: skip
        print("  ratio: median / slixmpp's median; target for ours: <= 0.70x.  Like for like:")
        print("  sht4x-44 (two momentary fields, as Device22); each field costs both ends")
        print("  (ours coalesces readouts of a node less than 250 ms apart: back-to-back")
        print("  requests mostly get the last reading; slixmpp's node serves static values)")

        # 2. sustained readouts with 4 requesters
        print("\nsustained readouts/s, 4 requesters each with one request in flight, %d s"
              " per row in %d turns; ours: node %s, slixmpp's: %s (two momentary fields each):"
              % (SUSTAIN_S, SLICES, LIKE_NODE, slixsensor.NODE))  # fmt: skip
        load = start_our_requesters(server, workdir)
        slix_rq, mp_rq = slix_chains(reqs), mp_chains(load)
        anchor_label = "slixmpp -> slixmpp"
        sus = sustained(
            [
                (anchor_label, slix_rq, slix_jid, slixsensor.NODE, slix.proc.pid),
                ("slixmpp -> ours", slix_rq, our_jid, LIKE_NODE, ours.proc.pid),
                ("ours -> ours", mp_rq, our_jid, LIKE_NODE, ours.proc.pid),
            ],
            server.pid,
        )
        load.stop()
        base = sus[anchor_label][0]
        head = ("requesters -> sensor", "per s", "ratio", "readouts", "sensor cpu",
                "prosody cpu", "reqs cpu")  # fmt: skip
        print("  %-20s %7s %7s %9s %12s %12s %12s" % head)
        for label, (rate, done, bad, stalled, cpu) in sus.items():
            print("  %-20s %7.0f %6.2fx %9d %10.2f s %10.2f s %10.2f s  %s"
                  % (label, rate, rate / base, done, cpu["sensor"], cpu["prosody"],
                     cpu["requesters"], ("errors: %r" % bad if bad else "")
                     + (" STALLED" if stalled else "")))  # fmt: skip
        print("  CPU per readout (ms):  sensor  prosody  requesters  total")
        per = {}
        for label, (_, done, _, _, cpu) in sus.items():
            ms = {k: v / max(1, done) * 1e3 for k, v in cpu.items()}
            per[label] = ms["sensor"]
            print("  %-20s %7.3f %8.3f %11.3f %6.3f" % (label, ms["sensor"], ms["prosody"],
                  ms["requesters"], sum(ms.values())))  # fmt: skip
        mine, anchor = per["slixmpp -> ours"], per[anchor_label]
        print("  sensor capacity, readouts per second of its own CPU: ours %.0f, slixmpp %.0f"
              " (%.2fx)" % (1e3 / mine, 1e3 / anchor, anchor / mine))  # fmt: skip
        print("  target: >= 2x slixmpp's readouts/s.  slixmpp -> ours swaps the sensor only;")
        print("  ours -> ours is our stack at both ends (four Clients with a Requester each, in")
        print("  one MicroPython process from .mpy) against slixmpp's at both ends.  2 cores")
        print("  are shared by Prosody, the requesters and the sensor; the table has 4 slots,")
        print("  so 4 requests in flight: the rate is 4 / round trip.  The sensor's own share")
        print("  is its capacity: what it would serve with a core to itself")
        ours.stop()
        slix.stop()

        # 3. heap
        print("\nheap (firmware from .mpy, host board's 5 nodes, 4 sessions always in flight):")
        parked, peak, (done, bad, stalled) = session_heap(server, reqs, workdir)
        print("  heap in use after gc.collect(), sessions parked inside a readout (in-process):")
        print("    " + "  ".join("%d: %d B" % (k, v) for k, v in sorted(parked.items())))
        per = [(parked[k] - parked[0]) / k for k in range(1, 5)]
        print("    per session: " + ", ".join("%.0f" % p for p in per) + " B (k=1..4)")
        if peak:
            print(
                "  high-water under load (sampled after collect at each fields/failure send,"
                " %d readouts%s):" % (done, ", errors %r" % bad if bad or stalled else "")
            )
            print("    %d B with %d live = %+d B over idle, %.0f B per live session"
                  % (peak[0], peak[1], peak[0] - parked[0],
                     (peak[0] - parked[0]) / max(1, peak[1])))  # fmt: skip
        t0 = time.perf_counter()
        kb, used, trials = bisect_heap(lambda h: heap_trial(server, reqs, workdir, h), 128, 384)
        if kb is None:
            print("  smallest -X heapsize: > %d KiB (%s)" % (trials[-1][0], trials[-1][2]))
        else:
            print("  smallest -X heapsize serving %d readouts: %d KiB (%.2fx the %d KiB target;"
                  " heap in use when online: %d B)" % (HEAP_READOUTS, kb, kb / HEAP_TARGET_KB,
                                                       HEAP_TARGET_KB, used))  # fmt: skip
            fails = "; ".join("%dk %s" % (h, why[:110]) for h, ok, why in trials if not ok)
            print("  failures seen: %s  (%.0f s)" % (fails or "none", time.perf_counter() - t0))
        image = romfs_image()
        rom = heap_blocks(image.stat().st_size)
        base = -(-rom // 1024)
        t0 = time.perf_counter()
        kb, used, trials = bisect_heap(
            lambda h: heap_trial(server, reqs, workdir, h, image), base + 64, base + 384
        )
        label = "serving %d readouts (run-host, ROMFS=)" % HEAP_READOUTS
        print_romfs_rows([(label, kb, used, trials)], rom, image.stat().st_size, "job")
        print("  (%.0f s)" % (time.perf_counter() - t0))
        print("  (the host board's chip simulators are in these figures: %d B of heap for their"
              % sim_heap())  # fmt: skip
        print("  sim_* modules, which a board does not load; not subtracted)")
        print("  (mbedTLS buffers are malloc'd outside the MicroPython heap on the unix port;")
        print("  on an ESP32 they come from the IDF heap, ~20 KB per TLS session, not counted)")
        print("  load average at the end: %.1f (other work on this machine shows up here)"
              % os.getloadavg()[0])  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--slixsensor":
        serve_slixsensor(json.loads(sys.argv[2]))
    else:
        main()

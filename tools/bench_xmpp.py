"""XMPP client benchmark: login time against slixmpp, and the smallest heap that serves pings.

Usage: python tools/bench_xmpp.py
One private Prosody (STARTTLS, SCRAM-SHA-1, 10000 PBKDF2 iterations: localxmpp's accounts
and Prosody 0.12's default_iteration_count; EC P-256 server certificate) serves both sides.

Login: our client under MicroPython (tools/bench_xmpp_mp.py, libraries from build/mpy) and
slixmpp 1.17 under CPython, each in its own process, each timed at the same boundaries:
TCP connected, <proceed/>, TLS handshake done, features over TLS, SASL success, bind
result, presence sent after the roster. slixmpp runs in a process that does not import
localxmpp.client, so its SCRAM is stock (pure-Python PBKDF2); a second run swaps in
hashlib's PBKDF2 as localxmpp.client does for tests. Medians over ROUNDS x LOGINS logins
(the columns take turns; every process does one warm-up login first). The anchor is stock
slixmpp's median login.

Heap: bisect -X heapsize (1 KiB steps) for the smallest heap at which the bare Client from
.mpy (its driver script too) logs in over TLS and answers 1000 pings from a slixmpp client,
CONFIRM times in a row, then the same for the full firmware (Thing with the host board's
five nodes, tools/run-host with MPY=1; the heap its chip simulators hold is printed). Both
again with the code in place from a ROMFS image of build/mpy (tools/romfs_mp.py reads it
into the heap first and mounts it at /rom): the smallest heap less the image is what a board
with frozen or ROMFS code needs on x64. With the code in place, the bare client's heap in
use at points of its login (imports, Client built, TLS handshake, SASL, online).
"""

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

LOGINS = 5  # per round and column
ROUNDS = 3  # the columns take turns, so a load change on the machine hits them alike
PINGS = 1000
HEAP_TARGET_KB = 48
CONFIRM = 3  # runs in a row a heap size must pass (bisect_heap)
PHASES = ("tcp", "proceed", "handshake", "features", "sasl", "bind", "presence", "total")
PHASE_NOTES = {
    "tcp": "connect()",
    "proceed": "clear header, features, <starttls/>",
    "handshake": "TLS handshake",
    "features": "header + features over TLS",
    "sasl": "SCRAM-SHA-1, i=10000",
    "bind": "restart, features, bind",
    "presence": "roster, then presence",
    "total": "TCP connect -> presence sent",
}
ACCOUNTS = {
    "mp": "mp-secret",
    "slix": "slix-secret",
    "pinger": "pinger-secret",
    "thing": "thing-secret",
}


def tool(name):
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


# The drivers script_board runs, compiled to build/mpy/tools: a script run from source is
# compiled on the heap being measured, and its bytecode and names stay there (the bare
# Client's smallest heap counted them), which a board that loads .mpy files does not do.
SCRIPTS = ("bench_xmpp_mp", "bench_sensordata_mp", "bench_load_mp")


def build_mpy():
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "mpy_build.py"), str(ROOT / "build" / "mpy")],
        check=True,
        capture_output=True,
    )
    out = ROOT / "build" / "mpy" / "tools"
    out.mkdir(parents=True, exist_ok=True)
    for name in SCRIPTS:
        src = ROOT / "tools" / (name + ".py")
        subprocess.run([tool("mpy-cross"), "-o", str(out / (name + ".mpy")), str(src)], check=True)


# -- slixmpp, in a process of its own (run as: bench_xmpp.py --slixmpp-logins ARGS.json) ----


def slixmpp_logins(args):
    """Time args["n"] logins (after a warm-up) with stock or hashlib-patched slixmpp SCRAM."""
    import asyncio
    import hashlib
    import ssl

    from slixmpp import ClientXMPP
    from slixmpp.util.sasl import mechanisms

    if args["patched"]:

        def hi(self, text, salt, iterations):
            name = self.hash_name.replace("-", "").lower()
            return hashlib.pbkdf2_hmac(name, mechanisms.bytes(text), salt, iterations)

        mechanisms.SCRAM.Hi = hi

    class Timed(ClientXMPP):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.marks = []
            self.done = None
            for ev in ("connected", "tls_success", "auth_success", "session_bind"):
                self.add_event_handler(ev, lambda *_, ev=ev: self.mark(ev))
            self.add_event_handler("session_start", self._started)

        def mark(self, name):
            self.marks.append((name, time.perf_counter()))

        async def _handle_stream_features(self, features):
            self.mark("features")
            return await super()._handle_stream_features(features)

        async def start_tls(self):
            self.mark("proceed")
            return await super().start_tls()

        async def _started(self, _):
            # The same work as ours before presence: fetch the roster, then announce.
            await self.get_roster()
            self.send_presence()
            self.mark("presence")
            self.done.set_result(None)

    loop = asyncio.new_event_loop()

    def make():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=args["ca_pem"])
        x = Timed(args["jid"] + "/bench", args["password"], loop=loop, ssl_context=ctx)
        x.enable_starttls, x.enable_direct_tls, x.enable_plaintext = True, False, False
        return x

    async def login(x):
        x.marks = []
        x.done = loop.create_future()
        t0 = time.perf_counter()
        x.connect("127.0.0.1", args["port"])
        await asyncio.wait_for(x.done, 20)
        names = [n for n, _ in x.marks]
        # tcp, features, proceed, tls_success, features, auth_success, features, bind, presence
        seq = [
            ("tcp", "connected", 0),
            ("proceed", "proceed", 0),
            ("handshake", "tls_success", 0),
            ("features", "features", 1),
            ("sasl", "auth_success", 0),
            ("bind", "session_bind", 0),
            ("presence", "presence", 0),
        ]
        row, prev = {}, t0
        for phase, name, nth in seq:
            i = [k for k, n in enumerate(names) if n == name][nth]
            t = x.marks[i][1]
            row[phase] = (t - prev) * 1e6
            prev = t
        row["total"] = (prev - t0) * 1e6
        tr = x.transport.get_extra_info("ssl_object")
        row["cipher"] = [tr.cipher()[0], tr.version()] if tr else None
        row["mech"] = x.plugin["feature_mechanisms"].mech.name
        await x.disconnect(wait=2)
        return row

    async def run():
        rows = []
        x = make()
        warm = await login(x)
        warm["kind"] = "warmup"
        rows.append(warm)
        for _ in range(args["n"]):
            row = await login(make())  # a fresh client per login
            row["kind"] = "login"
            rows.append(row)
        for _ in range(args["n"]):
            row = await login(x)  # the same client reconnecting
            row["kind"] = "reconnect"
            rows.append(row)
        return rows

    rows = loop.run_until_complete(run())
    for row in rows:
        print(json.dumps(row))


def run_slixmpp(server, patched):
    args = {
        "jid": server.jid("slix"),
        "password": ACCOUNTS["slix"],
        "port": server.port,
        "ca_pem": str(server.ca_pem_path),
        "n": LOGINS,
        "patched": patched,
    }
    proc = subprocess.run(
        [sys.executable, __file__, "--slixmpp-logins", json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode:
        raise RuntimeError("slixmpp logins failed:\n" + proc.stderr[-3000:])
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


# -- ours ----------------------------------------------------------------------------------


def client_config(server, user, **extra):
    cfg = {
        "jid": server.jid(user),
        "password": ACCOUNTS[user],
        "host": "127.0.0.1",
        "port": server.port,
        "ca": str(server.ca_der_path),
        "ping_s": 30,
    }
    cfg.update(extra)
    return cfg


def run_ours(server, workdir):
    path = Path(workdir) / "login.json"
    path.write_text(json.dumps(client_config(server, "mp")))
    proc = subprocess.run(
        [tool("micropython"), "-X", "heapsize=512k", str(ROOT / "tools" / "bench_xmpp_mp.py"),
         str(ROOT / "build" / "mpy"), str(path), "login", str(LOGINS)],
        capture_output=True, text=True, timeout=300, env={"MICROPYPATH": ".frozen"},
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError("MicroPython logins failed:\n" + proc.stdout + proc.stderr[-3000:])
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def medians(rows, kind):
    """Each phase's median in ms, and "rest": the median of each login's time outside its
    handshake and SASL (medians do not add up: a difference of them can even be negative)."""
    rows = [r for r in rows if r["kind"] == kind]
    out = {p: statistics.median(r[p] for r in rows) / 1000 for p in PHASES}
    out["rest"] = statistics.median(r["total"] - r["handshake"] - r["sasl"] for r in rows) / 1000
    return out


def print_logins(columns, anchor):
    names = list(columns)
    print("  %-10s" % "phase (ms)" + "".join("%13s" % n for n in names) + "   what")
    for p in PHASES:
        cells = "".join("%13.1f" % columns[n][p] for n in names)
        print("  %-10s%s   %s" % (p, cells, PHASE_NOTES[p]))
    ratio = "".join("%12.2fx" % (columns[n]["total"] / columns[anchor]["total"]) for n in names)
    print("  %-10s%s   total / %s total" % ("ratio", ratio, anchor))


# -- heap bisection -------------------------------------------------------------------------


def script_board(script, config, workdir, heap_kb, *args, romfs=None):
    """A HostBoard (log, wait_log, stop) running tools/SCRIPT under MicroPython, the script
    and the libraries from .mpy (build_mpy), or in place from `romfs`, an image of build/mpy
    (hostboard.romfs_image, after build_mpy), as tools/run-host's ROMFS= does; its stdin is
    a pipe, for scripts that take commands."""
    import os
    import threading

    from hostboard import HostBoard, _live

    module = script.removesuffix(".py")
    assert module in SCRIPTS, script
    tree = "/rom" if romfs else str(ROOT / "build" / "mpy")
    heap = "heapsize=%dk" % heap_kb
    if romfs:
        run = [tool("micropython"), "-X", heap, str(ROOT / "tools" / "romfs_mp.py"), str(romfs)]
    else:
        run = [tool("micropython"), "-X", heap, "-m"]

    class ScriptBoard(HostBoard):
        def start(self):
            self.proc = subprocess.Popen(
                run + [module, tree, str(self.config_path), *args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                cwd=ROOT, env=dict(os.environ, MICROPYPATH=".frozen:%s/tools" % tree),
            )  # fmt: skip
            _live.add(self.proc)  # killed at exit whatever happens
            threading.Thread(target=self._pump, daemon=True).start()
            return self

    return ScriptBoard(config, workdir)


def _mp_client_board(server, workdir, heap_kb, romfs=None, mode="serve"):
    cfg = client_config(server, "mp")
    where = Path(workdir) / "client"
    return script_board("bench_xmpp_mp.py", cfg, where, heap_kb, mode, romfs=romfs)


def _thing_board(server, workdir, heap_kb, romfs=None):
    from hostboard import HostBoard, board_config

    cfg = board_config(server, "thing")
    where = Path(workdir) / ("thing-%d" % heap_kb)
    return HostBoard(cfg, where, heap="%dk" % heap_kb, mpy=True, romfs=romfs)


def wait_online(fw, timeout=20):
    """The "online as" match, or None when the board ran out of memory, died or timed out."""
    try:
        m = fw.wait_log(r"online as (\S+) \(heap in use: (\d+)\)|out of memory|Error", timeout)
    except AssertionError:
        return None
    return m if m.group(1) else None


def ping_trial(make_board, pinger, heap_kb):
    """(passed, heap in use at login or None, why) for one heap size."""
    fw = make_board(heap_kb).start()
    try:
        m = wait_online(fw)
        if m is None:
            return False, None, "no login"
        jid, used = m.group(1), int(m.group(2))
        for i in range(PINGS):
            try:
                pinger.ping(jid, timeout=3)
            except Exception as e:  # noqa: BLE001 - any failure fails this heap size
                return False, used, "ping %d: %s" % (i, type(e).__name__)
        if not fw.alive():
            return False, used, "exited"
        if fw.count("online as") != 1 or fw.count("out of memory|MemoryError"):
            return False, used, "reconnected or ran out of memory"
        return True, used, "ok"
    finally:
        fw.stop()


def bisect_heap(trial, lo_kb, hi_kb, confirm=CONFIRM):
    """Smallest passing heap in KiB, assuming monotony; (kb, used, trials) or (None, ...).

    A size passes only when `confirm` trials in a row pass: near the bound a run passes or
    not by the timing of the network reads, and one lucky run must not set the figure. The
    lower bound is tried too (halved while it passes): a figure is never just the bound + 1.
    """
    trials = []

    def passes(kb):
        used = None
        for _ in range(confirm):
            ok, used, why = trial(kb)
            trials.append((kb, ok, why))
            if not ok:
                return False, None
        return True, used

    ok, best_used = passes(hi_kb)
    if not ok:
        return None, None, trials
    while True:
        ok, used = passes(lo_kb)
        if not ok:
            break
        hi_kb, best_used = lo_kb, used
        if lo_kb <= 1:
            return hi_kb, best_used, trials
        lo_kb //= 2
    while hi_kb - lo_kb > 1:
        mid = (lo_kb + hi_kb) // 2
        ok, used = passes(mid)
        if ok:
            hi_kb, best_used = mid, used
        else:
            lo_kb = mid
    return hi_kb, best_used, trials


HEAP_POINTS = (
    ("imports", r"heap after imports: (\d+)"),
    ("built", r"heap with the client built: (\d+)"),
    ("tls", r"heap after the TLS handshake: (\d+)"),
    ("sasl", r"heap after SASL: (\d+)"),
    ("online", r"heap in use: (\d+)"),
)


def heap_breakdown(server, workdir, romfs=None):
    """Heap in use (bytes, after a collection) at points of the bare client's start."""
    fw = _mp_client_board(server, workdir, 512, romfs, "phases" if romfs else "serve").start()
    try:
        wait_online(fw)
        log = fw.log
    finally:
        fw.stop()
    out = {}
    for key, rx in HEAP_POINTS:
        m = re.search(rx, log)
        out[key] = int(m.group(1)) if m else -1
    return out


def client_buffers(server):
    """The bare client's own buffers (bytes): (max_stanza, out_buffer, read_chunk)."""
    out = subprocess.run(
        [tool("micropython"), "-c", CLIENT_BUFFERS % (str(ROOT / "build" / "mpy"),
         json.dumps(client_config(server, "mp")))],
        capture_output=True, text=True, check=True, timeout=60, env={"MICROPYPATH": ".frozen"},
    ).stdout.split()  # fmt: skip
    return [int(x) for x in out]


CLIENT_BUFFERS = """
import json, sys
sys.path[:0] = [%r + "/lib"]
from xmpp.options import Options
o = Options(json.loads(%r))
print(o.max_stanza, o.out_buffer, o.read_chunk)
"""


SIM_MODULES = """
import sys
sys.path[:0] = [%r + "/lib", %r + "/boards/host"]
import board
board.nodes({})
print(" ".join(sorted(sys.modules)))
"""
SIM_HEAP = """
import gc, sys
sys.path[:0] = [%r + "/lib", %r + "/boards/host"]
for m in %r:
    __import__(m)
gc.collect()
before = gc.mem_alloc()
for m in %r:
    __import__(m)
gc.collect()
print(gc.mem_alloc() - before)
"""


def sim_heap():
    """Heap (B) held by the host board's simulated chips and buses, the code of the sim_*
    modules its default chips load: a part of the host firmware's heap a board does not
    have (its drivers talk to real chips)."""
    tree = str(ROOT / "build" / "mpy")
    cmd = [tool("micropython"), "-X", "heapsize=512k", "-c"]
    env = {"MICROPYPATH": ".frozen"}
    run = dict(capture_output=True, text=True, check=True, env=env, timeout=60)
    loaded = subprocess.run(cmd + [SIM_MODULES % (tree, tree)], **run).stdout.split()
    sims = [m for m in loaded if m.startswith("sim_")]
    rest = [m for m in loaded if m not in sims and m != "board"]
    return int(subprocess.run(cmd + [SIM_HEAP % (tree, tree, rest, sims)], **run).stdout)


def print_romfs_rows(rows, rom, size, job):
    """The ROMFS bisections' rows: smallest heapsize less the image (`rom` bytes of heap)."""
    print("the same %s with the code in place from a ROMFS image of build/mpy (%d B, %d B of"
          % (job, size, rom))  # fmt: skip
    print("  heap: read into the heap first, tools/romfs_mp.py): what a board with frozen or")
    print("  ROMFS code needs on x64 (pointers still 64-bit) = smallest heapsize - the image:")
    for label, kb, used, trials in rows:
        if kb is None:
            print("  %-52s  > %d KiB (failed: %s)" % (label, trials[-1][0], trials[-1][2]))
            continue
        need = (kb * 1024 - rom) / 1024
        print("  %-52s %6.1f KiB  (%d KiB - image; %.2fx the %d KiB target; heap in use"
              % (label, need, kb, need / HEAP_TARGET_KB, HEAP_TARGET_KB))  # fmt: skip
        print("  %-52s  when online less the image: %d B)" % ("", used - rom))
        fails = "; ".join("%dk %s" % (h, why[:110]) for h, ok, why in trials if not ok)
        print("  %-52s  failures seen: %s" % ("", fails or "none"))


def heap_section(server, workdir):
    from hostboard import heap_blocks, romfs_image
    from localxmpp.client import ClientLoop

    logging.getLogger().setLevel(logging.ERROR)
    image = romfs_image()
    size = image.stat().st_size
    rom = heap_blocks(size)
    rom_kb = -(-rom // 1024)
    with ClientLoop() as clients:
        pinger = clients.connect(server, "pinger")
        t0 = time.perf_counter()
        rows, rom_rows = [], []
        for out, romfs, base in ((rows, None, 0), (rom_rows, image, rom_kb)):
            for label, make, lo, hi in (
                ("Client only (bench_xmpp_mp.py serve)",
                 lambda kb, r=romfs: _mp_client_board(server, workdir, kb, r), 32, 256),
                ("full Thing, host board's 5 nodes (run-host, MPY=1)"
                 if romfs is None else "full Thing, host board's 5 nodes (run-host, ROMFS=)",
                 lambda kb, r=romfs: _thing_board(server, workdir, kb, r), 64, 512),
            ):  # fmt: skip
                trial = lambda h, m=make: ping_trial(m, pinger, h)  # noqa: E731
                kb, used, trials = bisect_heap(trial, base + lo, base + hi)
                out.append((label, kb, used, trials))
        elapsed = time.perf_counter() - t0
    print("smallest -X heapsize that logs in over TLS and answers %d pings (from .mpy):" % PINGS)
    for label, kb, used, trials in rows:
        if kb is None:
            print("  %-52s  > %d KiB (failed: %s)" % (label, trials[-1][0], trials[-1][2]))
            continue
        print(
            "  %-52s %4d KiB  (%.2fx the %d KiB target; heap in use when online: %d B)"
            % (label, kb, kb / HEAP_TARGET_KB, HEAP_TARGET_KB, used)
        )
        fails = "; ".join("%dk %s" % (h, why[:110]) for h, ok, why in trials if not ok)
        print("  %-52s  failures seen: %s" % ("", fails or "none"))
    print_romfs_rows(rom_rows, rom, size, "job")
    b = heap_breakdown(server, workdir)
    print("  bare client at 512k: %d B in use after importing its modules from .mpy, %d B"
          % (b["imports"], b["built"]))  # fmt: skip
    print("  with the Client built (buffers: outbox, stanza, read chunk), %d B online"
          % b["online"])  # fmt: skip
    r = heap_breakdown(server, workdir, image)
    stanza, out, chunk = client_buffers(server)
    print("  bare client at 512k, code in place (ROMFS), heap in use less the image, after a")
    print("  collection at each point: imports %d B, Client built %d B, TLS handshake done %d B,"
          % tuple(r[k] - rom for k in ("imports", "built", "tls")))  # fmt: skip
    print("  SASL done %d B, online %d B; the Client's own buffers: output %d B (out_buffer),"
          % (r["sasl"] - rom, r["online"] - rom, out))  # fmt: skip
    print("  read chunk %d B (read_chunk); a partial stanza is held up to %d B (max_stanza)"
          % (chunk, stanza))  # fmt: skip
    print("  the full Thing's figure counts the host board's chip simulators, %d B of heap for"
          % sim_heap())  # fmt: skip
    print("  their sim_* modules, which a board does not load (not subtracted: a smallest heap")
    print("  is no sum of parts; from ROMFS only their objects are on the heap)")
    print("  (bisected in 1 KiB steps; a size passes when %d runs in a row do, each: first login"
          % CONFIRM)  # fmt: skip
    print("  succeeds, every ping answered within 3 s, one login only, no MemoryError; the")
    print("  driver script runs from .mpy too (in place, from ROMFS).  On the unix port mbedTLS")
    print("  allocates its buffers with malloc, outside the MicroPython heap; on an ESP32 they")
    print("  come from the IDF heap, ~20 KB per TLS session, on top of these figures.  %.0f s)"
          % elapsed)  # fmt: skip
    print("  load average at the end: %.1f (other work on this machine shows up here)"
          % os.getloadavg()[0])  # fmt: skip


# -- main ------------------------------------------------------------------------------------


def main():
    from localxmpp import Prosody

    build_mpy()
    with tempfile.TemporaryDirectory(prefix="bench-xmpp-") as workdir, Prosody() as server:
        server.register_all(ACCOUNTS)
        iterations = server.scram_iterations or 10000
        print(
            "Prosody on loopback, STARTTLS, SCRAM-SHA-1 with %d iterations, EC P-256 cert;"
            " %d logins per column in %d rounds, medians; load average %.1f"
            % (iterations, LOGINS * ROUNDS, ROUNDS, os.getloadavg()[0])
        )
        ours, stock, patched = [], [], []
        for _ in range(ROUNDS):
            ours += run_ours(server, workdir)
            stock += run_slixmpp(server, patched=False)
            patched += run_slixmpp(server, patched=True)
        columns = {
            "slixmpp": medians(stock, "login"),
            "slix-reconn": medians(stock, "reconnect"),
            "slix-hashlib": medians(patched, "login"),
            "ours": medians(ours, "uncached"),
            "ours-cached": medians(ours, "cached"),
        }
        print("login time, TCP connect -> presence sent (anchor: stock slixmpp login):")
        print_logins(columns, "slixmpp")
        ow = next(r for r in ours if r["kind"] == "warmup")
        sw = next(r for r in stock if r["kind"] == "warmup")
        print(
            "  slixmpp: CPython %s, %s, %s; SCRAM in pure Python (stock); slix-reconn: the"
            % (sys.version.split()[0], " ".join(sw["cipher"]), sw["mech"])
        )
        print("    same client reconnecting (slixmpp keeps no SCRAM keys); slix-hashlib: Hi()")
        print("    swapped for hashlib.pbkdf2_hmac, as localxmpp.client does for the tests")
        print(
            "  ours: MicroPython unix port from build/mpy, -X heapsize=512k, %s; ours-cached:"
            % " ".join(ow.get("cipher") or ["cipher unknown"])
        )
        print("    reconnect with the salted password cached per (mechanism, salt, iterations)")
        print("  target: ours <= 1.0x slixmpp: uncached %.2fx, cached %.2fx"
              % (columns["ours"]["total"] / columns["slixmpp"]["total"],
                 columns["ours-cached"]["total"] / columns["slixmpp"]["total"]))  # fmt: skip
        o, sx = columns["ours"], columns["slixmpp"]
        print("  where the time goes: TLS handshake %.1f ms (mbedTLS, TLS 1.2 ECDHE-ECDSA P-256)"
              " vs %.1f ms" % (o["handshake"], sx["handshake"]))  # fmt: skip
        print("    (OpenSSL, TLS 1.3); SCRAM %.1f ms (our PBKDF2 in MicroPython) vs %.1f ms"
              % (o["sasl"], sx["sasl"]))  # fmt: skip
        print(
            "    (slixmpp's pure-Python Hi) and %.1f ms with hashlib; the rest together %.1f ms"
            % (columns["slix-hashlib"]["sasl"], o["rest"])
        )
        print("    vs %.1f ms (medians of each login's rest)" % sx["rest"])
        rsa_logins(workdir)
        heap_section(server, workdir)


def rsa_logins(workdir):
    """The same logins against a Prosody whose certificate (and CA) is RSA-2048.

    mbedTLS verifies an RSA signature (public exponent 65537) much faster than an ECDSA
    one, and an ECDHE-RSA handshake has one ECDSA verification fewer to do.
    """
    from localxmpp import CertificateAuthority, Prosody

    with Prosody(ca=CertificateAuthority.shared("rsa")) as server:
        server.register_all(ACCOUNTS)
        ours, stock = [], []
        for _ in range(ROUNDS):
            ours += run_ours(server, workdir)
            stock += run_slixmpp(server, patched=False)
        columns = {
            "slixmpp": medians(stock, "login"),
            "ours": medians(ours, "uncached"),
            "ours-cached": medians(ours, "cached"),
        }
        print("the same with an RSA-2048 server certificate (ECDHE-RSA):")
        print_logins(columns, "slixmpp")
        print("  target: ours <= 1.0x slixmpp: uncached %.2fx, cached %.2fx"
              % (columns["ours"]["total"] / columns["slixmpp"]["total"],
                 columns["ours-cached"]["total"] / columns["slixmpp"]["total"]))  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--slixmpp-logins":
        slixmpp_logins(json.loads(sys.argv[2]))
    else:
        main()

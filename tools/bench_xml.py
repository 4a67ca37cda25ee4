"""Benchmark the xmlstream parser against CPython's expat on the same generated XMPP stream.

    .venv/bin/python tools/bench_xml.py        (or through tools/bench.py)

The stream (~100 KB, deterministic) has a header, features, presences with caps, chat
messages with entities and non-ASCII text, XEP-0323 req iqs and fields messages. Ours runs
in the MicroPython unix port from .mpy files (tools/mpy_build.py output), fed in 512-byte
chunks; expat and ElementTree.XMLPullParser run here, fed the same chunks.
Printed: throughput, ratio to expat, bytes allocated per input byte, smallest heap.
"""

import random
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


def run_mp(path, mode, heap="2m", repeat=5):
    env = {"MICROPYPATH": str(MPY / "lib")}
    cmd = [micropython(), "-X", "heapsize=" + heap, str(ROOT / "tools" / "bench_xml_mp.py")]
    cmd += [str(path), mode, str(CHUNK), str(repeat)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def mp_result(path, mode, processes=3):
    """Best time over a few processes (shared machines are noisy), allocation of one run."""
    best = None
    for _ in range(processes):
        proc = run_mp(path, mode)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                _, _, size, us, alloc = line.split()
                t = int(us) / 1e6
                best = t if best is None or t < best else best
                break
        else:
            raise RuntimeError("micropython %s failed: %s" % (mode, proc.stdout + proc.stderr))
    return best, int(alloc)


def smallest_heap(path):
    """Bisect -X heapsize (in KiB) for a whole-stream parse with stanza building."""
    lo, hi = 2, 256
    if run_mp(path, "heap", "%dk" % hi, 1).returncode:
        return None
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        ok = run_mp(path, "heap", "%dk" % mid, 1).stdout.strip() == "OK"
        if ok:
            hi = mid
        else:
            lo = mid
    return hi


def main():
    import mpy_build

    built, failures = mpy_build.build(MPY)
    mine = [f for f in failures if "xmlstream" in f]
    if mine:
        raise RuntimeError("mpy-cross failed: " + "; ".join(mine))
    data = generate()
    mb = len(data) / 1e6
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        f.write(data)
        path = Path(f.name)
    try:
        t_exp = expat_events(data)
        t_exp_ns = expat_events(data, ns=True)
        t_pull = pullparser(data)
        t_ev, a_ev = mp_result(path, "events")
        t_bd, a_bd = mp_result(path, "build")
        heap = smallest_heap(path)
    finally:
        path.unlink()
    print("stream: %d bytes, fed in %d-byte chunks" % (len(data), CHUNK))
    rows = [
        ("CPython expat, null handlers", t_exp, None),
        ("CPython expat, namespaces, null handlers", t_exp_ns, None),
        ("CPython ElementTree.XMLPullParser", t_pull, None),
        ("MicroPython xmlstream tokenizer, null handler", t_ev, a_ev),
        ("MicroPython xmlstream XMLStream (stanzas built)", t_bd, a_bd),
    ]
    for label, t, alloc in rows:
        line = "  %-50s %7.2f MB/s  %5.2fx expat" % (label, mb / t, t_exp / t)
        if alloc is not None:
            line += "  %5.1f B allocated per input byte" % (alloc / len(data))
        print(line)
    print(
        "  smallest -X heapsize for the whole stream (XMLStream, .mpy): %s"
        % ("%d KiB" % heap if heap else "failed even at 256 KiB")
    )


if __name__ == "__main__":
    main()

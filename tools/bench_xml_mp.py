# Run by the MicroPython unix port (see tools/bench_xml.py), compiled to .mpy and with
# MICROPYPATH pointing at the .mpy build, so nothing is compiled on the heap (as on a board).
#   micropython -m bench_xml_mp FILE MODE [CHUNK [REPEAT]]
# MODE: events (tokenizer, null handler), build (XMLStream, stanzas built, null sink),
#       heap (build once, print OK: for bisecting -X heapsize), heap-events (the same with
#       the tokenizer alone, null handler),
#       live (heap in use after a collection: before and after the import, with a new
#       parser, after the whole stream),
#       blocks (heap blocks allocated by one parse with the collector off, events then
#       build: a count any port can make, the 32-bit WebAssembly one included, which
#       lacks micropython.mem_total()).
#       strs (REPEAT rounds of 1000 values decoded, each a new str, FILE unused: what the
#       lookup among the interned strings that every new str goes through costs, by the
#       difference of two counts of instructions).
import gc
import sys
import time

import micropython

MODE = sys.argv[2]
CHUNK = int(sys.argv[3]) if len(sys.argv) > 3 else 512
REPEAT = int(sys.argv[4]) if len(sys.argv) > 4 else 5


class NullHandler:
    def start(self, name, attrs, ns):
        pass

    def end(self, name):
        pass

    def text(self, s):
        pass


class NullSink:
    def __init__(self):
        self.stanzas = 0

    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        self.stanzas += 1

    def stream_error(self, el):
        pass

    def stream_end(self):
        pass


def parser(mode=None):
    if (mode or MODE) == "events":
        from xmlstream.tokenizer import Tokenizer

        return Tokenizer(NullHandler())
    from xmlstream.stream import XMLStream

    return XMLStream(NullSink())


def run(p, data):
    mv = memoryview(data)
    n = len(data)
    i = 0
    while i < n:
        p.feed(mv[i : i + CHUNK])
        i += CHUNK


def stream_file(p):
    # Like a socket loop: one preallocated receive buffer, the input never all in RAM.
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    with open(sys.argv[1], "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return
            p.feed(mv[:n])


def live():
    gc.collect()
    base = gc.mem_alloc()
    from xmlstream.stream import XMLStream

    gc.collect()
    imported = gc.mem_alloc()
    p = XMLStream(NullSink())
    gc.collect()
    made = gc.mem_alloc()
    stream_file(p)
    gc.collect()
    print("LIVE %d %d %d %d" % (base, imported - base, made - imported, gc.mem_alloc() - made))


def blocks():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    out = []
    for mode in ("events", "build"):
        p = parser(mode)
        run(p, data)  # caches filled, as in the timed runs after the first
        p.reset()
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        run(p, data)
        out.append(gc.mem_alloc() - a0)
        gc.enable()
    print("BLOCKS %d %d %d" % (len(data), out[0], out[1]))


def strs():
    values = [b"%d.%d" % (i, i * 7) for i in range(1000)]
    for _ in range(REPEAT):
        for v in values:
            v.decode()  # not interned: each round looks every value up again


def main():
    if MODE == "strs":
        strs()
        return
    if MODE == "blocks":
        blocks()
        return
    if MODE in ("heap", "heap-events"):
        stream_file(parser("events" if MODE == "heap-events" else "build"))
        print("OK")
        return
    if MODE == "live":
        live()
        return
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    p = parser()
    best = None
    alloc = 0
    for _ in range(REPEAT):
        p.reset()
        m0 = micropython.mem_total()
        t0 = time.ticks_us()
        run(p, data)
        dt = time.ticks_diff(time.ticks_us(), t0)
        alloc = micropython.mem_total() - m0
        best = dt if best is None or dt < best else best
    print("RESULT %s %d %d %d" % (MODE, len(data), best, alloc))


main()

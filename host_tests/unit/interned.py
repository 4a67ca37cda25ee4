"""Whether code leaves heap behind for strings it was given: MicroPython interns, for good,
every one-character str (from indexing or iterating over a str, or from chr()), so code that
does that to text from the network fills the heap with each character it has not seen."""

import gc

from xmlstream.utf8 import put


def held(call, before, after, count=300, error=ValueError):
    """Heap bytes still held after call(s) for `count` strs `before` + c + `after` (bytes
    around c), each c a CJK character not used in the others; `error`: what call may
    raise. A first call outside the count takes what is held once (code, caches)."""

    def one(cp):
        b = bytearray(before)
        put(b, cp)
        b.extend(after)
        try:
            call(b.decode())
        except error:
            pass

    one(0x4DFF)
    gc.collect()
    start = gc.mem_alloc()
    for cp in range(0x4E00, 0x4E00 + count):
        one(cp)
    gc.collect()
    return gc.mem_alloc() - start

"""A bounded per-node history: the last N readouts, oldest overwritten first.

Only the node's momentary fields are kept (the sensor serves no other kind as history), each
in a fixed slot of one buffer taken when the node is made. A board samples every minute for
months: keeping each sample's own tuple and strings would leave hundreds of small objects of
varying size on the heap at any time, renewed one by one, which fragments it.
"""

from array import array

from micropython import const

_SLOT = const(12)  # bytes per value: a length, then up to 11 bytes of UTF-8 ("-1013.25")
_NONE = const(255)  # length byte of a missing value (None, or one too long for a slot)
_TRUE = const(254)
_FALSE = const(253)


class History:
    def __init__(self, size, fields):
        self.times = array("L", [0] * size)  # Unix seconds: unsigned, good until 2106
        self.kept = tuple(i for i, f in enumerate(fields) if f[3] == "momentary")
        self.width = len(fields)
        self.stride = len(self.kept) * _SLOT  # bytes per sample
        self.buf = bytearray(size * self.stride)
        self.next = 0
        self.count = 0
        self.overwritten = 0
        self.too_long = 0  # values left out because they did not fit a slot

    def add(self, t, values):
        i = self.next
        n = len(self.times)
        if self.count == n:
            # The oldest sample, in slot i, goes before the slot is written, and the new one
            # counts only once whole: out of memory part way (an encode), no sample pairs a
            # time with another's values, nor an empty slot with a count.
            self.count -= 1
            self.overwritten += 1
        self.times[i] = t
        buf = self.buf
        o = i * self.stride
        for f in self.kept:
            v = values[f]
            if v is True or v is False:
                buf[o] = _TRUE if v else _FALSE
            elif v is None:
                buf[o] = _NONE
            else:
                b = v.encode() if isinstance(v, str) else str(v).encode()
                if len(b) < _SLOT:
                    buf[o] = len(b)
                    buf[o + 1 : o + 1 + len(b)] = b
                else:
                    buf[o] = _NONE
                    self.too_long += 1
            o += _SLOT
        self.count += 1
        self.next = (i + 1) % n

    def _values(self, i):
        out = [None] * self.width
        buf = self.buf
        o = i * self.stride
        for f in self.kept:
            k = buf[o]
            if k == _TRUE or k == _FALSE:
                out[f] = k == _TRUE
            elif k != _NONE:
                out[f] = buf[o + 1 : o + 1 + k].decode()
            o += _SLOT
        return out

    def between(self, t_from=None, t_to=None):
        """(time, values) of the samples within [t_from, t_to], oldest first; a field that is
        not kept (not momentary) reads as None."""
        n = len(self.times)
        count = self.count
        start = (self.next - count) % n
        # The sensor sends as it reads, and the sampler may add meanwhile: a slot reused
        # since holds a sample newer than the rest, out of order (or half of one, an add
        # that ran out of memory), so it is left out. add() counts an overwrite before it
        # writes, and overwrites the oldest first: the k-th since now is sample k's slot.
        gone = self.overwritten
        for k in range(count):
            if self.overwritten - gone > k:
                continue
            i = (start + k) % n
            t = self.times[i]
            if (t_from is None or t >= t_from) and (t_to is None or t <= t_to):
                yield t, self._values(i)

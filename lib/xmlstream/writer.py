"""Writer: serialized stanzas in one preallocated buffer with a hard size limit.

w = Writer(2048)
w.element(stanza)            # all or nothing; raises WriterFull when it does not fit
sock.write(w.pending())      # a memoryview, no copy
w.consume(sent)
"""

from xmlstream.element import CLIENT_NS


class WriterFull(Exception):
    pass


class Writer:
    def __init__(self, size):
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self._n = 0

    def __len__(self):
        return self._n

    def free(self):
        return len(self._buf) - self._n

    def write(self, piece):
        """Append a str (written as UTF-8) or bytes-like piece."""
        if type(piece) is str:
            piece = piece.encode()
        n = self._n
        m = n + len(piece)
        if m > len(self._buf):
            raise WriterFull("%d bytes do not fit" % (m - n))
        self._mv[n:m] = piece
        self._n = m

    def element(self, el, parent_ns=CLIENT_NS):
        """Append el serialized, or nothing at all if it does not fit (WriterFull) or cannot
        be written (e.g. a non-string attribute): half a stanza would corrupt the stream."""
        mark = self._n
        try:
            el.write(self, parent_ns)
        except Exception:
            self._n = mark
            raise

    def pending(self):
        return self._mv[: self._n]

    def consume(self, k):
        """Drop the first k bytes (they were sent)."""
        n = self._n
        if k >= n:
            self._n = 0
            return
        self._buf[: n - k] = self._mv[k:n]
        self._n = n - k

    def clear(self):
        self._n = 0

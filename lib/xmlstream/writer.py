"""Writer: serialized stanzas in one preallocated buffer with a hard size limit.

w = Writer(2048)
w.element(stanza)            # all or nothing; raises WriterFull when it does not fit
sock.write(w.pending())      # a memoryview, no copy
w.consume(sent)

Also legal(), which element.xml_chars calls for the strings that are not plain ASCII: kept
here, the parser (which imports element) does not load it.
"""

from xmlstream.element import CLIENT_NS
from xmlstream.errors import XMLError
from xmlstream.utf8 import check, put

_FFFD = b"\xef\xbf\xbd"  # U+FFFD REPLACEMENT CHARACTER
# Lead bytes that can start a sequence XML or RFC 3629 refuses (see utf8.check).
_LEADS = b"\xc0\xc1\xe0\xed\xef\xf0\xf4\xf5\xf6\xf7"


def legal(s, raw):
    """s (raw: its UTF-8), or a copy with U+FFFD for what XML 1.0 §2.2 cannot carry: C0
    controls but TAB, LF, CR; U+FFFE, U+FFFF; surrogates and overlong forms, which a
    MicroPython str can hold (chr(0xD800), b"\\xc0\\x80".decode()). A server would end the
    stream on any of them. Each surrogate pair becomes the character it encodes: MicroPython's
    json reads "\\ud83c\\udf21" as two surrogates."""
    if min(raw) < 32:
        w = raw.replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"")
        if w and min(w) < 32:
            return _repair(raw).decode()
    if len(raw) != len(s):
        if max(raw) < 0xE0 and b"\xc0" not in raw and b"\xc1" not in raw:
            return s  # two-byte characters only (U+0080..U+07FF: °, µ, é): all allowed
        try:
            check(raw)
        except XMLError:
            return _repair(raw).decode()
    return s


def _repair(raw):
    # One find per lead byte that may start a bad sequence: no loop over every byte.
    for c in range(32):
        if c != 9 and c != 10 and c != 13 and c in raw:
            raw = raw.replace(bytes((c,)), _FFFD)
    cuts = []
    for lead in _LEADS:
        k = raw.find(bytes((lead,)))
        while k >= 0:
            n = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            new = _FFFD
            c = raw[k + 1]
            if lead == 0xED and c >= 0xA0:  # a surrogate
                if c < 0xB0 and raw[k + 3 : k + 4] == b"\xed" and raw[k + 4] >= 0xB0:
                    # A high then a low surrogate: the character they encode.
                    hi = ((c & 0x0F) << 6) | (raw[k + 2] & 0x3F)
                    lo = ((raw[k + 4] & 0x0F) << 6) | (raw[k + 5] & 0x3F)
                    new = bytearray()
                    put(new, 0x10000 + (hi << 10) + lo)
                    new = bytes(new)
                    n = 6
            elif not (
                (lead == 0xE0 and c < 0xA0)
                or (lead == 0xEF and c == 0xBF and raw[k + 2] >= 0xBE)
                or (lead == 0xF0 and c < 0x90)
                or (lead == 0xF4 and c > 0x8F)
                or lead in (0xC0, 0xC1, 0xF5, 0xF6, 0xF7)
            ):
                new = None  # a well-formed character
            if new is not None:
                cuts.append((k, n, new))
            k = raw.find(bytes((lead,)), k + n)
    cuts.sort()
    out = []
    i = 0
    for k, n, new in cuts:
        out.append(raw[i:k])
        out.append(new)
        i = k + n
    out.append(raw[i:])
    return b"".join(out)


class WriterFull(Exception):
    """args[0]: the bytes the refused item needs, at least; more than the buffer's size
    exactly when it can never fit, so a caller can tell "not now" from "never"."""


class _Count:
    def __init__(self):
        self.n = 0

    def write(self, piece):
        self.n += len(piece.encode() if type(piece) is str else piece)


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
            raise WriterFull(m - n)
        self._mv[n:m] = piece
        self._n = m

    def element(self, el, parent_ns=CLIENT_NS):
        """Append el serialized, or nothing at all if it does not fit (WriterFull) or cannot
        be written (e.g. a non-string attribute): half a stanza would corrupt the stream."""
        mark = self._n
        try:
            el.write(self, parent_ns)
        except WriterFull as e:
            need = self._n - mark + e.args[0]
            self._n = mark
            if mark and need <= len(self._buf):
                # It may fit once the buffer has drained, or never: only its size says.
                c = _Count()
                el.write(c, parent_ns)
                need = c.n
            raise WriterFull(need)
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

"""Strict UTF-8 checks that MicroPython's bytes.decode() does not make.

decode() checks the structure of multi-byte sequences (lead byte, count of continuation bytes)
but accepts overlong forms, UTF-16 surrogates and code points above U+10FFFF (RFC 3629
section 3). Those are only possible after the lead bytes below, so an ASCII-only chunk costs
one decode and the rest is a handful of bytes.find calls.
"""

from xmlstream.errors import XMLError

_NEVER = (b"\xc0", b"\xc1", b"\xf5", b"\xf6", b"\xf7")
# Lead byte -> allowed range of the byte after it (RFC 3629 section 4, UTF8-3 and UTF8-4).
_GUARDED = (
    (b"\xe0", 0xA0, 0xBF),
    (b"\xed", 0x80, 0x9F),
    (b"\xf0", 0x90, 0xBF),
    (b"\xf4", 0x80, 0x8F),
)


def _bad(at):
    e = XMLError("not-well-formed", "invalid UTF-8")
    e.at = at  # index of the first bad byte in the chunk
    return e


def check(data, carry):
    """Check one chunk; carry is the pending (lo, hi) range from the previous chunk or None.

    Returns the range the next chunk's first byte must fall in, or None. The XMLError raised
    for a bad chunk has `at`: the index of its first bad byte.
    """
    if carry is not None and not carry[0] <= data[0] <= carry[1]:
        raise _bad(0)
    try:
        if len(data.decode()) == len(data):
            return None
    except UnicodeError:
        pass  # a sequence split at the chunk end, or broken: the tokens' decode() judges that
    last = len(data) - 1
    bad = last + 1
    for lead in _NEVER:
        k = data.find(lead, 0, bad)
        if k >= 0:
            bad = k
    nxt = None
    for lead, lo, hi in _GUARDED:
        k = data.find(lead, 0, bad)
        while k >= 0:
            if k == last:
                nxt = (lo, hi)
            elif not lo <= data[k + 1] <= hi:
                bad = k + 1
                break
            k = data.find(lead, k + 1, bad)
    if bad <= last:
        raise _bad(bad)
    return nxt

"""Strict UTF-8 and XML's characters: what MicroPython's bytes.decode() lets through.

decode() checks the structure of multi-byte sequences (lead byte, count of continuation bytes)
but accepts overlong forms, UTF-16 surrogates and code points above U+10FFFF (RFC 3629
sections 3 and 4). Those are only possible after the lead bytes below. The tokenizer decodes
every token it reports and calls check() only for tokens that decode to fewer characters than
bytes: ASCII costs nothing, and the finds (in C) run over the few non-ASCII tokens instead of
over every chunk. check() also refuses U+FFFE and U+FFFF, and controls() the C0 controls
other than TAB, LF and CR: XML 1.0 §2.2 has no such characters. In an attribute value, TAB,
LF and CR are read as spaces (spaces()), under the same one test for bytes below 32.
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


_NONCHARS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")  # U+FFFE, U+FFFF
# The C0 controls XML excludes (all but TAB, LF, CR), as one bytes object: sliced on use.
_C0 = bytes(c for c in range(32) if c not in (9, 10, 13))


def put(buf, c):
    """Append code point `c` (a valid one) to bytearray `buf` as UTF-8. Not chr(c):
    chr() interns the str it makes, and interned strings stay for good (a peer's &#x4E00;,
    &#x4E01;, ... would fill the heap); bytes and their decode() intern nothing."""
    if c < 0x80:
        buf.append(c)
        return
    if c < 0x800:
        buf.append(0xC0 | c >> 6)
    else:
        if c < 0x10000:
            buf.append(0xE0 | c >> 12)
        else:
            buf.append(0xF0 | c >> 18)
            buf.append(0x80 | c >> 12 & 0x3F)
        buf.append(0x80 | c >> 6 & 0x3F)
    buf.append(0x80 | c & 0x3F)


def check(raw):
    """Raise XMLError for raw (which decode() accepted) if it is not strict UTF-8 or holds
    a code point XML excludes."""
    for lead in _NEVER:
        if lead in raw:
            raise XMLError("not-well-formed", "invalid UTF-8")
    for nc in _NONCHARS:
        if nc in raw:
            raise XMLError("not-well-formed", "U+FFFE or U+FFFF")
    for lead, lo, hi in _GUARDED:
        k = raw.find(lead)
        while k >= 0:
            # decode() accepted raw, so a lead byte is never its last byte.
            if not lo <= raw[k + 1] <= hi:
                raise XMLError("not-well-formed", "invalid UTF-8")
            k = raw.find(lead, k + 1)


def controls(raw):
    """Raise XMLError if raw holds a C0 control other than TAB, LF, CR. Callers test
    min(raw) < 32 first (one pass in C), so only tokens with such bytes come here."""
    for k in range(len(_C0)):
        if _C0[k : k + 1] in raw:
            raise XMLError("not-well-formed", "control character %d" % _C0[k])


def spaces(raw):
    """An attribute value's literal TAB, LF, CR and CR LF, each as one space (XML 1.0 §3.3.3
    after §2.11: every attribute is CDATA without a DTD)."""
    raw = raw.replace(b"\r\n", b" ").replace(b"\r", b" ")
    return raw.replace(b"\n", b" ").replace(b"\t", b" ")


def decode(raw, attr=False):
    """bytes -> str, strictly (raises UnicodeError or XMLError); `attr`: an attribute value
    (or a part of one between references), its whitespace read as spaces()."""
    s = raw.decode()
    if len(s) != len(raw):
        check(raw)
    if raw and min(raw) < 32:  # one pass in C, rarely true: whitespace or a control
        controls(raw)
        if attr:
            s = spaces(raw).decode()
    return s

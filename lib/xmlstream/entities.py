"""Text slow paths: entity and character references (when a run has '&'), line ends (a CR)."""

import re

from micropython import const

from xmlstream.errors import XMLError
from xmlstream.utf8 import decode, put

_DEC = re.compile(b"#[0-9]+$")
_HEX = re.compile(b"#x[0-9A-Fa-f]+$")
_NAME = re.compile(b"[A-Za-z_:\x80-\xff][-A-Za-z0-9_.:\x80-\xff]*$")


def _char(ref):
    """The code point of a character reference (its name, b"#..."), checked: XML 1.0 §4.1
    (CharRef) and §2.2 (Char) allow only these."""
    if len(ref) > 40:  # bounds what the regular expressions see (they recurse per byte)
        # Leading zeros are allowed in any number: only what follows them is bounded.
        k = 2 if ref[1:2] == b"x" else 1
        ref = ref[:k] + b"0" + ref[k:].lstrip(b"0")
        if len(ref) > 40:
            raise XMLError("not-well-formed", "character reference too long")
    if _HEX.match(ref):
        digits, base = ref[2:], 16
    elif _DEC.match(ref):
        digits, base = ref[1:], 10
    else:
        raise XMLError("not-well-formed", "malformed character reference")
    digits = digits.lstrip(b"0")  # leading zeros are allowed
    if len(digits) > 7:  # U+10FFFF is 7 decimal digits, 6 hex
        raise XMLError("not-well-formed", "reference to an invalid code point")
    cp = int(digits, base) if digits else 0
    if cp < 0x20:
        if cp != 9 and cp != 10 and cp != 13:
            raise XMLError("not-well-formed", "reference to a control character")
    elif 0xD800 <= cp < 0xE000 or cp in (0xFFFE, 0xFFFF) or cp > 0x10FFFF:
        raise XMLError("not-well-formed", "reference to an invalid code point")
    return cp


# The predefined references but &amp;, which is replaced after them, so that '&amp;lt;'
# reads '&lt;'. A const(): the table keeps no name on the heap (see README, "Interned names").
_MARKS = const(
    (
        (b"&lt;", b"<"),
        (b"&gt;", b">"),
        (b"&quot;", b'"'),
        (b"&apos;", b"'"),
    )
)


def _plain(raw):
    """raw with its predefined references replaced, or None if some '&' starts none: once
    the others are replaced, every '&' left must start an &amp; (no replacement makes an
    '&', or puts one before an 'amp;'). A copy per kind, replaced in C, instead of two
    objects per reference (4 KB of '&amp;' took 70 KB of heap that way)."""
    for ref, ch in _MARKS:
        if ref in raw:
            raw = raw.replace(ref, ch)
    n = raw.count(b"&amp;")
    if raw.count(b"&") != n:
        return None
    return raw.replace(b"&amp;", b"&") if n else raw


def _predefined_at(raw, j):
    for ref, _ in _MARKS:
        if raw.startswith(ref, j):
            return True
    return raw.startswith(b"&amp;", j)


def unescape(raw, attr=False):
    """Decode UTF-8 bytes holding references (&amp; &#10; &#x263A;) into a str; `attr`: an
    attribute value, whose literal whitespace reads as spaces (a reference stays as is)."""
    s = _plain(raw)  # the usual case: only predefined entities
    if s is not None:
        return decode(s, attr)
    # Some '&' starts a character reference (or an error): read in order, each stretch
    # before one as a whole, so that its predefined references cost no objects either.
    out = []
    refs = None  # the characters of references in a row, as UTF-8: one str for them all
    k = 0  # the start of the stretch not read yet
    j = raw.find(b"&")
    while j >= 0:
        if not _predefined_at(raw, j):
            if j > k:
                # Every '&' before j starts a predefined reference: _plain reads the stretch.
                if refs:
                    out.append(refs.decode())
                    refs = None
                out.append(decode(_plain(raw[k:j]), attr))
            e = raw.find(b";", j)
            a = raw.find(b"&", j + 1)
            if e < 0 or 0 <= a < e:
                raise XMLError("not-well-formed", "'&' not starting a reference")
            name = raw[j + 1 : e]
            if name[:1] == b"#":
                if refs is None:
                    refs = bytearray()
                put(refs, _char(name))
            elif len(name) > 40:  # as in _char: the regular expression recurses per byte
                raise XMLError("not-well-formed", "entity reference too long")
            elif _NAME.match(name):
                raise XMLError("restricted-xml", "undefined entity")
            else:
                raise XMLError("not-well-formed", "malformed entity reference")
            k = e + 1
        j = raw.find(b"&", j + 1)
    if refs:
        out.append(refs.decode())
    out.append(decode(_plain(raw[k:]), attr))
    return "".join(out)


def lines(t):
    """XML 1.0 §2.11: CR LF and a lone CR in text are read as LF (a CR written as &#13; is
    a reference, untouched here)."""
    return t.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

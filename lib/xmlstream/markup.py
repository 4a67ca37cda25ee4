"""The tokenizer's slow paths: name validation (on cache misses), the XML declaration,
CDATA, the markup XMPP forbids anywhere (comments, processing instructions, DTD
declarations: RFC 6120 §11.1), and tags written unusually (both quote styles in one tag,
whitespace around '=', whitespace in end tags).

Everything here runs rarely; regular expressions only ever see short, bounded strings:
MicroPython's re recurses in C once per byte it matches (80 bytes of stack each on x64),
and a board's task stack is 16 KB.
"""

import re

from micropython import const

from xmlstream.entities import lines, unescape
from xmlstream.errors import XMLError
from xmlstream.utf8 import decode

# Bytes in a name together with its surrounding syntax. XMPP's names are short (below);
# this bounds what a peer's name costs the stack in re.
_NAME_MAX = const(128)
# Names are decoded and validated once, then cached: per cache at most _CACHE entries, of
# segments (a tag's head, b" name=") at most _CACHED bytes long. Every cache full of such
# segments (and the tokenizer's of its longest values) holds 37 KB on x64 (tools/fuzz_mp.py
# fill_caches); the bench's stream, 10.8 KB.
_CACHE = const(32)
# A server's names are short (27 bytes at most in our captures, 30 for the longest stanza
# error): a longer one is a peer's, and is parsed each time instead.
_CACHED = const(32)
# Attributes in one element: XMPP's have a handful (XEP-0323's <req> at most about 25). A tag
# costs the heap a few objects per attribute before the builder can weigh the stanza: a 4 KB
# tag of 600 short ones would take 250 KB (x64).
_ATTRS_MAX = const(64)
_WS = b" \t\r\n"
_QNAME = re.compile(
    b"[A-Za-z_\x80-\xff][-A-Za-z0-9_.\x80-\xff]*(:[A-Za-z_\x80-\xff][-A-Za-z0-9_.\x80-\xff]*)?$"
)
_BARE = re.compile(b"([^ \t\r\n]+)[ \t\r\n]*$")
_HEAD = re.compile(b"([^ \t\r\n]+)[ \t\r\n]+([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*$")
_KEY = re.compile(b"[ \t\r\n]+([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*$")
_PSEUDO = re.compile(b"[ \t\r\n]+([a-z]+)[ \t\r\n]*=[ \t\r\n]*('[^']*'|\"[^\"]*\")")
_VERSION = re.compile(b"1\\.[0-9]+$")
_DECLS = (b"<!DOCTYPE", b"<!ENTITY", b"<!ELEMENT", b"<!ATTLIST", b"<!NOTATION")
_OPENERS = (b"<!--", b"<![CDATA[") + _DECLS

NWF = "not-well-formed"
# Parser states, as in tokenizer.py
_START = const(0)
_PROLOG = const(1)


# XML 1.0 (5th edition) §2.3 beyond ASCII, as code point ranges: NameStartChar, and what
# NameChar adds. _QNAME lets every non-ASCII byte through; these judge the characters.
_START_CHARS = (
    (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x2FF), (0x370, 0x37D), (0x37F, 0x1FFF),
    (0x200C, 0x200D), (0x2070, 0x218F), (0x2C00, 0x2FEF), (0x3001, 0xD7FF),
    (0xF900, 0xFDCF), (0xFDF0, 0xFFFD), (0x10000, 0xEFFFF),
)  # fmt: skip
_MORE_CHARS = ((0xB7, 0xB7), (0x300, 0x36F), (0x203F, 0x2040))


def _within(c, ranges):
    for lo, hi in ranges:
        if lo <= c <= hi:
            return True
    return False


def _name_chars(raw):
    """Whether each non-ASCII character of a name (its bytes, valid UTF-8) may stand where it
    does (each part after a ':' starts anew). Runs once per name cached, and only for names
    that are not ASCII. Read from the bytes: each character of a str iterated over is
    interned, for good, and names come from the network."""
    first = True
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        i += 1
        if c < 0x80:
            first = c == 0x3A  # ':' starts a part anew
            continue
        more = 1 if c < 0xE0 else 2 if c < 0xF0 else 3  # continuation bytes
        c &= 0x3F >> more
        for _ in range(more):
            c = c << 6 | raw[i] & 0x3F
            i += 1
        if not (_within(c, _START_CHARS) or (not first and _within(c, _MORE_CHARS))):
            return False
        first = False
    return True


def _match(rx, raw):
    # Should the stack run short all the same (it is not measured on every board), the peer's
    # name is refused as one too long, not taken for the reader's own failure.
    try:
        return rx.match(raw)
    except RuntimeError:
        raise XMLError("policy-violation", "name too long") from None


def _qname(raw):
    """raw decoded as a name, or None if it is not a well-formed (qualified) name."""
    if _match(_QNAME, raw) is None:
        return None
    name = decode(raw)
    if len(name) != len(raw) and not _name_chars(raw):
        return None
    return name


def _name(raw):
    if len(raw) > _NAME_MAX:
        raise XMLError("policy-violation", "name too long")
    name = _qname(raw)
    if name is None:
        raise XMLError(NWF, "malformed name")
    return name


def _judged(k, stop):
    # A token judged by the byte at k: past the size limit, only the limit is reported.
    if k >= stop:
        raise XMLError("policy-violation", "stanza larger than the limit")


def _too_many():
    raise XMLError("policy-violation", "more than %d attributes in an element" % _ATTRS_MAX)


def _needs_ns(name):
    # xml: is bound by definition (XML Namespaces section 3); everything else with a prefix,
    # and xmlns itself, needs the builder's attention.
    return name == "xmlns" or (":" in name and not name.startswith("xml:"))


class Markup:
    # _head and _key return None for anything unusual; _tag_slow then reads the tag again.

    def _head(self, seg, with_attr):
        """Cache miss on a tag head: element name [and first attribute name]."""
        if len(seg) > _NAME_MAX:
            return None
        m = _match(_HEAD if with_attr else _BARE, seg)
        if m is None:
            return None
        rawn = m.group(1)
        name = _qname(rawn)
        if name is None:
            return None
        aname = None
        ns = ":" in name
        if with_attr:
            aname = _qname(m.group(2))
            if aname is None:
                return None
            ns = ns or _needs_ns(aname)
        hd = (name, rawn, aname, ns)
        # Cached, a long name would hold ~3 copies of itself for the rest of the run. A full
        # cache starts over, or the first names a peer sends would keep the real ones out.
        if len(seg) <= _CACHED:
            cache = self._heads if with_attr else self._tags
            if len(cache) >= _CACHE:
                cache.clear()
            cache[seg] = hd
        return hd

    def _key(self, seg):
        """Cache miss on an attribute segment (b" to="); returns (name, needs ns work)."""
        name = self._nskeys.get(seg)
        if name is not None:
            return name, True
        if len(seg) > _NAME_MAX:
            return None
        m = _match(_KEY, seg)
        name = None if m is None else _qname(m.group(1))
        if name is None:
            return None
        ns = _needs_ns(name)
        if len(seg) <= _CACHED:  # as in _head
            cache = self._nskeys if ns else self._keys
            if len(cache) >= _CACHE:
                cache.clear()
            cache[seg] = name
        return name, ns

    def _end_slow(self, b, i, r, stop):
        """An end tag that is not simply '</' + open name + '>'. Returns the '>' index or -1."""
        e = b.find(b">", i + 2)
        q = b.find(b"<", i + 1)
        if q >= 0 and (e < 0 or q < e):
            _judged(q, stop)
            raise XMLError(NWF, "'<' inside an end tag")
        if e < 0:
            return -1
        _judged(e, stop)
        if b[i + 2 : e].rstrip(_WS) != r:
            raise XMLError(NWF, "end tag does not match the open element")
        return e

    def _split(self, body, quote):
        """A long tag's body (without its last quote) split at `quote` (a byte value), unless
        it holds too many attributes: counted first (in C, no allocation), as the split would
        cost the heap."""
        q = b"'" if quote == 39 else b'"'
        if body.count(q) + 1 > 2 * _ATTRS_MAX:
            _too_many()
        return body.split(q)

    def _tag_slow(self, b, i, lim):
        """A start tag parsed attribute by attribute. Returns None when incomplete."""
        k = i + 1
        while k < lim and b[k] not in b" \t\r\n/>":
            k += 1
        if k >= lim:
            return None
        rawn = b[i + 1 : k]
        name = _name(rawn)
        ns = ":" in name
        attrs = {}
        while True:
            j = k
            while k < lim and b[k] in _WS:
                k += 1
            if k >= lim:
                return None
            c = b[k]
            if c == 62:  # >
                return k, False, name, rawn, attrs, ns
            if c == 47:  # /
                if k + 1 >= lim:
                    return None
                if b[k + 1] != 62:
                    raise XMLError(NWF, "'/' inside a tag")
                return k + 1, True, name, rawn, attrs, ns
            if j == k:
                raise XMLError(NWF, "attributes must be separated by whitespace")
            eq = b.find(b"=", k, lim)
            if eq < 0:
                if b.find(b">", k, lim) >= 0:
                    raise XMLError(NWF, "attribute without a value")
                return None
            aname = _name(b[k:eq].rstrip(_WS))
            ns = ns or _needs_ns(aname)
            k = eq + 1
            while k < lim and b[k] in _WS:
                k += 1
            if k >= lim:
                return None
            qc = b[k]
            if qc != 39 and qc != 34:
                raise XMLError(NWF, "attribute value without quotes")
            ve = b.find(b"'" if qc == 39 else b'"', k + 1, lim)
            if ve < 0:
                return None
            if aname in attrs:
                raise XMLError(NWF, "duplicate attribute")
            if len(attrs) == _ATTRS_MAX:
                _too_many()
            v = b[k + 1 : ve]
            attrs[aname] = unescape(v, True) if b"&" in v else decode(v, True)
            k = ve + 1

    def _markup(self, b, i, stop):
        """'<!' or '<?' at i. Returns the index of the closing '>', or -1 if incomplete.

        Nothing is judged by a byte at or past `stop` (the size limit comes first there)."""
        if b[i + 1] == 63:  # ?
            return self._pi(b, i, stop)
        for op in _OPENERS:
            if b.startswith(op, i):
                break
            if op.startswith(b[i : i + len(op)]):
                return -1  # could still become this opener
        else:
            k = 2  # the byte that ruled out the last opener judges it
            for op in _OPENERS:
                m = 2
                while m < len(op) and b[i + m] == op[m]:
                    m += 1
                k = max(k, m)
            _judged(i + k, stop)
            raise XMLError(NWF, "unknown markup after '<!'")
        _judged(i + len(op) - 1, stop)
        if op in _DECLS:
            raise XMLError("restricted-xml", "DTD declarations are not allowed (RFC 6120 11.1)")
        if op == b"<!--":
            raise XMLError("restricted-xml", "comments are not allowed (RFC 6120 11.1)")
        depth = len(self._open)  # CDATA
        if depth < 2:
            raise XMLError("bad-format" if depth else NWF, "CDATA outside a stanza")
        e = b.find(b"]]>", i + 9)
        if e < 0:
            return -1
        _judged(e + 2, stop)
        s = b[i + 9 : e]
        s = decode(lines(s) if b"\r" in s else s)
        if self._text is None:
            self._text = [s]
        else:
            self._text.append(s)
        return e + 2

    def _pi(self, b, i, stop):
        e = b.find(b"?>", i + 2)
        if e < 0:
            return -1
        _judged(e + 1, stop)
        body = b[i + 2 : e]
        target = body.split(None, 1)[0] if body.strip(_WS) else b""
        if target != b"xml":
            if target.lower() == b"xml" or not target:
                raise XMLError(NWF, "malformed processing instruction")
            raise XMLError("restricted-xml", "processing instructions are not allowed")
        if self._state != _START:
            raise XMLError(NWF, "XML declaration not at the start")
        self._decl(body[3:])
        self._state = _PROLOG
        return e + 1

    def _decl(self, rest):
        # XML 1.0 section 2.8: version, then optional encoding and standalone, in this order.
        if len(rest) > _NAME_MAX:
            raise XMLError(NWF, "XML declaration too long")
        seen = []
        while True:
            m = _match(_PSEUDO, rest)
            if m is None:
                break
            seen.append((m.group(1), m.group(2)[1:-1]))
            rest = rest[len(m.group(0)) :]
        if rest.strip(_WS) or not seen or seen[0][0] != b"version":
            raise XMLError(NWF, "malformed XML declaration")
        if _VERSION.match(seen[0][1]) is None:
            raise XMLError(NWF, "unsupported XML version")
        order = [b"version", b"encoding", b"standalone"]
        for key, value in seen:
            if key not in order:
                raise XMLError(NWF, "malformed XML declaration")
            order = order[order.index(key) + 1 :]
            if key == b"encoding" and value.lower() != b"utf-8":
                raise XMLError("unsupported-encoding", "only UTF-8 (RFC 6120 11.6)")
            if key == b"standalone" and value not in (b"yes", b"no"):
                raise XMLError(NWF, "malformed XML declaration")

"""Fuzz engine for the XML layer and XEP-0323 request handling; runs inside MicroPython.

    micropython -X heapsize=1m tools/fuzz_mp.py SEED FIRST COUNT    # cases FIRST..FIRST+COUNT-1
    micropython -X heapsize=1m tools/fuzz_mp.py SEED CASE --show    # one case, bytes and checks
    micropython -X heapsize=1m tools/fuzz_mp.py SEED CASE --shrink  # the same, cut down

Every case is made from (SEED, index) alone, so any failure is reproduced by its pair.
Cases: XMPP-like streams from a grammar (with hostile constructs: deep nesting, huge names,
entity declarations, bad references, invalid UTF-8, limits hit to the byte), mutations of
the captured streams in host_tests/unit/xml_corpus, and XEP-0323 `<iq><req/></iq>` streams
fed through XMLStream into a Sensor (FakeClient and its real Router).
Checks per XML case:
  errors    feed() raises nothing but XMLError, and keeps raising it
  chunking  the same events (tokenizer events and built stanzas) and the same error condition
            whole, in random chunks and byte by byte (in chunks of at most 24 bytes for cases
            over BYTEWISE_MAX); events are compared on
            their common prefix, because where a chunk ends decides how much of a failing
            stream is reported before the error
  memory    gc.mem_alloc() growth, relative to the same parser warmed on the same input and
            its name caches then filled to their bound (fill_caches: the parser's constant),
            stays within max_stanza + read chunk + MEM_SLACK at every chunk boundary; the
            caches stay within their sizes
  output    every stanza built serializes and parses back to an equal Element
Checks per XEP-0323 case: nothing but XMLError escapes, every iq get/set with an id gets
exactly one answer (with its id, to its sender, type result or error) that is a well-formed
stanza no larger than the output buffer, nothing is logged as an error, each accepted
readout ends with exactly one final message unless cancelled or its requester went
offline, and when the loop settles every session slot is free (a request queued for a
later `when` is ended by its requester going offline, which must free it).
Output: "V {json}" per violation as found, "P n" every 1000 cases, then "R {json}": cases
run, violations, milliseconds and counts (error conditions, answers, case kinds).
"""

import gc
import json
import random
import sys
import time

_here = __file__.rpartition("/")[0] or "."
ROOT = _here.rpartition("/")[0] or "."
if __name__ == "__main__":
    for _p in ("/host_tests/unit", "/boards/host", "/lib"):
        if ROOT + _p not in sys.path:
            sys.path.insert(0, ROOT + _p)

import asyncio  # noqa: E402

import fuzz_thing_mp  # noqa: E402
from fuzz_base_mp import HEADER, Violation, _chance, _pick, _r, parse_sent  # noqa: E402

from xmlstream.builder import StanzaBuilder  # noqa: E402
from xmlstream.element import CLIENT_NS, tostring  # noqa: E402
from xmlstream.errors import XMLError  # noqa: E402
from xmlstream.tokenizer import Tokenizer  # noqa: E402

CORPUS = ROOT + "/host_tests/unit/xml_corpus"
SEGMENT = 32  # the longest segment (tag head, attribute name) xmlstream/markup.py caches
VALUES, VALUE_MAX = 32, 40  # entries in xmlstream/tokenizer.py's value cache, longest value
MEM_SLACK = 2048  # bytes: error objects, a partial-token slice, conservative-GC noise
BYTEWISE_MAX = 700  # cases up to this size are also fed one byte at a time
OUT_MAX_EXTRA = 1024  # the output buffer is max_stanza + this (the client's own headroom)


# -- recording ---------------------------------------------------------------------------


class _Tap:
    """Tokenizer handler: records each event, then passes it on to the stanza builder."""

    def __init__(self, out, builder):
        self.out = out
        self.b = builder

    def start(self, name, attrs, ns):
        self.out.append(("s", name, sorted(attrs.items()), ns))
        self.b.start(name, attrs, ns)

    def end(self, name):
        self.out.append(("e", name))
        self.b.end(name)

    def text(self, s):
        self.out.append(("t", s))
        self.b.text(s)


class _Sink:
    def __init__(self, out, roundtrip=False):
        self.out = out
        self.roundtrip = roundtrip

    def stream_start(self, attrs):
        self.out.append(("S", sorted(attrs.items())))

    def stanza(self, el):
        b = tostring(el)
        self.out.append(("Z", b))
        if self.roundtrip:
            _roundtrip(el, b)

    def stream_error(self, el):
        self.out.append(("E", tostring(el)))

    def stream_end(self):
        self.out.append(("/",))


class _Compare:
    """Checks events against a reference list as they come, keeping none of them."""

    def __init__(self, ref):
        self.ref = ref
        self.n = 0
        self.diff = None  # (index, event) of the first difference

    def append(self, ev):
        if self.diff is None:
            if self.n < len(self.ref) and self.ref[self.n] != ev:
                self.diff = (self.n, ev)
            self.n += 1


class _Null:
    def start(self, name, attrs, ns):
        pass

    def end(self, name):
        pass

    def text(self, s):
        pass

    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        pass

    def stream_error(self, el):
        pass

    def stream_end(self):
        pass


class _Collect(_Null):
    def __init__(self):
        self.stanzas = []

    def stanza(self, el):
        self.stanzas.append(el)


def _parser(out, max_stanza, max_depth, roundtrip=False):
    builder = StanzaBuilder(_Sink(out, roundtrip), max_stanza=max_stanza)
    return Tokenizer(_Tap(out, builder), max_stanza, max_depth)


def _feed(t, chunks):
    """Feed chunks until an XMLError; returns its condition or None."""
    for c in chunks:
        try:
            t.feed(c)
        except XMLError as e:
            return e.condition
    return None


def _roundtrip(el, b):
    sink = _Collect()
    t = Tokenizer(StanzaBuilder(sink, max_stanza=1 << 30), len(b) + len(HEADER), 1 << 30)
    try:
        t.feed(HEADER)
        t.feed(b)
    except XMLError as e:
        raise Violation("output", "built stanza does not parse: %s %r" % (e.condition, b[:300]))
    if len(sink.stanzas) != 1 or sink.stanzas[0] != el:
        raise Violation("output", "stanza changes when written and read back: %r" % b[:300])


# -- chunkings -----------------------------------------------------------------------------


def _cuts(n, k):
    cuts = sorted(set(_r(n - 1) + 1 for _ in range(k))) if n > 1 else []
    return [0] + cuts + [n]


def _split(data, k):
    c = _cuts(len(data), k)
    return [data[c[j] : c[j + 1]] for j in range(len(c) - 1)]


def _bytewise(data):
    for k in range(len(data)):
        yield data[k : k + 1]


def _bounded_chunks(data, most):
    # Like socket reads of at most `most` bytes.
    i = 0
    n = len(data)
    while i < n:
        k = 1 + _r(most)
        yield data[i : i + k]
        i += k


# -- XML checks ------------------------------------------------------------------------


def check_xml(data, max_stanza, max_depth, stats):
    ref = []
    t = _parser(ref, max_stanza, max_depth, roundtrip=True)
    cond = _feed(t, (data,))
    if cond is not None:
        # The parser keeps failing, the same way, until reset.
        try:
            t.feed(b"<")
            raise Violation("errors", "feed after %s did not raise" % cond)
        except XMLError as e:
            if e.condition != cond:
                raise Violation("errors", "after %s came %s" % (cond, e.condition))
    stats[cond or "ok"] = stats.get(cond or "ok", 0) + 1
    ways = [("random", _split(data, 1 + _r(12)))]
    if len(data) <= BYTEWISE_MAX:
        ways.append(("bytewise", _bytewise(data)))
    else:
        ways.append(("small", _bounded_chunks(data, 24)))
    for how, chunks in ways:
        cmp = _Compare(ref)
        got = _feed(_parser(cmp, max_stanza, max_depth), chunks)
        if cmp.diff is not None:
            k, ev = cmp.diff
            raise Violation(
                "chunking", "%s: event %d is %r, whole gives %r" % (how, k, ev, ref[k])
            )
        if got != cond:
            raise Violation("chunking", "%s: error %s, whole gives %s" % (how, got, cond))
        if cond is None and cmp.n != len(ref):
            raise Violation("chunking", "%s: %d events, whole gives %d" % (how, cmp.n, len(ref)))
    over = check_memory(data, max_stanza, max_depth)
    if over > stats.get("max:held_over_max_stanza", -(1 << 30)):
        stats["max:held_over_max_stanza"] = over


def _used():
    gc.collect()
    return gc.mem_alloc()


def fill_caches(t):
    """Fill each cache of tokenizer t to its bound with the largest entries it takes (segments
    of SEGMENT bytes): measured from there, a cache that starts over when full and fills again
    with the input's names cannot show as growth. The caches are the parser's constant."""
    for k in range(32):
        n = b"n%02d" % k + b"x" * (SEGMENT // 2)  # a name; each segment cut to SEGMENT below
        if len(t._heads) < 32:
            t._head((n + b" a" + n)[: SEGMENT - 1] + b"=", True)
        if len(t._tags) < 32:
            t._head((n + n)[:SEGMENT], False)
        if len(t._keys) < 32:
            t._key((b" " + n + n)[: SEGMENT - 1] + b"=")
        if len(t._nskeys) < 32:
            t._key((b" p:" + n + n)[: SEGMENT - 1] + b"=")
    probe = Tokenizer(_Null())
    probe._head(b"n" + b"x" * SEGMENT, False)  # one byte more than SEGMENT: not cached
    full = [len(c) for c in (t._heads, t._tags, t._keys, t._nskeys)]
    if full != [32] * 4 or probe._tags:
        raise RuntimeError("SEGMENT is not the longest segment xmlstream caches: %r" % full)
    # Values: the longest it takes, each missed twice (the cache admits a value on its second
    # miss) until the cache is full and admits no more.
    for k in range(VALUES):
        if t._recent is None:
            break
        v = b"v%02d" % k + b"y" * (VALUE_MAX - 3)
        t._value(v)
        t._value(v)
    v = b"v" * (VALUE_MAX + 1)  # one byte more than VALUE_MAX: not cached
    probe._value(v)
    probe._value(v)
    if len(t._values) != VALUES or t._recent is not None or probe._values:
        raise RuntimeError("VALUES, VALUE_MAX are not xmlstream's: %d" % len(t._values))


def check_memory(data, max_stanza, max_depth):
    """Checks the bound; returns the most held beyond max_stanza at a measured point."""
    most = 64 << _r(4)  # read size: 64..512 bytes
    t = Tokenizer(_Null(), max_stanza, max_depth)
    _feed(t, (data,))  # fills the name caches as this input does
    t.reset()
    fill_caches(t)
    bound = max_stanza + most + MEM_SLACK
    points = 12
    n = (len(data) + most - 1) // most
    worst = 0
    base = _used()
    for c in _bounded_chunks(data, most):
        try:
            t.feed(c)
        except XMLError:
            c = None
            points = 0
            grown = _used() - base
            if grown > bound:
                raise Violation(
                    "memory", "%d bytes held after the error (bound %d)" % (grown, bound)
                )
            worst = max(worst, grown)
            break
        c = None
        if _r(n) < points:
            grown = _used() - base
            if grown > bound:
                raise Violation("memory", "%d bytes held (bound %d)" % (grown, bound))
            worst = max(worst, grown)
    for cache, size in (
        (t._heads, 32), (t._tags, 32), (t._keys, 32), (t._nskeys, 32), (t._values, VALUES)
    ):  # fmt: skip
        if len(cache) > size:
            raise Violation("memory", "a cache holds %d entries" % len(cache))
    return worst - max_stanza


# -- grammar ---------------------------------------------------------------------------

_NAMES = (
    b"message",
    b"body",
    b"iq",
    b"query",
    b"presence",
    b"x",
    b"item",
    b"req",
    b"node",
    b"field",
    b"a",
    b"\xc3\xa9l\xc3\xa9ment",
    b"p:el",
    b"_u",
    b"n.1-2",
    b"show",
    b"status",
)
_ANAMES = (b"to", b"from", b"id", b"type", b"xml:lang", b"p:attr", b"seqnr", b"a", b"b", b"v-1")
_VALUES = (
    b"dev@example.org/sensor",
    b"owner@example.org/phone",
    b"get",
    b"result",
    b"1",
    b"urn:xmpp:iot:sensordata",
    b"a &amp; b",
    b"&lt;&gt;&quot;&apos;",
    b"&#x263A;&#10;&#9;",
    b"\xe2\x82\xac uro",
    b"",
    b">",
    b"it's",
    b'say "hi"',
    b"urn:x",
    b"en",
    b"\xf0\x9f\x98\x80",
)
_TEXTS = (
    b"hello",
    b" ",
    b"\n  ",
    b"&amp;",
    b"&#60;&#x3e;",
    b"\xc3\xa9t\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"]]",
    b">",
    b"21.53",
    b"\t",
    b"\r\n",
    b"&quot;&apos;",
    b"&#13;",
)
_NAMESPACES = (b"jabber:client", b"urn:x", b"urn:xmpp:iot:sensordata", b"urn:y", b"")
# Hostile fragments, inserted anywhere by the mutator.
_TOKENS = (
    b"<",
    b">",
    b"</a>",
    b"<a>",
    b"/>",
    b"&",
    b"&#xD800;",
    b"&#0;",
    b"&#x110000;",
    b"&#99999999999;",
    b"&#x0000000041;",
    b"&#65",
    b"&lol;",
    b"&amp",
    b"&#xFFFE;",
    b"<![CDATA[",
    b"]]>",
    b"<![CDATA[x]]>",
    b"<!--",
    b"-->",
    b"<!-- c -->",
    b"<?pi x?>",
    b"<?xml version='1.0'?>",
    b"<!DOCTYPE x>",
    b"<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]>",
    b"<!ENTITY a 'b'>",
    b"<!ELEMENT a ANY>",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xe0\x80\x80",
    b"\xf0\x80\x80\x80",
    b"\xf8",
    b"\xff",
    b"\x80",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\xef\xbf\xbe",
    b"\x00",
    b" a='1' a='1'",
    b" xmlns:p='urn:x'",
    b" xmlns:q='urn:x' p:z='1' q:z='2'",
    b" xmlns:xml='urn:x'",
    b" xmlns:p=''",
    b" xmlns=''",
    b" q:a='1'",
    b"</stream:stream>",
    b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
    b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    b"'",
    b'"',
    b"=",
    b" ",
    b"\t\r\n",
    b"text",
)
_SPECIAL = b"<>/'\"=&;#!?[]-: \n\t\x00\x80\xc3\xe2\xed\xf0\xff"


def _quote(v):
    if b"'" in v and b'"' in v:
        v = v.replace(b"'", b"&apos;")
    q = b'"' if b"'" in v else b"'"
    if _chance(20):
        q = b'"' if q == b"'" and b'"' not in v else q
    return q + v + q


def _ws():
    return _pick((b"", b"", b"", b" ", b"\n", b"\t", b"\r\n  "))


def _attr(name, value):
    if _chance(8):
        return b" " + name + _ws() + b"=" + _ws() + _quote(value)
    return b" " + name + b"=" + _quote(value)


def _text():
    return b"".join(_pick(_TEXTS) for _ in range(1 + _r(4)))


def _element(depth, limit):
    name = _pick(_NAMES)
    out = [b"<", name]
    prefixed = b"p:" in name
    if prefixed or _chance(4):
        out.append(_attr(b"xmlns:p", _pick(_NAMESPACES[:4])))
    if _chance(4):
        out.append(_attr(b"xmlns", _pick(_NAMESPACES)))
    used = set()
    for _ in range(_r(4)):
        a = _pick(_ANAMES)
        if a in used or (a == b"p:attr" and not prefixed):
            continue
        used.add(a)
        out.append(_attr(a, _pick(_VALUES)))
    if _chance(3) or depth >= limit:
        out.append(_ws() + b"/>")
        return b"".join(out)
    out.append(b">")
    for _ in range(_r(4)):
        k = _r(8)
        if k < 3:
            out.append(_text())
        elif k < 6:
            out.append(_element(depth + 1, limit))
        elif k == 6:
            out.append(b"<![CDATA[" + _pick((b"", b"x<y&z", b"]]", b"\xc3\xa9")) + b"]]>")
        else:
            out.append(_ws())
    out.append(b"</" + name + _ws() + b">")
    return b"".join(out)


def _header():
    attrs = [
        _attr(b"xmlns", b"jabber:client"),
        _attr(b"xmlns:stream", b"http://etherx.jabber.org/streams"),
        _attr(b"version", b"1.0"),
        _attr(b"from", b"example.org"),
        _attr(b"id", b"s-%d" % _r(1000)),
        _attr(b"xml:lang", b"en"),
    ]
    for k in range(len(attrs) - 1, 0, -1):
        j = _r(k + 1)
        attrs[k], attrs[j] = attrs[j], attrs[k]
    head = b"<stream:stream" + b"".join(attrs[: 2 + _r(5)]) + _ws() + b">"
    if _chance(10):
        head = head.replace(b"jabber:client", _pick((b"jabber:server", b"")), 1)
    return head


def _decl():
    return _pick(
        (
            b"<?xml version='1.0'?>",
            b'<?xml version="1.0" encoding="UTF-8"?>',
            b"<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
            b"<?xml version='1.1'?>",
            b"<?xml version='2.0'?>",
            b"<?xml version='1.0' encoding='ISO-8859-1'?>",
            b"<?xml encoding='UTF-8' version='1.0'?>",
        )
    )


_FEATURES = (
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
)
_STREAM_LEVEL = (
    b"</stream:stream>",
    b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    b"<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye</text></stream:error>",
)


def _stanza(max_depth):
    k = _r(10)
    if k == 0:
        return _FEATURES
    if k == 1:
        return _pick(_STREAM_LEVEL)
    limit = 2 + _r(max_depth)
    return _element(2, limit)


def gen_grammar(max_stanza, max_depth):
    parts = []
    if _chance(2):
        parts.append(_decl())
    if _chance(10):
        parts.append(_pick((b"<!-- prolog -->", b"<?target data?>", b"\n")))
    parts.append(_header())
    for _ in range(_r(7)):
        parts.append(_pick((b" ", b"\n", b"\r\n\t")) if _chance(3) else _stanza(max_depth))
    if _chance(5):
        parts.append(b"</stream:stream>")
    data = b"".join(parts)
    k = _r(12)
    if k < 4:
        return _hostile(data, max_stanza, max_depth)
    if k < 7:
        return mutate(data)
    return data


def _hostile(data, max_stanza, max_depth):
    k = _r(9)
    if k == 0:  # nesting around the depth limit, or far beyond it
        d = max_depth - 3 + _r(6) if _chance(2) else 50 + _r(500)
        body = b"<message>" + b"<a>" * d + b"x" + b"</a>" * d + b"</message>"
        return data + body
    if k == 1:  # a stanza within a few bytes of the size limit
        head = b"<message to='x'><body>"
        tail = b"</body></message>"
        fill = max_stanza - len(head) - len(tail) + _r(7) - 3
        t = _pick((b"w", b"&amp;", b"\xc3\xa9", b" "))
        body = head + (t * (fill // len(t) + 1))[: max(fill, 0)] + tail
        return data + body
    if k == 2:  # a name around the name limit, or near the stanza limit
        n = 250 + _r(12) if _chance(2) else max_stanza - 20 + _r(40)
        name = b"n" * n
        return data + _pick((b"<%s/>", b"<m %s='1'/>", b"<m><%s></%s></m>")).replace(b"%s", name)
    if k == 3:  # many attributes
        return data + b"<m" + b"".join(b" a%d='%d'" % (j, j) for j in range(_r(400))) + b"/>"
    if k == 4:  # entity declarations and references
        lol = b"<!DOCTYPE lolz [<!ENTITY lol 'lol'>" + b"".join(
            b"<!ENTITY lol%d '%s'>" % (j, b"&lol%d;" % (j - 1) * 10) for j in range(1, 10)
        )
        return _pick((lol + b"]>" + data, data + b"<m>&lol9;</m>", data + lol))
    if k == 5:  # character references at and beyond the edges of XML's Char
        refs = (b"&#9;", b"&#31;", b"&#xD7FF;", b"&#xE000;", b"&#xFFFD;", b"&#x10FFFF;")
        refs += (b"&#1114112;", b"&#xDFFF;", b"&#xFFFF;", b"&#000000065;", b"&#0000000065;")
        refs += (b"&#x-1;", b"&#-1;", b"&#X41;", b"&#x41", b"&#xffffffffffffffff;")
        r = _pick(refs)
        return data + _pick((b"<m>%s</m>", b"<m a='%s'/>")).replace(b"%s", r)
    if k == 6:  # a huge attribute value
        n = max_stanza - 30 + _r(60)
        return data + b"<m v='" + b"v" * n + b"'/>"
    if k == 7:  # duplicate attributes, literally or through two prefixes
        return data + _pick(
            (
                b"<m a='1' a='2'/>",
                b"<m a='1' b='2' a='1'/>",
                b"<m xmlns:p='u' xmlns:q='u' p:a='1' q:a='2'/>",
                b"<m xmlns:p='u' p:a='1' p:a='1'/>",
                b"<m xmlns='u' xmlns='u'/>",
                b"<m a = '1'  a=\"1\"/>",
            )
        )
    # long runs of stream-level whitespace, text or CDATA
    return data + _pick(
        (
            b" " * (max_stanza + _r(100)),
            b"<m>" + b"<![CDATA[" + b"c" * (max_stanza // 2 + _r(max_stanza)) + b"]]></m>",
            b"<m>" + b"t" * (max_stanza // 2) + b"<![CDATA[x]]>" + b"t" * _r(max_stanza) + b"</m>",
            b"junk",
        )
    )


# -- mutation ----------------------------------------------------------------------------

_corpus = None


def corpus():
    global _corpus
    if _corpus is None:
        import os

        _corpus = []
        for name in sorted(os.listdir(CORPUS)):
            if name.endswith(".xml"):
                with open(CORPUS + "/" + name, "rb") as f:
                    _corpus.append(f.read())
    return _corpus


def _attr_span(b):
    # An attribute ` name='value'` somewhere in b: (start, end) or None.
    for _ in range(4):
        q = b.find(b"='", _r(len(b)))
        if q < 0:
            continue
        s = b.rfind(b" ", 0, q)
        e = b.find(b"'", q + 2)
        if s >= 0 and e > 0 and q - s < 40 and e - q < 80:
            return s, e + 1
    return None


def mutate(b, rounds=0):
    for _ in range(rounds or 1 + _r(4)):
        n = len(b)
        if not n:
            return b
        p = _r(n)
        k = _r(14)
        if k == 0:  # bit flip
            b = b[:p] + bytes((b[p] ^ (1 << _r(8)),)) + b[p + 1 :]
        elif k == 1:  # a special byte
            b = b[:p] + bytes((_SPECIAL[_r(len(_SPECIAL))],)) + b[p + 1 :]
        elif k == 2:  # delete a range
            b = b[:p] + b[p + 1 + _r(16) :]
        elif k == 3:  # insert a hostile fragment
            b = b[:p] + _pick(_TOKENS) + b[p:]
        elif k == 4:  # truncate
            b = b[:p]
        elif k == 5:  # splice with another stream
            o = _pick(corpus())
            b = b[:p] + o[_r(len(o)) :]
        elif k == 6:  # repeat a range
            e = min(n, p + 1 + _r(64))
            b = b[:p] + b[p:e] * (2 + _r(8)) + b[e:]
        elif k == 7:  # duplicate an attribute
            span = _attr_span(b)
            if span:
                b = b[: span[1]] + b[span[0] : span[1]] + b[span[1] :]
        elif k == 8:  # deep nesting
            d = 4 + _r(40)
            b = b[:p] + b"<d>" * d + b[p:]
        elif k == 9:  # a huge name right after a '<'
            q = b.find(b"<", p)
            if q >= 0:
                b = b[: q + 1] + b"N" * (100 + _r(400)) + b[q + 1 :]
        elif k == 10:  # a huge attribute value
            q = b.find(b"='", p)
            if q >= 0:
                b = b[: q + 2] + b"V" * (100 + _r(5000)) + b[q + 2 :]
        elif k == 11:  # swap the quote style at one place
            q = b.find(b"'", p)
            if q >= 0:
                b = b[:q] + b'"' + b[q + 1 :]
        elif k == 12:  # a reference at a random place
            b = b[:p] + _pick((b"&amp;", b"&#65;", b"&#x1F600;", b"&bogus;", b"&#;")) + b[p:]
        else:  # a random byte inserted
            b = b[:p] + bytes((_r(256),)) + b[p:]
    return b


def gen_corpus():
    src = _pick(corpus())
    if _chance(4):
        # Splice stanzas of two streams at tag boundaries.
        o = _pick(corpus())
        i = src.find(b"<", _r(len(src)))
        j = o.find(b"<", _r(len(o)))
        if i > 0 and j > 0:
            src = src[:i] + o[j:]
    return mutate(src)


# -- XEP-0323 ----------------------------------------------------------------------------

_OWNER = b"owner@example.org/phone"
_FROMS = (
    _OWNER,
    _OWNER,
    _OWNER,
    b"owner@example.org/laptop",
    b"Owner@Example.ORG/phone",
    b"owner@example.org",
    b"eve@evil.example/x",
    b"",
    b"@example.org/x",
    b"owner@example.org/",
    b"\xc3\xa9ve@example.org/\xe2\x82\xac",
)
_SEQNRS = (b"1", b"2", b"3", b"1", b"-5", b"0", b"99999999999", b"999999999999", b"", b"abc")
_SEQNRS += (b"1.5", b" 1", b"-", b"00001", b"\xd9\xa3")
_FLAGVALS = (b"true", b"true", b"1", b"false", b"0", b"TRUE", b"maybe", b"", b"yes")
_FLAGS = (b"momentary", b"peak", b"status", b"computed", b"identity", b"historical", b"all")
_FLAGS += (b"historicalSecond", b"historicalMinute", b"historicalDay", b"historicalOther")
_DATES = (
    b"2026-11-23T21:02:03Z",
    b"2026-11-23T20:00:00.25+01:00",
    b"2026-11-23T21:02:03",
    b"2026-11-23t21:02:03z",
    b"1970-01-01T00:00:00Z",
    b"2000-02-29T12:00:00-05:30",
    b"2026-13-40T25:61:61Z",
    b"yesterday",
    b"2026-11-23T21:02:03.Z",
    b"2026-11-23T21:02:03+0100",
    b"9999-12-31T23:59:59Z",
    b"0000-00-00T00:00:00Z",
    b"-001-01-01T00:00:00Z",
    b"2026-11-23T21:02:03.123456789012345678901234567890Z",
    b"",
)
_NODES = (b"sht4x-44", b"sht4x-44", b"adc-1", b"nope", b"", b"SHT4X-44", b"\xc3\xa9")
_FIELDS = (b"Temperature", b"Humidity", b"Chip", b"Ok", b"Voltage", b"Colour", b"")
TH = (
    ("Temperature", "numeric", "\u00b0C", "momentary"),
    ("Humidity", "numeric", "%", "momentary"),
    ("Chip", "string", "", "identity"),
    ("Ok", "boolean", "", "status"),
    ("Mode", "enum", "", "status", "Mode<&>'\""),
)
ADC = (("Voltage", "numeric", "V", "momentary"), ("Peak", "numeric", "V", "peak"))


def _big(n):
    return b"x" * n


def _req_attrs(seq, good):
    a = []
    if not _chance(12):
        a.append((b"seqnr", seq))
    for _ in range(_r(4)):
        a.append((_pick(_FLAGS), _pick(_FLAGVALS[:5] if good else _FLAGVALS)))
    for name in (b"from", b"to", b"when"):
        if _chance(5):
            a.append((name, _pick(_DATES[:6] if good else _DATES)))
    if _chance(8):
        a.append((_pick((b"serviceToken", b"deviceToken", b"userToken")), b"t&amp;k"))
    if not good and _chance(25):
        a.append((_pick((b"seqnr", b"nodeId", b"momentary", b"from")), _big(200 + _r(3000))))
    # Drop duplicated names: the XML layer rejects them, and that is tested elsewhere.
    seen = set()
    out = []
    for k, v in a:
        if k not in seen:
            seen.add(k)
            out.append(b" %s='%s'" % (k, v))
    return b"".join(out)


def _req_children(good):
    out = []
    n = _r(4) if good or not _chance(15) else 15 + _r(4)
    for _ in range(n):
        if _chance(2):
            nid = _pick(_NODES[:3]) if good else _pick(_NODES) if not _chance(30) else _big(3000)
            out.append(b"<node nodeId='%s'/>" % nid if good or not _chance(15) else b"<node/>")
        else:
            f = _pick(_FIELDS[:5]) if good else _pick(_FIELDS) if not _chance(30) else _big(3000)
            out.append(b"<field name='%s'/>" % f if good or not _chance(15) else b"<field/>")
    if not good and _chance(15):
        out.append(b"<other xmlns='urn:x'>t</other>")
    return b"".join(out)


def _iq(n, seqnrs, good):
    k = _r(20)
    typ = b"get" if k < 10 else b"set" if k < 15 else _pick((b"result", b"error", b"GET", b""))
    attrs = []
    if not _chance(15):
        attrs.append(b" type='%s'" % typ)
    if not _chance(15):
        attrs.append(b" id='%s'" % (b"i%d" % n if not _chance(10) else _pick((b"i0", b"", b"1"))))
    frm = _pick(_FROMS)
    if frm:
        attrs.append(b" from='%s'" % frm)
    if _chance(2):
        attrs.append(b" to='dev@example.org/sensor'")
    seq = _pick(seqnrs) if seqnrs and _chance(3) else _pick(_SEQNRS[:4] if good else _SEQNRS)
    seqnrs.append(seq)
    k = _r(20)
    if k < 13:
        payload = b"<req xmlns='urn:xmpp:iot:sensordata'%s>%s</req>" % (
            _req_attrs(seq, good),
            _req_children(good),
        )
    elif k < 15:
        payload = b"<cancel xmlns='urn:xmpp:iot:sensordata' seqnr='%s'/>" % _pick(seqnrs)
    elif k == 15:
        payload = b"<p:req xmlns:p='urn:xmpp:iot:sensordata' seqnr='%s'/>" % seq
    elif k == 16:
        payload = b"<req xmlns='urn:xmpp:iot:sensordata:x' seqnr='1'/>"
    elif k == 17:
        payload = _pick(
            (
                b"<ping xmlns='urn:xmpp:ping'/>",
                b"<query xmlns='http://jabber.org/protocol/disco#info'/>",
                b"<query xmlns='http://jabber.org/protocol/disco#info' node='urn:x'/>",
                b"<query xmlns='http://jabber.org/protocol/disco#items'/>",
                b"<query xmlns='jabber:iq:version'/>",
                b"<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='both'/></query>",
            )
        )
    elif k == 18:
        payload = b"<req xmlns='urn:xmpp:iot:sensordata' seqnr='7'/><ping xmlns='urn:xmpp:ping'/>"
    else:
        payload = b""
    return b"<iq%s>%s</iq>" % (b"".join(attrs), payload)


def gen_xep():
    parts = [HEADER]
    seqnrs = []
    good = _chance(2)  # requests a sensor should accept, mostly; or anything at all
    for n in range(1 + _r(6)):
        k = _r(12)
        if k == 0:
            parts.append(
                b"<presence type='unavailable' from='%s'/>" % _pick(_FROMS[:6])
                if _chance(2)
                else b"<presence type='subscribe' from='%s'/>" % _pick(_FROMS)
            )
        elif k == 1:
            parts.append(b"<message from='%s'><body>hi</body></message>" % _OWNER)
        else:
            parts.append(_iq(n, seqnrs, good))
        if _chance(3):
            parts.append(b" ")
    data = b"".join(parts)
    if _chance(6):
        # Byte-level damage too, but none a server would forward: no control characters.
        data = mutate(data, 1 + _r(2))
        data = bytes(c if c > 31 or c in (9, 10, 13) else 32 for c in data)
    return data


class _Bounded:
    """Client side of the sensor: FakeClient with the real client's bounded output buffer."""

    def __init__(self, out_max):
        from fakeclient import FakeClient

        self.c = FakeClient()
        self.out_max = out_max
        c = self.c
        plain = c.send

        def send(el):
            # Bytes go out as they are, as the real client's outbox takes them.
            size = len(el) if isinstance(el, bytes) else len(tostring(el))
            if size > out_max:
                c.log.error("not sent: stanza larger than the output buffer")
                return False
            return plain(el)

        c.send = send
        c.router.send = send


async def _settle(sensor, router, limit_ms):
    t0 = time.ticks_ms()
    turns = 0
    while time.ticks_diff(time.ticks_ms(), t0) < limit_ms:
        await asyncio.sleep_ms(0 if turns < 40 else 1)
        turns += 1
        busy = router.tasks
        for s in sensor.table.slots:
            if s.jid is not None and s.state != "queued":
                busy += 1
        if not busy:
            return True
    return False


def check_xep(data, stats, max_stanza=4096):
    from sensordata.clock import Clock
    from sensordata.device import MemoryDevice
    from sensordata.sensor import Sensor

    b = _Bounded(max_stanza + OUT_MAX_EXTRA)
    c = b.c
    clock = Clock(synced=not _chance(8))
    sensor = Sensor(c, clock, sessions=1 + _r(3), budget=_pick((150, 400, 1536)))
    dev = MemoryDevice(TH, ("21.53", None if _chance(5) else "45.2", "SHT<&>'\"", True, "m"))
    adc = MemoryDevice(ADC, ("3.30", "3.31"))
    slow = _chance(10)
    if slow:
        adc.delay_ms = 40
    elif _chance(8):
        adc.fail = OSError(19)
    sensor.register_node("sht4x-44", dev, comm_timeout=200)
    sensor.register_node("adc-1", adc, comm_timeout=20)
    now = clock.now()
    for node in sensor.nodes:
        for k in range(_r(4)):
            node.history.add(now - 60 * k, dev.values if node.id == "sht4x-44" else adc.values)
    # What the stream delivers, as the client would see it.
    got = []
    xs = _XepSink(c.router.dispatch, got)
    from xmlstream.stream import XMLStream

    x = XMLStream(xs, max_stanza)
    cond = _feed(x, _split(data, _r(4)))
    stats["xep:" + (cond or "ok")] = stats.get("xep:" + (cond or "ok"), 0) + 1
    asyncio.run(_drain(sensor, c, got, stats, slow))


class _XepSink(_Null):
    def __init__(self, dispatch, got):
        self.dispatch = dispatch
        self.got = got

    def stanza(self, el):
        self.got.append(el)
        self.dispatch(el)


async def _drain(sensor, c, got, stats, slow):
    router = c.router
    await _settle(sensor, router, 400 if slow else 150)
    # Requests queued for a later `when` wait for their time: their requester goes away, and
    # each gets its final answer.
    queued = [s for s in sensor.table.slots if s.jid is not None]
    for s in queued:
        if s.state != "queued" or s.request.when is None or s.request.when <= sensor.clock.now():
            raise Violation("sessions", "slot %d stuck in state %s" % (s.index, s.state))
    for jid in set(s.jid for s in queued):
        router.dispatch(_presence_unavailable(jid))
    await _settle(sensor, router, 50)
    if sensor.table.in_use():
        raise Violation("sessions", "%d slots in use after settling" % sensor.table.in_use())
    if router.tasks:
        raise Violation("sessions", "%d router tasks left" % router.tasks)
    _check_answers(c, got, stats)


def _presence_unavailable(jid):
    from xmlstream.element import Element

    return Element("presence", CLIENT_NS, {"type": "unavailable", "from": jid})


def _check_answers(c, got, stats):
    for line in c.log.lines:
        if line.startswith("E "):
            raise Violation("answers", "logged: " + line)
    owed = {}  # id -> [answers owed, sender]
    for el in got:
        if (
            el.name == "iq"
            and el.ns == CLIENT_NS  # <iq xmlns=''> is no stanza: the router ignores it
            and el.get("type") not in ("result", "error")
            and el.get("id") is not None
        ):
            k = (el.get("id"), el.get("from"))
            if k in owed:
                owed[k][0] += 1
            else:
                owed[k] = [1, el.get("from")]
    accepted = {}
    finals = {}
    cancelled = 0
    for b in c.sent:
        el = parse_sent(b)
        if el.name == "iq":
            k = (el.get("id"), el.get("to"))
            o = owed.get(k)
            if o is None or o[0] == 0:
                raise Violation("answers", "unasked or repeated iq answer: %r" % b)
            o[0] -= 1
            if el.get("type") not in ("result", "error") or el.get("to") != o[1]:
                raise Violation("answers", "iq answer of wrong type or address: %r" % b)
            if el.get("type") == "error":
                from xmpp import stanza as st

                cond = st.error_condition(el)
                stats["xep:" + cond] = stats.get("xep:" + cond, 0) + 1
            elif el.children:
                ch = el.children[0]
                if ch.name == "accepted":
                    # Readouts go to the requester's JID in normal form.
                    key = (fuzz_thing_mp._norm(el.get("to")), ch.get("seqnr"))
                    accepted[key] = accepted.get(key, 0) + 1
                    stats["xep:accepted"] = stats.get("xep:accepted", 0) + 1
                elif ch.name == "cancelled":
                    cancelled += 1
        elif el.name == "message" and el.children:
            ch = el.children[0]
            if ch.get("done") == "true":
                key = (fuzz_thing_mp._norm(el.get("to")), ch.get("seqnr"))
                if key not in accepted:
                    raise Violation("answers", "final message for no accepted request: %r" % b)
                finals[key] = finals.get(key, 0) + 1
    for k, o in owed.items():
        if o[0]:
            raise Violation("answers", "iq id=%r from %r got no answer" % k)
    unfinished = 0
    for key, n in accepted.items():
        f = finals.get(key, 0)
        if f > n:
            raise Violation("answers", "%d final messages for %d requests %r" % (f, n, key))
        unfinished += n - f
    if unfinished > cancelled:
        raise Violation(
            "answers", "%d readouts never ended (%d cancelled)" % (unfinished, cancelled)
        )


# -- cases -----------------------------------------------------------------------------

KINDS = ("grammar", "corpus", "xep", "thing")
_LIMITS = ((256, 4), (512, 8), (1024, 16), (4096, 16), (4096, 8), (2048, 32))


def case_seed(seed, index):
    return (seed * 1000003 + index * 7919 + 1) & 0x3FFFFFFF


def make_case(seed, index, only=None):
    """(kind, data, max_stanza, max_depth) of case `index` of `seed` (of kind `only`, if
    given); a thing case's data is its plan (fuzz_thing_mp.py)."""
    random.seed(case_seed(seed, index))
    k = _r(13)
    kind = only or ("grammar" if k < 4 else "corpus" if k < 7 else "xep" if k < 10 else "thing")
    max_stanza, max_depth = _pick(_LIMITS)
    if kind == "grammar":
        data = gen_grammar(max_stanza, max_depth)
    elif kind == "corpus":
        data = gen_corpus()
    elif kind == "xep":
        data = gen_xep()
        max_stanza, max_depth = 4096, 16
    else:
        data = fuzz_thing_mp.gen_plan()
        max_stanza, max_depth = fuzz_thing_mp.MAX_STANZA, 16
    return kind, data, max_stanza, max_depth


def _check(kind, data, max_stanza, max_depth, stats):
    if kind == "xep":
        check_xep(data, stats, max_stanza)
    elif kind == "thing":
        fuzz_thing_mp.check_thing(data, stats)
    else:
        check_xml(data, max_stanza, max_depth, stats)


def run_case(seed, index, stats, only=None):
    kind, data, max_stanza, max_depth = make_case(seed, index, only)
    stats["kind:" + kind] = stats.get("kind:" + kind, 0) + 1
    _check(kind, data, max_stanza, max_depth, stats)
    return kind


def run(seed, first, count, report=None, deadline_ms=None, progress=None, only=None):
    """Run cases (of kind `only`, if given); returns (cases run, violations as dicts, stats)."""
    stats = {}
    found = []
    heap = fuzz_thing_mp.HeapWatch()
    t0 = time.ticks_ms()
    done = 0
    for index in range(first, first + count):
        v = None
        try:
            if run_case(seed, index, stats, only) == "thing":
                heap.note(index)
        except Violation as e:
            v = _record(seed, index, e.check, e.detail)
        except Exception as e:  # noqa: BLE001 - any other exception is what we are hunting
            v = _record(seed, index, "exception", _trace(e))
        if v is not None:
            found.append(v)
            if report is not None:
                report(v)
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done)
        if deadline_ms is not None and time.ticks_diff(time.ticks_ms(), t0) > deadline_ms:
            break
    grown = heap.check(stats) if not found else None  # violations found are held in `found`
    if grown is not None:
        found.append(_record(seed, heap.last, "heap", grown))
        if report is not None:
            report(found[-1])
    return done, found, stats


def _record(seed, index, check, detail):
    return {"seed": seed, "case": index, "check": check, "detail": detail[:600]}


def _trace(e):
    import io

    buf = io.StringIO()
    sys.print_exception(e, buf)
    return buf.getvalue()


def _verdict(seed, index, kind, data, max_stanza, max_depth):
    """The check a case fails (its name and detail), or None; deterministic for the data."""
    random.seed(case_seed(seed, index) ^ 0x5A5A5A)
    try:
        _check(kind, data, max_stanza, max_depth, {})
    except Violation as v:
        return v.check, v.detail
    except Exception as e:  # noqa: BLE001
        return "exception", _trace(e)
    return None


def shrink(seed, index, kind, data, max_stanza, max_depth):
    """The shortest data (by deleting ranges) that still fails the same check."""
    want = _verdict(seed, index, kind, data, max_stanza, max_depth)
    if want is None:
        return data
    if kind == "thing":  # a plan: steps are cut, then each stanza left is cut as bytes
        return _shrink_plan(seed, index, data, want[0])
    size = len(data) // 2
    while size >= 1:
        i = 0
        while i < len(data):
            cut = data[:i] + data[i + size :]
            v = _verdict(seed, index, kind, cut, max_stanza, max_depth)
            if v is not None and v[0] == want[0]:
                data = cut
            else:
                i += size
        size //= 2
    return data


def _shrink_plan(seed, index, plan, check):
    def fails(p):
        v = _verdict(seed, index, "thing", p, fuzz_thing_mp.MAX_STANZA, 16)
        return v is not None and v[0] == check

    i = 0
    while i < len(plan):
        cut = plan[:i] + plan[i + 1 :]
        if fails(cut):
            plan = cut
        else:
            i += 1
    for i in range(len(plan)):
        if isinstance(plan[i], bytes):
            for j in range(len(plan[i]) - 1, -1, -1):
                cut = plan[:i] + [plan[i][:j] + plan[i][j + 1 :]] + plan[i + 1 :]
                if fails(cut):
                    plan = cut
    return plan


def show(seed, index, small=False, only=None):
    kind, data, max_stanza, max_depth = make_case(seed, index, only)
    print("kind=%s max_stanza=%d max_depth=%d len=%d" % (kind, max_stanza, max_depth, len(data)))
    if small:
        data = shrink(seed, index, kind, data, max_stanza, max_depth)
        print("shrunk to %d %s" % (len(data), "steps" if kind == "thing" else "bytes"))
    if kind == "thing":
        for step in data:
            print("step %r" % (step if isinstance(step, tuple) else step[:1500],))
    else:
        print("data=%r" % (data if len(data) < 3000 else data[:1500] + b"..." + data[-1500:]))
    v = _verdict(seed, index, kind, data, max_stanza, max_depth)
    print("ok" if v is None else "VIOLATION %s: %s" % v)


def main(argv):
    seed, first = int(argv[1]), int(argv[2])
    only = argv[4] if len(argv) > 4 and argv[4] in KINDS else None
    if len(argv) > 3 and argv[3] in ("--show", "--shrink"):
        show(seed, first, argv[3] == "--shrink", only)
        return
    count = int(argv[3])

    def report(v):
        print("V " + json.dumps(v))

    t0 = time.ticks_ms()

    def progress(n):
        print("P %d" % n)

    done, found, stats = run(seed, first, count, report, progress=progress, only=only)
    ms = time.ticks_diff(time.ticks_ms(), t0)
    print("R " + json.dumps({"cases": done, "violations": len(found), "ms": ms, "stats": stats}))


if __name__ == "__main__":
    main(sys.argv)

"""Differential fuzz of the tokenizer against CPython's expat: which documents are well-formed.

    python tools/fuzz.py --kind expat [--seed S] [--cases N]     # a campaign
    python tools/fuzz.py --kind expat --seed S --case I [--shrink]  # replay one document

Documents are made here from (SEED, index) alone: `<r><s>` + content + `</s></r>`, so the
content is read as a stanza's (text at depth 2 is reported). Content: nested elements
(prefixed and plain names, ASCII and Latin-1 letters), attributes in both quote styles,
whitespace around '=', before '/>' and in end tags, text and values with the predefined
entities, character references (decimal, hex, leading zeros, invalid code points),
undefined entities, CDATA, CR/LF/CRLF, non-ASCII UTF-8; half of them mutated byte-wise with
syntax-significant bytes, so many are ill-formed. tools/fuzz_expat_mp.py parses each in
MicroPython, whole and in random splits; expat (no namespace processing) parses it here.
A difference: the verdicts differ (ours: read, with every element closed and nothing held),
or, where both read it, the events do (start name and sorted attributes, end, text merged
per run), or where both refused it the events before the first refusal do, or ours said
no namespace work was needed where a name has a prefix or declares one, or a split feed gave
other events than the whole one, or ours raised anything but XMLError.

What the project does differently by design is expected, not reported: comments and
processing instructions (refused, RFC 6120 §11.1), CDATA and text other than literal
whitespace directly in the root (refused, as text at the stream level), names that are not
QNames (XML Namespaces §3: refused; expat without namespaces reads 'a:b:c'). Not generated:
DTDs and XML declarations (the wrapper comes first), ']]>' in text (accepted, unchecked for
speed), non-ASCII name characters beyond a few Latin-1 letters (XML 1.0 5th edition's name
tables, which ours follows, and expat's, from the 4th, disagree elsewhere), anything near
max_stanza or max_depth.
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import xml.parsers.expat as expat
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "tools" / "fuzz_expat_mp.py"
BATCH = 1000  # documents per MicroPython process

# -- documents ---------------------------------------------------------------------------

# Latin-1 letters in both name tables (XML 1.0 4th edition BaseChar, 5th edition
# NameStartChar); U+00B7 is a name character after the first in both.
_NAMES = (
    b"a", b"b", b"item", b"x-y", b"x.y", b"_u", b"n1", b"A_b.c-d", b"p:a", b"q:item",
    b"\xc3\xa9", b"\xc3\x98l", b"\xc3\x9fx\xc2\xb7y", b"\xc3\xb1-1", b"p:\xc3\xbcn",
)  # fmt: skip
_ANAMES = (
    b"id", b"to", b"type", b"xml:lang", b"xmlns", b"xmlns:p", b"p:k", b"v1", b"a-b", b"a.b",
    b"_c", b"\xc3\xa9", b"q:\xc3\xa0",
)  # fmt: skip
_PIECES = (
    b"text", b"a b", b"0", b" ", b"  ", b"\t", b"\n", b"\r", b"\r\n", b"\r\r\n", b">", b"]",
    b"]]", b"'", b'"', b"=", b"/", b"?", b"!", b"-", b";", b"#",
    b"&amp;", b"&lt;", b"&gt;", b"&quot;", b"&apos;",
    b"&#65;", b"&#x41;", b"&#0065;", b"&#x0000041;", b"&#x263a;", b"&#x1F600;", b"&#9;",
    b"&#10;", b"&#13;", b"&#x20;", b"&#xD;", b"&#x10FFFF;", b"&#" + b"0" * 60 + b"65;",
    b"&#x" + b"0" * 45 + b"20AC;", b"long " * 40,
    b"\xc3\xa9", b"\xc3\xbc", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xe4\xb8\xad",
    b"\xc2\x85", b"\xe2\x80\xa8", b"\xc2\xa0", b"\xef\xbb\xbf",
)  # fmt: skip
# Ill-formed wherever they stand: invalid code points, malformed and undefined references.
_BAD = (
    b"&#0;", b"&#8;", b"&#xD800;", b"&#xDFFF;", b"&#xFFFE;", b"&#xFFFF;", b"&#x110000;",
    b"&#1114112;", b"&#99999999999;", b"&#X41;", b"&#x;", b"&#;", b"&#6 5;", b"&#65",
    b"&nbsp;", b"&foo;", b"&x-y.z;", b"&" + b"e" * 50 + b";", b"& ", b"&1;", b"&amp",
    b"\x01", b"\xef\xbf\xbe", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xc3",
)  # fmt: skip
_WS = (b" ", b" ", b" ", b"\t", b"\n", b"\r\n", b"\r", b"  \n\t")
# Bytes that change what the bytes around them mean, for the mutations.
_SPECIAL = b"<>/'\"=&;#x!?[]-: \t\r\na0\x00\x01\x80\xa9\xbf\xc3\xed\xef\xff"
_TOKENS = (
    b"<", b"</", b"/>", b">", b"<a>", b"</a>", b"<b/>", b"<![CDATA[", b"]]", b"&", b"&#",
    b"&amp;", b"'", b'"', b"='v'", b' x="v"', b" xmlns:p='u'", b"<p:a>", b"</p:a>",
    b"\xc3\xa9", b"&#xFFFE;", b"&nbsp;",
)  # fmt: skip


def doc_seed(seed, index):
    # Not fuzz_mp.py's formula: these documents are not the XML cases again.
    return (seed * 1000033 + index * 7907 + 11) & 0x3FFFFFFF


class _Gen:
    def __init__(self, rng):
        self.r = rng

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def chance(self, k):
        return self.r.randrange(k) == 0

    def ws(self, empty=2):
        # Whitespace where the grammar allows it (S?): mostly none.
        return b"" if self.r.randrange(empty + 1) else self.pick(_WS)

    def piece(self):
        return self.pick(_BAD) if self.chance(40) else self.pick(_PIECES)

    def chars(self, most, avoid=b""):
        out = b"".join(self.piece() for _ in range(self.r.randrange(most + 1)))
        for c in avoid:  # markup or the value's own quote, written as references
            out = out.replace(bytes((c,)), b"&#%d;" % c)
        return out

    def text(self, before=b""):
        t = before + self.chars(5, b"<")
        # ']]>' in text is accepted by ours (unchecked for speed), refused by expat.
        while b"]]>" in t:
            t = t.replace(b"]]>", b"]]&gt;")
        return t

    def attr(self):
        q = b"'" if self.r.randrange(2) else b'"'
        v = self.chars(3, b"<" + q)
        k = self.pick(_ANAMES)
        return k, self.pick(_WS) + k + self.ws() + b"=" + self.ws() + q + v + q

    def element(self, depth):
        name = self.pick(_NAMES)
        names, attrs = set(), []
        for _ in range(self.r.randrange(7) if self.r.randrange(3) else 0):
            k, a = self.attr()
            if k not in names or self.chance(10):  # now and then a duplicate
                names.add(k)
                attrs.append(a)
        head = b"<" + name + b"".join(attrs) + self.ws()
        if self.chance(3) or depth > 5:
            return head + b"/>"
        return head + b">" + self.content(depth + 1) + b"</" + name + self.ws() + b">"

    def content(self, depth):
        out = []
        for _ in range(self.r.randrange(5)):
            k = self.r.randrange(12)
            if k < 4:
                # One run with the text before it: together they must not hold ']]>' either.
                out.append(self.text(out.pop() if out and out[-1][:1] != b"<" else b""))
            elif k < 9:
                out.append(self.element(depth))
            elif k < 11:
                data = self.chars(3)
                while b"]]>" in data:
                    data = data.replace(b"]]>", b"]]")
                out.append(b"<![CDATA[" + data + b"]]>")
            elif self.chance(20):
                # Expected to be refused by ours, read by expat (RFC 6120 §11.1).
                out.append(self.pick((b"<!-- c -->", b"<?pi data?>", b"<!---->")))
            else:
                out.append(self.pick(_WS))
        return b"".join(out)

    def mutate(self, b):
        for _ in range(1 + self.r.randrange(3)):
            p = self.r.randrange(len(b) + 1)
            k = self.r.randrange(6)
            if k == 0:
                b = b[:p] + bytes((self.pick(_SPECIAL),)) + b[p:]
            elif k == 1:
                b = b[:p] + bytes((self.pick(_SPECIAL),)) + b[p + 1 :]
            elif k == 2:
                b = b[:p] + b[p + 1 + self.r.randrange(3) :]
            elif k == 3:
                b = b[:p] + self.pick(_TOKENS) + b[p:]
            elif k == 4:  # the other quote at the next quote
                q = [i for i in (b.find(b"'", p), b.find(b'"', p)) if i >= 0]
                if q:
                    q = min(q)
                    b = b[:q] + (b'"' if b[q] == 39 else b"'") + b[q + 1 :]
            else:  # the next attribute written in quotes right after its '=', again
                q = b.find(b"=", p)
                qc = b[q + 1 : q + 2] if q > 0 else b""
                s = b.rfind(b" ", 0, q)
                e = b.find(qc, q + 2) if qc in (b"'", b'"') and s >= 0 else -1
                if e > q:
                    b = b[: e + 1] + b[s : e + 1] + b[e + 1 :]
        return b


def cdata_only(b):
    """Whether every ']]>' in b closes a '<![CDATA[' opened after the one before it."""
    i = 0
    while True:
        e = b.find(b"]]>", i)
        if e < 0:
            return True
        o = b.find(b"<![CDATA[", i)
        if o < 0 or o + 9 > e:
            return False
        i = e + 3


def make_doc(seed, index):
    """(document bytes, list of cut lists) of document `index` of `seed`."""
    g = _Gen(random.Random(doc_seed(seed, index)))
    content = g.content(2)
    if g.r.randrange(2):
        for _ in range(4):
            m = g.mutate(content)
            if cdata_only(m):  # a mutation must not put ']]>' in text (see text())
                content = m
                break
    doc = b"<r><s>" + content + b"</s></r>"
    cuts = []
    for _ in range(2):
        k = 1 + g.r.randrange(8)
        cuts.append(sorted({1 + g.r.randrange(len(doc) - 1) for _ in range(k)}))
    return doc, cuts


# -- expat, and what ours is expected to say ------------------------------------------------

# Each part of a QName is an NCName: it starts like a name (XML Namespaces §3).
_QNAME = re.compile(r"[^-.0-9\u00b7:][^:]*(:[^-.0-9\u00b7:][^:]*)?\Z")


def _needs_ns(name):
    # The prefix xml: is bound by definition (XML Namespaces §3); xmlns declares one.
    return name == "xmlns" or (":" in name and not name.startswith("xml:"))


class _Design(Exception):
    """A construct the project refuses on purpose where expat reads it."""


def expat_events(doc):
    """(verdict, detail, events): verdict "ok", "refused", or "design" (ours must refuse)."""
    p = expat.ParserCreate()
    events = []
    depth = [0]

    def start(name, attrs):
        for n in [name, *attrs]:
            if not _QNAME.match(n):
                raise _Design("not a QName: %r" % n)
        ns = any(_needs_ns(n) for n in [name, *attrs])
        events.append(["s", name, sorted([k, v] for k, v in attrs.items()), ns])
        depth[0] += 1

    def end(name):
        events.append(["e", name])
        depth[0] -= 1

    def chars(s):
        if depth[0] < 2:
            # Ours checks the bytes: a reference is not whitespace even when it stands for one.
            if s.strip(" \t\r\n") or doc[p.CurrentByteIndex] == 38:  # &
                raise _Design("text directly in the root")
            return
        events.append(["t", s])

    def cdata():
        if depth[0] < 2:
            raise _Design("CDATA directly in the root")

    def comment(_):
        raise _Design("comment")

    def pi(*_):
        raise _Design("processing instruction")

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.StartCdataSectionHandler = cdata
    p.CommentHandler = comment
    p.ProcessingInstructionHandler = pi
    try:
        p.Parse(doc, True)
    except _Design as e:
        return "design", str(e), events
    except expat.ExpatError as e:
        return "refused", str(e), events
    return "ok", "", events


def normal(events):
    """Text merged per run and empty runs dropped, alike for both parsers."""
    out = []
    for ev in events:
        if ev[0] == "t":
            if not ev[1]:
                continue
            if out and out[-1][0] == "t":
                out[-1] = ["t", out[-1][1] + ev[1]]
                continue
        out.append(list(ev))
    return out


def _settled(events):
    # Before a refusal, the last run of text may be cut short (expat) or not yet reported.
    return events[:-1] if events and events[-1][0] == "t" else events


def compare(doc, ours, theirs=None):
    """None, or (kind, detail) of how ours (a line of fuzz_expat_mp.py) differs from expat
    (theirs: expat_events(doc), if already known)."""
    verdict, got, chunk = ours
    want_verdict, why, want = theirs or expat_events(doc)
    got, want = normal(got), normal(want)
    if verdict is not None and verdict.startswith("exception"):
        return "exception", verdict
    if chunk is not None:
        return "chunking", chunk
    if want_verdict == "ok":
        if verdict is not None:
            return "refused", "ours: %s; expat reads it" % verdict
        if _plain(got) != _plain(want):
            return "events", _first_diff(_plain(got), _plain(want))
    elif verdict is None:
        return "accepted", "ours reads it; expat: %s %s" % (want_verdict, why)
    else:
        a, b = _plain(_settled(got)), _plain(_settled(want))
        n = min(len(a), len(b))
        if a[:n] != b[:n]:
            return "events", "both refuse; before that " + _first_diff(a[:n], b[:n])
    for g, w in zip(got, want, strict=False):
        if g[0] == "s" and w[0] == "s" and w[3] and not g[3]:
            return "ns", "ours: no namespace work for %r %r" % (g[1], g[2])
    return None


def _plain(events):
    return [ev[:3] for ev in events]  # without the namespace flag, checked on its own


def _first_diff(a, b):
    for k, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return "event %d: ours %r, expat %r" % (k, x, y)
    return "ours %d events, expat %d" % (len(a), len(b))


# -- running ---------------------------------------------------------------------------------


def _micropython():
    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else "micropython"


def _start(docs, heap):
    """A MicroPython process reading docs [(bytes, cuts)]; its output goes to a file."""
    fd, rec = tempfile.mkstemp(suffix=".rec")
    with os.fdopen(fd, "wb") as f:
        for doc, cuts in docs:
            f.write(json.dumps([len(doc), *cuts]).encode() + b"\n" + doc)
    out = tempfile.TemporaryFile()
    cmd = [_micropython(), "-X", "heapsize=" + heap, str(ENGINE), rec]
    env = dict(os.environ, MICROPYPATH=".frozen")  # hermetic: no user libs
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, out, rec


def _results(job, count):
    proc, out, rec = job
    code = proc.wait()
    os.unlink(rec)
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    out.close()
    # Not splitlines(): MicroPython's json writes U+0085 and U+2028 as they are.
    lines = text.split("\n")[:-1]
    if code or len(lines) != count:
        tail = "\n".join(lines[-20:])
        raise RuntimeError(
            "MicroPython exit %s, %d of %d read:\n%s" % (code, len(lines), count, tail)
        )
    return [json.loads(line) for line in lines]


def ours(docs, heap="1m"):
    """fuzz_expat_mp.py's line for each of docs [(bytes, cuts)]."""
    return _results(_start(docs, heap), len(docs))


def _tally(stats, key):
    stats[key] = stats.get(key, 0) + 1


def run(seed, first, count, jobs=2, heap="1m", progress=None, deadline_s=None):
    """Compare documents [first, first + count) of seed: (documents done, differences as
    dicts, counts). Up to `jobs` MicroPython processes parse while this one makes the next
    batch and compares the last."""
    t0 = time.monotonic()
    stats, found, running, done = {}, [], [], 0
    starts = range(first, first + count, BATCH)
    for start in [*starts, None]:
        if start is not None and deadline_s is not None and time.monotonic() - t0 > deadline_s:
            start = None
        if start is not None:
            n = min(BATCH, first + count - start)
            docs = [make_doc(seed, i) for i in range(start, start + n)]
        ready = []
        while running and (start is None or len(running) >= jobs):
            s0, d0, job = running.pop(0)
            ready.append((s0, d0, _results(job, len(d0))))
        if start is not None:
            running.append((start, docs, _start(docs, heap)))
        for s0, d0, lines in ready:
            for k, line in enumerate(lines):
                _judge(seed, s0 + k, d0[k][0], line, stats, found)
            done += len(d0)
            if progress is not None:
                progress(done)
        if start is None:
            break
    return done, found, stats


def _judge(seed, index, doc, line, stats, found):
    theirs = expat_events(doc)
    _tally(stats, "expat:" + theirs[0])
    _tally(stats, "ours:" + (line[0] or "ok"))
    diff = compare(doc, line, theirs)
    if diff is not None:
        kind, detail = diff
        found.append(dict(seed=seed, case=index, check=kind, detail=detail, doc=doc))


def verdict(doc, cuts=()):
    """How ours differs from expat on doc: (kind, detail), or None."""
    return compare(doc, ours([(doc, list(cuts))])[0])


def shrink(doc, kind):
    """doc cut down (ranges deleted) to what still differs from expat in the same kind."""
    size = len(doc) // 2
    while size >= 1:
        cuts = [doc[:i] + doc[i + size :] for i in range(0, len(doc), size)]
        lines = ours([(c, []) for c in cuts])
        for c, line in zip(cuts, lines, strict=True):
            d = compare(c, line)
            if d is not None and d[0] == kind:
                doc = c
                break
        else:
            size //= 2
    return doc


def show(seed, index, small=False):
    """Print document `index` of `seed`, both parsers' readings, and any difference."""
    doc, cuts = make_doc(seed, index)
    line = ours([(doc, cuts)])[0]
    diff = compare(doc, line)
    if small and diff is not None and diff[0] != "chunking":  # its cuts are part of it
        doc = shrink(doc, diff[0])
        cuts = []
        line = ours([(doc, cuts)])[0]
        diff = compare(doc, line)
        print("shrunk to %d bytes" % len(doc))
    print("doc=%r" % doc)
    print("cuts: %s" % cuts)
    print("ours:  %s %s" % (line[0] or "ok", normal(line[1])))
    want, why, events = expat_events(doc)
    print("expat: %s %s %s" % (want, why, normal(events)))
    print("same" if diff is None else "DIFFERENCE %s: %s" % diff)
    return 0 if diff is None else 1

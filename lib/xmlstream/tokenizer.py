"""Push tokenizer for an XMPP stream: bytes in any chunking, events out.

    tok = Tokenizer(handler, max_stanza=4096, max_depth=16)
    tok.feed(sock.recv(512))     # raises XMLError; keeps raising it until reset()
    tok.reset()                  # stream restart (after STARTTLS, after SASL)

Handler methods (called synchronously from feed()):
    start(name, attrs, ns)  a start tag. name: qualified name as written ('stream:features');
                            attrs: new dict {qualified name: str value}, references decoded;
                            ns: True when the name or some attribute needs namespace work
                            (a prefix other than xml:, or an xmlns declaration).
    end(name)               an end tag, or right after start() for an empty-element tag.
    text(s)                 character data inside a stanza (depth 2 or more), one call per run
                            of text between two tags, CDATA sections merged in.
Whitespace directly inside the root (keepalives) is checked and dropped; the root is never
expected to close but its end tag is reported.

Events are identical for any split of the input: a token is only parsed once complete, and
text is only reported once the next tag begins. The scanning is done by bytes.find/split in
C; names are decoded once and cached (bounded caches, per instance). Siblings written alike
(XEP-0323's fields) are read in place after the first: only their values are cut out.
Memory: a partial token is kept, never more than max_stanza bytes; whitespace between
stanzas is not kept at all.
UTF-8 is validated per reported token: bytes.decode() checks the structure (MicroPython
enables this check wherever str is unicode, the ESP32 ports included) and utf8.check() the
overlong forms, surrogates and code points above U+10FFFF of tokens that are not ASCII. Being
per token, an invalid byte is reported in stream order, after any earlier error.

Line ends in text and CDATA are read as XML 1.0 §2.11 says: CR LF and a lone CR as LF.

Characters XML 1.0 §2.2 excludes are refused: C0 controls but TAB, LF, CR, and U+FFFE and
U+FFFF; utf8.decode() checks every token for them and for strict UTF-8.

Attribute values are normalized as XML 1.0 §3.3.3 has it for CDATA (no DTD): a literal TAB,
LF, CR or CR LF reads as a space, a reference to one stays.

Not checked, for speed (none of them can make the parser fail or grow): ']]>' in text,
duplicate attributes that differ only in prefix.
"""

from micropython import const

from xmlstream.entities import lines, unescape
from xmlstream.errors import XMLError
from xmlstream.markup import Markup
from xmlstream.utf8 import check, controls, decode

_LT = const(60)  # <
_GT = const(62)  # >
_SLASH = const(47)  # /
_BANG = const(33)  # !
_QMARK = const(63)  # ?
_VALUES = const(32)  # entries in the attribute value cache
_VALUE_MAX = const(40)  # longest attribute value cached
_RECENT = const(32)  # hashes of the latest value misses kept (a power of two)
_SLOTS = const(79)  # the full value cache's table: a prime, 40 % full (see _full)
_PARTS = const(16)  # chunks of an unfinished text run kept before merging them
# A tag needs 5 bytes per attribute (" a=''"): only one this long can hold more than
# markup._ATTRS_MAX, so only such a tag has its quotes counted before it is split.
_ATTRS_LONG = const(320)
# Only a short tag inside a stanza is kept as the layout of its siblings (see _parse), so
# what the parser holds beside the stanza stays small: XEP-0323's fields carry 4-6
# attributes in under 160 bytes.
_MEMO_PARTS = const(12)
_MEMO_BODY = const(160)
_WS = b" \t\r\n"
# A value of these bytes only (a reading, a sequence number) holds no quote, '<', '&' or
# control: decoded without those tests. A const(), so no name is kept for it.
# A value made of these bytes is a number (an id, a seqnr, a reading): told by its first byte
# first, `44 < v[0] < 58` ("-" 45, "." 46, "/" 47, "0".."9" 48-57; "/" then fails lstrip).
_NUM = const(b"0123456789.-")
# Parser states
_START = const(0)  # nothing seen yet: an XML declaration may come
_PROLOG = const(1)
_ROOT = const(2)
_AFTER = const(3)

NWF = "not-well-formed"


def _room(n):
    """An empty dict with a table of n slots: fromkeys sizes the table by the length of its
    argument, here n times the key 0, which sits in slot 0 and, slot 1 being empty, leaves
    it empty again when deleted. (A dict grows only when full, never shrinks.)"""
    d = dict.fromkeys(bytes(n))
    del d[0]
    return d


# Copied for a tag of 3-4 or 5-6 attributes: filled one by one, its dict grew 1 -> 2 -> 4
# -> 6 slots, a new table each time. The same sizes: an element's attributes hold as much
# heap as before.
_FOUR = _room(4)
_SIX = _room(6)
_ROOM = (None, None, None, _FOUR, _FOUR, _SIX, _SIX)  # by number of attributes


class Tokenizer(Markup):
    def __init__(self, handler, max_stanza=4096, max_depth=16):
        self._h = handler
        self._max = max_stanza
        self._maxdepth = max_depth
        self.forget()
        self.reset()

    def forget(self):
        """Empty the name and value caches, for what comes next: an XMPP login's names and
        namespaces are not read again on its connection, yet would keep their places."""
        # Raw bytes -> decoded, validated names. Keys include the surrounding syntax ('to=')
        # so a hit also proves the whitespace and '=' were right.
        self._heads = {}  # head of a tag with attributes -> (name, raw name, 1st attr name, ns)
        self._tags = {}  # body of a tag without attributes -> (name, raw name, None, ns)
        self._keys = {}  # attribute segment (b" to=") -> name, for names needing no ns work
        self._nskeys = {}  # the same for xmlns, xmlns:p and p:name
        # Recent short attribute values (namespaces, JIDs, flags) -> str: a hit saves the
        # decode, whose interning lookup is the most expensive step on the hot path.
        self._values = {}
        # Hashes of the latest misses (small ints, in a list that never grows): a value
        # missed again while its hash is here enters the cache.
        self._recent = [0] * _RECENT
        self._ri = 0

    def reset(self):
        """Forget everything but the name caches: the next byte starts a new document."""
        self._pend = b""  # an incomplete tag (or markup) kept from the previous chunk
        self._pmore = []  # chunks that continue it, not yet joined to it
        # An incomplete run of text inside a stanza, as chunks: a list never empty, as is
        # _text, so both are tested by truth (one step less than `is None`).
        self._tparts = None
        self._tlen = 0
        self._off = 0  # stream offset of the first byte of the current buffer
        self._sstart = 0  # stream offset where the current stanza began
        # Open elements: their head tuples (above; a tag read slowly: its name, raw name).
        self._open = []
        self._state = _START
        self._text = None  # text pieces waiting for a tag, when CDATA is involved
        self._memo = None  # the layout of the last tag split (see _parse), within a stanza
        self._err = None

    def feed(self, data, len=len):  # noqa: A002 - as in _parse
        """Parse a chunk (bytes, bytearray or memoryview)."""
        if self._err:
            raise self._err
        if not data:
            return
        # No try here (see _parse): so small a frame is made on the C stack, not the heap.
        if self._tparts or self._pmore or len(self._pend) > len(data):
            data = self._more(data)
            if data is None:
                return
        self._parse(data)

    def _failed(self, e):
        """The exception feed() raises for e; what it raises again until reset()."""
        self._memo = None  # nothing more is read: hold nothing of it
        if isinstance(e, XMLError):
            self._err = e
        elif isinstance(e, UnicodeError):
            self._err = e = XMLError(NWF, "invalid UTF-8")
        else:
            # The sink stopped the parse (e.g. the peer closed the stream): refuse further
            # input until reset, but let the sink's own exception reach its caller.
            self._err = XMLError("undefined-condition", repr(e))
        return e

    def _more(self, data, len=len):  # noqa: A002 - as in _parse
        """feed() with a run of text pending, or a tag longer than the chunk (copied for each
        chunk, it would cost time quadratic in the number of pieces). Returns the bytes to
        parse, the pending part included (and _pend emptied), or None when the chunk was only
        kept."""
        try:
            if type(data) is not bytes:
                data = bytes(data)
            p = self._pend
            if self._tparts:
                if b"<" not in data:
                    self._more_text(data)
                    return None
                p = b"".join(self._tparts)
                self._tparts = None
            elif p[0] == _LT:
                # Nothing in the chunk ends the pending token: keep it, unless it is a '<!'
                # opener still too short to judge (comments, DTDs are refused at once).
                j = data.find(b">")
                more = self._pmore
                if j < 0 and b"<" not in data and len(p) > 1 and (p[1] != _BANG or len(p) > 9):
                    # Kept aside and joined when the token ends: appending would copy the whole
                    # token once per chunk, quadratic for one fed in tiny pieces.
                    more.append(data)
                    if len(more) > _PARTS:
                        self._pend = p = b"".join([p] + more)
                        more.clear()
                    size = len(p)
                    for m in more:  # at most _PARTS pieces; a loop allocates nothing
                        size += len(m)
                    self._limit(size)
                    if len(self._open) > 1:
                        self._limit(self._off + size - self._sstart)
                    return None
                if more:
                    p = b"".join([p] + more)
                    more.clear()
            self._pend = b""
            return p + data
        except Exception as e:
            raise self._failed(e)

    def _limit(self, size):
        if size > self._max:
            raise XMLError("policy-violation", "stanza larger than %d bytes" % self._max)

    def _more_text(self, data):
        parts = self._tparts
        parts.append(data)
        self._tlen += len(data)
        # The whole stanza so far, as a feed that ends in text is checked (not just the text).
        self._limit(self._off + self._tlen - self._sstart)
        if len(parts) > _PARTS:
            # Tiny chunks would cost an object each: merge, keeping memory near the text size.
            parts[:] = [b"".join(parts)]

    def _parse(  # noqa: A002 - see below
        self, b, len=len, min=min, room=_ROOM, find=bytes.find, dget=dict.get
    ):
        """Parse the pending token (if any) and the chunk b, and keep what is left: an
        incomplete token, or a run of text that may go on in the next chunk.
        The two are joined in one copy: a chunk that is not bytes is copied anyway, and
        b"" + a bytes chunk is that chunk itself. The try is here, not in feed(): a frame as
        small as feed's is made on the C stack, not on the heap, but not with a try in it.

        len, min and _ROOM come in as defaults, so the loop reads them as locals: a global
        name costs a dictionary lookup per use, a builtin two (module, then builtins). (The
        compiler turns `for x in range(...)` into a counting loop: range is never looked up.)
        Locals are numbered in the order they first appear, and only the first 16 are read
        by a one-byte opcode: hence few arguments, and the hottest names made first.
        Methods are called unbound (find(b, ...), dget(keys, k)) or looked up at the call
        (h.start): a bound method kept in a local is a heap object, made again at every call.
        Bound once per parser instead, they held 96-192 B more and saved nothing measurable.
        """
        try:
            v = e = x = q = j = qc = k = p = None  # the hottest (see above)
            i = -1  # until the chunk is joined to what was pending: nothing of it taken
            b = self._pend + b
            i = 0
            h = self._h
            raws = self._open
            heads = self._heads
            keys = self._keys
            values = self._values
            memo = self._memo
            text = self._text  # kept in step with self._text: tested at every tag
            # Once the value cache is full, the usual miss (ASCII, no '<', '&' or byte below 32:
            # _value's first tests) is decoded here: a call costs as much as the decode. Most
            # misses in XEP-0323 traffic are numbers (_NUM), told by a first byte in '-'..'9'
            # and one lstrip in C: cheaper than the tests (min() walks the value in bytecode).
            full = not self._recent
            n = len(b)
            last = n - 1  # a '<' there is all of its token: kept for the next chunk
            maxdepth = self._maxdepth
            stop = self._sstart + self._max - self._off  # index in b where the stanza is too big
            if b[0] != _LT:
                q = self._chars(b, 0)
                if q >= 0:
                    i = q
                else:
                    last = -1  # nothing more to parse: the loop ends at once
                    if len(raws) < 2:
                        i = n
            # Outside a stanza each token has the stanza limit: `stop` is set anew wherever the
            # depth drops below 2, for the token that follows (not tested at every token).
            if len(raws) < 2:
                stop = i + self._max
            while True:
                if i >= last:
                    break  # n, or a '<' at the end (last)
                # b[i] is '<'
                c = b[i + 1]
                if c == _SLASH:
                    if not raws:
                        raise XMLError(NWF, "end tag outside the root")
                    t = raws[-1]
                    r = t[1]
                    e = i + 2 + len(r)
                    if e >= n or b[e] != _GT or not b.startswith(r, i + 2):
                        e = self._end_slow(b, i, r, stop)
                        if e < 0:
                            break
                    if e >= stop:
                        self._limit(self._max + 1)
                    raws.pop()
                    if text:
                        text = self._flush()
                    h.end(t[0])
                    d = len(raws)
                    if d < 2:
                        if d:
                            memo = self._memo = None  # the stanza is over
                        else:
                            self._state = _AFTER
                        stop = e + 1 + self._max
                elif c < 64 and (c == _BANG or c == _QMARK):
                    e = self._markup(b, i, stop)
                    if e < 0:
                        break
                    text = self._text  # CDATA is kept there
                    if len(raws) < 2:
                        stop = e + 1 + self._max
                else:
                    # The tag ends at the first '>'. A '<' before it is an error, but looking
                    # for one would scan every tag twice: names and keys are validated when
                    # cached and values when first decoded, so a '<' makes the fast path fail.
                    e = find(b, b">", i + 1)
                    if e < 0 or e >= stop:
                        # Sizes are judged before content: a byte at or past `stop` judges
                        # nothing, so every chunking reports the same error.
                        q = find(b, b"<", i + 1, n if e < 0 else e)
                        if q >= 0:
                            if q >= stop:
                                self._limit(self._max + 1)
                            raise XMLError(NWF, "'<' inside a tag")
                        if e < 0:
                            break
                        self._limit(self._max + 1)
                    empty = b[e - 1] == _SLASH
                    be = e - 1 if empty else e  # the end of the tag's body
                    qc = b[be - 1]
                    if qc <= 32:  # whitespace before '>' or '/>', as some writers put there
                        while b[be - 1] in _WS:
                            be -= 1
                        qc = b[be - 1]
                    # Fast path: split at the quote that ends the last value (without it: no
                    # empty part after it). Whatever it cannot read with certainty (mixed quotes,
                    # '>' in a value, odd spacing) the careful parser below reads again and judges.
                    if qc == 39 or qc == 34:
                        qb = b"'" if qc == 39 else b'"'
                        m = memo
                        if m and b.startswith(m[0], i + 1):
                            # The same head as the last tag split in this stanza (a run of
                            # siblings): read the tag along its layout, in place. Its key
                            # segments are compared, not cut out: only the values are.
                            hd = m[1]
                            name, _, k, ns = hd
                            p = i + 1 + len(m[0])  # the opening quote of the first value
                            np = len(m)
                            # After the layout, the values of the first sibling read along it: a
                            # value every sibling since has had alike (XEP-0323's momentary='true')
                            # is compared in place, neither cut out nor looked up. w[j]: the bytes
                            # from the opening quote of the value before segment j to the next
                            # value's (the last value's: to the body's end, at 0), b"" once a
                            # sibling differed there (not compared again); w[j + 1]: the value.
                            if np & 1:
                                np -= 1
                                w = m[np]
                                f = False
                            else:
                                # The first sibling read so: its values are kept, if it is
                                # short, as the layout is (what it holds stays small).
                                w = [b""] * np
                                f = be - i < _MEMO_BODY
                                if f:
                                    m.append(w)
                            attrs = {} if np < 6 or np > 12 else room[np >> 1].copy()
                            try:
                                # One find per value: for the key segment after it, whose byte
                                # before must be the closing quote. A value with a quote in it
                                # ended earlier: none is cached (see _value), so only a miss
                                # is looked at for one.
                                for j in range(2, np, 2):
                                    s = m[j]
                                    o = w[j]
                                    if o:
                                        # Quotes, value and segment alike: the value is read.
                                        if b.startswith(o, p):
                                            attrs[k] = w[j + 1]
                                            k = m[j + 1]
                                            p += len(o)
                                            continue
                                        w[j] = b""
                                    q = find(b, s, p + 2, be)
                                    if b[p] != qc or q < 0 or b[q - 1] != qc:
                                        hd = None
                                        break
                                    v = b[p + 1 : q - 1]
                                    x = dget(values, v)
                                    if not x:
                                        if full and v and 44 < v[0] < 58 and not v.lstrip(_NUM):
                                            x = v.decode()  # a number: nothing to check
                                        elif qb in v:
                                            hd = None
                                            break
                                        elif full and b"<" not in v and b"&" not in v:
                                            x = v.decode()
                                            if len(x) != len(v) or v and min(v) < 32:
                                                x = self._value(v)
                                        else:
                                            x = self._value(v)
                                    attrs[k] = x
                                    if f:
                                        w[j] = b[p : q + len(s)]
                                        w[j + 1] = x
                                    k = m[j + 1]
                                    p = q + len(s)
                                else:
                                    # The last value ends the body (b[be - 1] is qc).
                                    o = w[0]
                                    if o and be - p == len(o) and b.startswith(o, p):
                                        attrs[k] = w[1]
                                    else:
                                        if o:
                                            w[0] = b""
                                        v = b[p + 1 : be - 1]
                                        x = dget(values, v)
                                        if b[p] != qc or p == be - 1 or not x and qb in v:
                                            hd = None
                                        else:
                                            x = attrs[k] = x or self._value(v)
                                            if f:
                                                w[0] = b[p:be]
                                                w[1] = x
                            except XMLError:
                                if find(b, b"<", i + 1, e) >= 0:
                                    raise XMLError(NWF, "'<' inside a tag")
                                raise
                        else:
                            hd = None
                        if not hd:
                            body = b[i + 1 : be - 1]
                            if len(body) < _ATTRS_LONG:
                                parts = body.split(qb)
                            else:
                                parts = self._split(body, qc)
                            np = len(parts)  # head, value, then a key and a value for each further
                            hd = (
                                None
                                if np & 1
                                else dget(heads, parts[0]) or self._head(parts[0], True)
                            )
                            if hd:
                                try:
                                    name, _, k, ns = hd
                                    attrs = {} if np < 6 or np > 12 else room[np >> 1].copy()
                                    v = parts[1]
                                    attrs[k] = dget(values, v) or self._value(v)
                                    for j in range(2, np, 2):
                                        k = dget(keys, parts[j])
                                        if not k:
                                            k = self._key(parts[j])
                                            if not k:
                                                hd = None
                                                break
                                            k, f = k
                                            ns = ns or f
                                        v = parts[j + 1]
                                        x = dget(values, v)
                                        if not x:
                                            if (
                                                full
                                                and v
                                                and 44 < v[0] < 58
                                                and not v.lstrip(_NUM)
                                            ):
                                                x = v.decode()  # a number (see above)
                                            elif full and b"<" not in v and b"&" not in v:
                                                x = v.decode()
                                                if len(x) != len(v) or v and min(v) < 32:
                                                    x = self._value(v)
                                            else:
                                                x = self._value(v)
                                        attrs[k] = x
                                        parts[j + 1] = k  # for the memo
                                    else:
                                        # Only when every segment was read: after a break (a value
                                        # in the other quotes) attributes are missing, not doubled.
                                        if len(attrs) != np >> 1:
                                            raise XMLError(NWF, "duplicate attribute")
                                        if (
                                            len(raws) > 1
                                            and np <= _MEMO_PARTS
                                            and len(body) < _MEMO_BODY
                                            and ns == hd[3]
                                        ):
                                            # The memo: this tag's parts, its values replaced by
                                            # its head's tuple and the key names (segments follow).
                                            parts[1] = hd
                                            memo = self._memo = parts
                                except XMLError:
                                    # A value that cannot be read (or a duplicate), in a tag with
                                    # a '<' before its '>': fed in pieces, the '<' is all that can
                                    # be judged (the tag never ends), so it is reported whole too.
                                    if find(b, b"<", i + 1, e) >= 0:
                                        raise XMLError(NWF, "'<' inside a tag")
                                    raise
                    else:
                        body = b[i + 1 : be]
                        # _tags apart from heads: b"a" heads "<a x='1'/>" but is all of "<a/>".
                        # (Read here, not at each call: fewer tags have no attributes than
                        # there are calls.)
                        hd = dget(self._tags, body) or self._head(body, False)
                        if hd:
                            name, _, _, ns = hd
                            attrs = {}
                    if not hd:
                        q = find(b, b"<", i + 1)
                        if 0 <= q < e:
                            raise XMLError(NWF, "'<' inside a tag")
                        lim = n if q < 0 else q
                        # ('>' in a value) Judge nothing after the last '>' in sight, nor past the
                        # limit: a chunking that ends there has seen no more of the tag.
                        end = b.rfind(b">", e, min(lim, stop)) + 1
                        hd = self._tag_slow(b, i, end)
                        if not hd:
                            if lim > stop or q >= stop:
                                self._limit(self._max + 1)
                            if q >= 0:
                                raise XMLError(NWF, "'<' inside a tag")
                            break
                        e, empty, name, rawn, attrs, ns = hd
                        hd = (name, rawn)
                    # Here e < stop: a tag ending at or past it was refused above.
                    d = len(raws)
                    if d > 1:  # inside a stanza (the usual tag)
                        if d >= maxdepth:
                            raise XMLError("policy-violation", "elements nested too deep")
                        if text:
                            text = self._flush()
                    elif d:
                        self._sstart = self._off + i  # `stop` is already i + self._max
                    elif self._state == _AFTER:
                        raise XMLError(NWF, "a second root element")
                    else:
                        self._state = _ROOT
                        stop = e + 1 + self._max
                    h.start(name, attrs, ns)
                    if empty:
                        h.end(name)
                        if d < 2:
                            if d:
                                memo = self._memo = None  # the stanza is over
                                stop = e + 1 + self._max
                            else:
                                self._state = _AFTER
                    else:
                        raws.append(hd)
                # after the token ending at e
                i = e + 1
                if i < n and b[i] != _LT:
                    if len(raws) > 1:
                        # a run of text inside a stanza (the common case, inlined)
                        q = find(b, b"<", i)
                        if q < 0 or q + 1 >= n:
                            break  # the run may continue in the next chunk
                        if q + 1 >= stop:
                            self._limit(self._max + 1)
                        t = b[i:q]
                        if b"\r" in t:
                            t = lines(t)
                        if b"&" in t:
                            t = unescape(t)
                        else:
                            # utf8.decode() inlined, as for values (t is not empty here).
                            x = t.decode()
                            if len(x) != len(t):
                                check(t)
                            if min(t) < 32:
                                controls(t)
                            t = x
                        if b[q + 1] == _BANG or text:
                            text = self._pile(t)
                        else:
                            h.text(t)
                        i = q
                    else:
                        q = self._chars(b, i)
                        if q < 0:
                            i = n
                            break
                        i = q
                        stop = i + self._max
            # Keep the unparsed rest: text as chunks (no copying, no rescanning), tags as bytes.
            if i == n:
                self._pend = b""
            else:
                if b[i] != _LT and find(b, b"<", i) < 0:
                    self._tparts = [b[i:]]
                    self._tlen = n - i
                    self._pend = b""
                else:
                    self._pend = b[i:] if i else b
                if n - i > self._max:
                    self._limit(self._max + 1)
            self._off += i
            if len(raws) > 1 and self._off + n - i - self._sstart > self._max:
                self._limit(self._max + 1)
        except Exception as e:
            if i < 0:
                # The copy failed (out of memory) before anything was read: the parser stands
                # as it was, and the same chunk may be fed again.
                raise
            raise self._failed(e)

    def _chars(self, b, i):
        """Character data from i. Returns the index of the next '<', or -1 if there is none."""
        q = b.find(b"<", i)
        if len(self._open) < 2:
            t = b[i:] if q < 0 else b[i:q]
            if t.strip(_WS):
                if self._open:
                    raise XMLError("bad-format", "text at the stream level")
                raise XMLError(NWF, "text outside the root element")
            if self._state == _START:
                self._state = _PROLOG
            return q
        if q < 0 or q + 1 >= len(b):
            return -1  # the run may continue in the next chunk
        if q + 1 >= self._sstart + self._max - self._off:
            self._limit(self._max + 1)
        self._run(b[i:q], b[q + 1])
        return q

    def _run(self, t, after):
        """A complete run of text inside a stanza; after: the byte following its '<'."""
        if b"\r" in t:
            t = lines(t)
        s = unescape(t) if b"&" in t else decode(t)
        if after == _BANG or self._text:
            self._pile(s)
        else:
            self._h.text(s)

    def _value(self, v, len=len, min=min):  # noqa: A002 - as in _parse
        """Cache miss on an attribute value. A value is cached when it is missed again
        within the next few misses (in XMPP traffic: namespaces, JIDs, flags, units; not ids
        or readings), until the cache is full; it is never cleared: refilling would cost
        more than the misses. Few locals: a frame over 11 words would come from the heap."""
        if b"<" in v:
            raise XMLError(NWF, "'<' inside a tag")
        if b"&" in v:
            return unescape(v, True)
        # utf8.decode() inlined for the usual value (ASCII, no whitespace or control): a call
        # costs as much as these tests. The builtins come in as defaults, as in _parse.
        s = v.decode()
        if len(s) != len(v) or v and min(v) < 32:
            s = decode(v, True)
        # A value with a quote is never cached: a hit proves there is none (see _parse).
        if self._recent and len(v) <= _VALUE_MAX:  # (no list of misses: the cache is full)
            if b"'" in v or b'"' in v:
                return s
            # Nor is a number: ids, sequence numbers and readings are not read again, yet
            # one written twice in a stanza (XEP-0323's seqnr and its iq's id) would keep
            # its place for good. Told as in _parse, and decoded cheaply there.
            if v and 44 < v[0] < 58 and not v.lstrip(_NUM):
                return s
            h = hash(v)
            if h in self._recent:
                self._values[v] = s
                if len(self._values) == _VALUES:
                    self._full()
            else:
                self._recent[self._ri] = h
                self._ri = (self._ri + 1) & (_RECENT - 1)
        return s

    def _full(self):
        # The value cache is full, and never changes again. Most values are misses (ids,
        # readings), and a miss probes until it meets an empty slot: in the table the dict
        # grew into (32 entries in 37 slots; 24 in 29 took ~17 probes), each comparing bytes.
        # So the entries move to a table of _SLOTS, 40 % full (in 47 slots a parse of the
        # bench stream took 2.1 M instructions more), mostly paid for by the list of recent
        # misses, no longer needed: 384 B more held on x64. Only a speed-up: a heap too split
        # up for the new table (1,264 B on x64, 632 B on 32-bit, in one piece) keeps the old.
        self._recent = None
        try:
            t = _room(_SLOTS)
        except MemoryError:
            return
        t.update(self._values)
        self._values = t

    def _pile(self, s):
        """Text next to CDATA: collected, reported as one run at the next tag. Returns the
        list (for _parse's copy of self._text)."""
        if self._text is None:
            self._text = [s]
        else:
            self._text.append(s)
        return self._text

    def _flush(self):
        """Report the collected text; returns None (for _parse's copy of self._text)."""
        t = self._text
        self._text = None
        self._h.text("".join(t))

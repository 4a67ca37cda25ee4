"""StanzaBuilder: the tokenizer's handler. Resolves namespaces and builds one Element per
stanza (each child of the stream root), then hands it to a sink:

    sink.stream_start(attrs)  the <stream:stream> header's attributes (xmlns* removed)
    sink.stanza(el)           each complete depth-1 element (including stream:features)
    sink.stream_error(el)     a <stream:error> element
    sink.stream_end()         </stream:stream>

Namespace declarations are removed from Element.attrs; 'xml:lang' stays under that key; other
prefixed attribute names become '{uri}local'.

The tokenizer bounds a stanza's bytes; the objects built from them are bounded here: an
empty element costs about 200 bytes of heap (x64), an attribute about 90, so 4 KB of "<a/>"
would hold 200 KB. A stanza may weigh max_stanza // 8, where an element weighs 2 and an
attribute 1, else policy-violation: at most about 50 KB (x64) for a 4096-byte limit, while
real stanzas weigh one unit per 9 bytes or more (a readout of 46 fields in 4 KB: 336).
The tokenizer bounds one element's attributes (markup._ATTRS_MAX), before any is built.
"""

from xmlstream.element import CLIENT_NS, Element
from xmlstream.errors import XMLError

STREAMS_NS = "http://etherx.jabber.org/streams"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XMLNS_NS = "http://www.w3.org/2000/xmlns/"


class StanzaBuilder:
    def __init__(self, sink, content_ns=CLIENT_NS, max_stanza=4096):
        self._sink = sink
        self._cns = content_ns
        self._max_weight = max_stanza // 8
        self._weight = 0
        self.reset()

    def reset(self):
        self._stack = []  # open elements below the root
        self._depth = 0
        self._default = ""  # default namespace in scope
        self._prefixes = {"xml": XML_NS}
        self._undo = []  # (depth, prefix or None for the default, previous value)

    def start(self, name, attrs, ns):
        # Few locals on purpose: MicroPython puts a frame of more than 11 slots (locals and
        # stack) on the heap, which for this method would be one allocation per element.
        d = self._depth + 1
        self._depth = d
        if ns:
            name, ns = self._resolve(name, attrs, d)
        else:
            ns = self._default
        if d == 1:
            self._root(name, ns, attrs)
            return
        if d == 2:
            self._weight = 0
        self._weight += 2 + len(attrs)
        if self._weight > self._max_weight:
            raise XMLError("policy-violation", "too many elements and attributes in a stanza")
        el = Element(name, ns, attrs)
        if self._stack:
            self._stack[-1].children.append(el)
        self._stack.append(el)

    def _root(self, name, uri, attrs):
        if name != "stream" or uri != STREAMS_NS:
            raise XMLError("invalid-namespace", "the root must be <stream:stream>")
        if self._default != self._cns:
            raise XMLError("invalid-namespace", "content namespace must be " + self._cns)
        self._sink.stream_start(attrs)

    def end(self, name):
        d = self._depth
        self._depth = d - 1
        undo = self._undo
        if undo and undo[-1][0] == d:
            self._restore(d)
        if d == 1:
            self._sink.stream_end()
            return
        el = self._stack.pop()
        t = el.text
        if t and t.__class__ is list:
            el.text = "".join(t)  # mixed content, see text()
        if d == 2:
            if el.name == "error" and el.ns == STREAMS_NS:
                self._sink.stream_error(el)
            else:
                self._sink.stanza(el)

    def text(self, s):
        el = self._stack[-1]
        t = el.text
        if not t:
            el.text = s
        elif type(t) is str:
            # Mixed content: runs joined once, at the end tag. Each run appended to the text
            # so far would copy it again: 3.5 KB of "xxxxxxxxxx<b/>" allocated 430 KB (x64).
            el.text = [t, s]
        else:
            t.append(s)

    def _resolve(self, name, attrs, d):
        px = self._prefixes
        undo = self._undo
        prefixed = None
        for k in list(attrs):
            if k == "xmlns":
                undo.append((d, None, self._default))
                self._default = attrs.pop(k)
                if self._default == XML_NS or self._default == XMLNS_NS:
                    raise XMLError("not-well-formed", "reserved namespace as the default")
            elif k.startswith("xmlns:"):
                p = k[6:]
                v = attrs.pop(k)
                # Namespaces in XML 1.0 §3: xml only with its URI, xmlns never, no undeclaring.
                if not v or p == "xmlns" or v == XMLNS_NS or (p == "xml") != (v == XML_NS):
                    raise XMLError("not-well-formed", "illegal namespace declaration")
                undo.append((d, p, px.get(p)))
                px[p] = v
            elif ":" in k and not k.startswith("xml:"):
                if prefixed is None:
                    prefixed = []
                prefixed.append(k)
        if prefixed is not None:
            for k in prefixed:
                p, _, local = k.partition(":")
                key = "{%s}%s" % (self._uri(p), local)
                if key in attrs:
                    raise XMLError("not-well-formed", "duplicate attribute")
                attrs[key] = attrs.pop(k)
        if ":" in name:
            p, _, name = name.partition(":")
            return name, self._uri(p)
        return name, self._default

    def _uri(self, p):
        uri = self._prefixes.get(p)
        if uri is None:
            raise XMLError("bad-namespace-prefix", "unbound prefix " + p)
        return uri

    def _restore(self, d):
        undo = self._undo
        px = self._prefixes
        while undo and undo[-1][0] == d:
            _, p, old = undo.pop()
            if p is None:
                self._default = old
            elif old is None:
                del px[p]
            else:
                px[p] = old

"""Element: one XML element of a stanza, parsed or built, and its serializer.

    msg = Element("message", attrs={"to": "a@b.c", "type": "chat"})
    msg.children.append(Element("body", text="hi & bye"))
    tostring(msg)  # b"<message to='a@b.c' type='chat'><body>hi &amp; bye</body></message>"

An attribute name in Clark notation ('{uri}local') is written with a generated prefix.
Mixed content keeps only the concatenated text (XMPP payloads do not use mixed content).
"""

CLIENT_NS = "jabber:client"


def xml_chars(s):
    """s, or a copy with U+FFFD for what XML 1.0 §2.2 cannot carry (see writer.legal);
    TypeError for anything but a str (bytes would go out unchecked: invalid UTF-8, quotes)."""
    if type(s) is not str:
        raise TypeError("XML text must be str, not %s" % type(s).__name__)
    b = memoryview(s)  # the str's UTF-8, not copied
    # min() is one pass in C; len(s) counts characters, a faster one.
    if not b or (min(b) > 31 and len(b) == len(s)):
        return s  # ASCII without TAB, LF, CR: the usual case
    from xmlstream.writer import legal  # there, not here: the parser has no use for it

    return legal(s, s.encode())  # encode() shares the str's data: no copy


def escape_text(s):
    """Escape character data: & < > (and CR, which parsers would turn into LF); characters
    XML cannot carry become U+FFFD."""
    s = xml_chars(s)
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if "\r" in s:
        s = s.replace("\r", "&#13;")
    return s


def escape_attr(s):
    """Escape an attribute value for either quote style, keeping TAB/LF/CR (XML 1.0 3.3.3)."""
    s = escape_text(s)
    if "'" in s:
        s = s.replace("'", "&apos;")
    if '"' in s:
        s = s.replace('"', "&quot;")
    if "\n" in s:
        s = s.replace("\n", "&#10;")
    if "\t" in s:
        s = s.replace("\t", "&#9;")
    return s


class Element:
    # Most elements have no text: the class default keeps it out of the instance, whose
    # attribute table (grown one step per attribute set) would otherwise take another step.
    text = ""

    def __init__(self, name, ns=None, attrs=None, children=None, text=""):
        self.name = name
        self.ns = ns  # None: the parent's namespace
        self.attrs = {} if attrs is None else attrs
        self.children = [] if children is None else children
        if text:
            self.text = text

    def get(self, key, default=None):
        return self.attrs.get(key, default)

    def find(self, name, ns=None):
        """The first child with this local name (and namespace, if given), or None."""
        for c in self.children:
            if c.name == name and (ns is None or c.ns == ns):
                return c
        return None

    def write(self, w, parent_ns=CLIENT_NS):
        """Serialize as UTF-8 through w.write(piece); xmlns only where it changes.

        The tags are bytes: MicroPython's bytes % writes a str argument as its UTF-8, and
        a new bytes object is not looked up among the interned strings first, as every new
        str is (a linear scan over the qstrs the loaded modules added). The text is the str
        escape_text returns: w writes it as UTF-8.
        """
        ns = self.ns
        out = [b"<%s" % self.name]
        if ns is None or ns == parent_ns:
            ns = parent_ns
        else:
            out.append(b" xmlns='%s'" % escape_attr(ns))
        n = 0
        for k, v in self.attrs.items():
            if k.startswith("{"):  # not k[0]: indexing a str makes (and looks up) a new one
                uri, _, k = k[1:].rpartition("}")  # a local name holds no "}"
                out.append(b" xmlns:ns%d='%s'" % (n, escape_attr(uri)))
                k = b"ns%d:%s" % (n, k)
                n += 1
            out.append(b" %s='%s'" % (k, escape_attr(v)))
        if not self.children and not self.text:
            out.append(b"/>")
            w.write(b"".join(out))
            return
        out.append(b">")
        w.write(b"".join(out))
        if self.text:
            w.write(escape_text(self.text))  # apart: joined to the tag, it would be copied
        for c in self.children:
            c.write(w, ns)
        w.write(b"</%s>" % self.name)

    def __eq__(self, other):
        return (
            isinstance(other, Element)
            and self.name == other.name
            and self.ns == other.ns
            and self.attrs == other.attrs
            and self.text == other.text
            and self.children == other.children
        )

    def __repr__(self):
        return "<Element {%s}%s>" % (self.ns, self.name)


class _Pieces:
    def __init__(self):
        self.parts = []

    def write(self, piece):
        self.parts.append(piece.encode() if type(piece) is str else piece)


def tostring(el, parent_ns=CLIENT_NS):
    """Serialize el to UTF-8 bytes (for small uses and tests; see writer.Writer)."""
    w = _Pieces()
    el.write(w, parent_ns)
    return b"".join(w.parts)

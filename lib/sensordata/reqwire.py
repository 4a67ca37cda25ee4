"""XEP-0323 on the wire, the requester's side: the `<req>` iq it sends, and the parts of the
answers it reads (see wire.py for the device's side).

    lay = layout()                                    # once per requester
    data = iq(lay, "thing@example.org/sensor", "c1", "7", ("bme280-76",), None)  # bytes

A momentary request, the usual one, is written from `layout()` as bytes, without building
its elements: byte for byte what `st.iq("get", to, id_, req(...))` writes, which other
requests still are.
"""

from micropython import const

from sensordata import clock, wire
from xmlstream.element import Element, escape_attr, tostring
from xmpp import stanza as st

FIELD_TYPES = wire.FIELD_TYPES + ("int", "long", "date", "time", "duration")
# The attributes of a field that carry its data; any other one set to true is a flag (a field
# type, a QoS flag, or `writable`), so a boolean's value='true' is not taken for one.
_DATA_ATTRS = ("name", "value", "unit", "dataType", "module", "stringIds")
_QUEUED_MAX_S = const(86400)  # the longest wait for a queued request's `when` (as our sensor's)
_MARKS = (b"\x7f0", b"\x7f1", b"\x7f2")  # DEL: written as it is, never escaped


def _attrs(seqnr, flags, when, start, end):
    attrs = {"seqnr": seqnr}
    for name in flags or (("historical",) if start or end else ("momentary",)):
        attrs[name] = "true"
    for name, t in (("when", when), ("from", start), ("to", end)):
        if t:
            attrs[name] = t
    return attrs


def req(seqnr, node_ids=None, fields=None, flags=None, when=None, start=None, end=None):
    """The `<req>` element: momentary unless `flags` names the types, or historical when
    only a window (`start`, `end`: XEP-0323's from and to) is given."""
    children = [Element("node", wire.NS, {"nodeId": n}) for n in node_ids or ()]
    children += [Element("field", wire.NS, {"name": f}) for f in fields or ()]
    return Element("req", wire.NS, _attrs(seqnr, flags, when, start, end), children)


def layout():
    """(head, order): the momentary request's iq up to its `<req>`'s last attribute, with %s
    for the JID, the iq id and the seqnr, and which of them each %s is. Taken from the
    elements written with marks in their places, so the attributes come in the order this
    port's dicts give them, as when every request was written from its elements."""
    b = tostring(st.iq("get", _MARKS[0].decode(), _MARKS[1].decode(), req(_MARKS[2].decode())))
    b = b[: -len(b"/></iq>")].replace(b"%", b"%%")
    order = tuple(sorted(range(3), key=lambda i: b.find(_MARKS[i])))
    for m in _MARKS:
        b = b.replace(m, b"%s")
    return b, order


def iq(lay, to, id_, seqnr, node_ids=None, fields=None):
    """The momentary request iq as bytes. id_ and seqnr are the requester's own (hex and
    digits): nothing in them needs escaping."""
    head, order = lay
    v = (escape_attr(to), id_, seqnr)
    head = head % (v[order[0]], v[order[1]], v[order[2]])
    if not node_ids and not fields:
        return head + b"/></iq>"
    out = [head, b">"]
    for n in node_ids or ():
        out.append(b"<node nodeId='%s'/>" % escape_attr(n))
    for f in fields or ():
        out.append(b"<field name='%s'/>" % escape_attr(f))
    out.append(b"</req></iq>")
    return b"".join(out)


def error_text(answer):
    """What a rejection says: XEP-0323's `<rejected>` text, the stanza error's, or its
    condition."""
    rej = answer.find("rejected", wire.NS)
    if rej is not None:
        e = rej.find("error", wire.NS)
        if e is not None and e.text:
            return e.text
    err = answer.find("error", st.NS_CLIENT)
    if err is not None:
        t = err.find("text", st.NS_STANZAS)
        if t is not None and t.text:
            return t.text
    return st.error_condition(answer) or "rejected"


def field(f):
    """A field element as (name, typename, value, unit, data_type, flags)."""
    flags = []
    for k, v in f.attrs.items():
        if v in ("true", "1") and k not in _DATA_ATTRS:
            # XEP-0323's own examples still name `identity` by its old name.
            flags.append("identity" if k == "identification" else k)
    return (f.get("name"), f.name, f.get("value"), f.get("unit"), f.get("dataType"), tuple(flags))


def until(when):
    """Seconds from now to `when` (an xs:dateTime), within [0, a day]; 0 if unreadable."""
    if when is None:
        return 0
    try:
        left = clock.parse(when) - clock.unix_now()
    except clock.BadTime:
        return 0
    return min(max(left, 0), _QUEUED_MAX_S)

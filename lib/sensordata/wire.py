"""XEP-0323 on the wire: parsing `<req>`, and the elements a device and a requester send.

The dialect is the one slixmpp 1.17 speaks (namespace `urn:xmpp:iot:sensordata`, seqnr,
`done='true'` on the last message) plus what XEP-0323 0.3-0.6 requesters expect (a
standard `<error/>` next to `<rejected>`); see the README's wire-format section.
"""

from micropython import const

from sensordata import clock
from xmlstream.element import CLIENT_NS, Element, escape_attr
from xmpp import stanza as st

NS = "urn:xmpp:iot:sensordata"

# Request and field type flags, as bits (XEP-0323 §3.1 "Field Types"). Only those other
# modules name are public: a public name costs an interned string and a globals entry.
MOMENTARY = const(1)
PEAK = const(2)
_STATUS = const(4)
_COMPUTED = const(8)
IDENTITY = const(16)
_HIST_SECOND = const(32)
_HIST_MINUTE = const(64)
_HIST_HOUR = const(128)
HIST_DAY = const(256)
_HIST_WEEK = const(512)
_HIST_MONTH = const(1024)
_HIST_QUARTER = const(2048)
_HIST_YEAR = const(4096)
_HIST_OTHER = const(8192)
HISTORICAL = const(16352)  # every historical* bit
CURRENT = const(31)  # momentary | peak | status | computed | identity
ALL = const(16383)

FLAG_NAMES = (
    "momentary",
    "peak",
    "status",
    "computed",
    "identity",
    "historicalSecond",
    "historicalMinute",
    "historicalHour",
    "historicalDay",
    "historicalWeek",
    "historicalMonth",
    "historicalQuarter",
    "historicalYear",
    "historicalOther",
)
KINDS = {
    "momentary": MOMENTARY,
    "peak": PEAK,
    "status": _STATUS,
    "computed": _COMPUTED,
    "identity": IDENTITY,
}
# Every flag attribute of a <req> -> its bits; `historical` and `all` set several.
_REQ_FLAGS = {name: 1 << bit for bit, name in enumerate(FLAG_NAMES)}
_REQ_FLAGS["historical"] = HISTORICAL
_REQ_FLAGS["all"] = ALL
_REQ_TIMES = {"from": 0, "to": 1, "when": 2}
FIELD_TYPES = ("numeric", "string", "boolean", "dateTime", "timeSpan", "enum")
_MAX_FILTER = const(16)  # node or field names in one request; more is not a sensor's job


class BadRequest(ValueError):
    """A `<req>` we cannot honour as written: answered with `bad-request`."""


def _flag(value, where):
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise BadRequest("%s must be true or false, not %r" % (where, value))


class Request:
    """One parsed `<req>`: everything a readout needs, nothing of the XML tree."""

    def __init__(self, seqnr, flags, nodes, fields, t_from, t_to, when):
        self.seqnr = seqnr
        self.flags = flags
        self.nodes = nodes
        self.fields = fields
        self.t_from = t_from
        self.t_to = t_to
        self.when = when


def seqnr_of(el):
    s = el.get("seqnr")
    if not s or len(s) > 11 or not (s.isdigit() or (s.startswith("-") and s[1:].isdigit())):
        # Quoted no longer than a seqnr can be: anyone may send one (a cancel), whole
        # kilobytes of it, and the answer must still fit the output buffer.
        raise BadRequest("seqnr must be an integer, not %r" % (s and s[:12],))
    return s


def parse_req(req):
    """`<req>` element → Request; raises BadRequest naming what is wrong."""
    seqnr = seqnr_of(req)
    flags = 0
    times = [None, None, None]
    # The request's few attributes are looked up in the tables, not the 16 names in it.
    for name, v in req.attrs.items():
        bits = _REQ_FLAGS.get(name)
        if bits is not None:
            if _flag(v, name):
                flags |= bits
            continue
        i = _REQ_TIMES.get(name)
        if i is not None:
            try:
                times[i] = clock.parse(v)
            except clock.BadTime as e:
                raise BadRequest("%s: %s" % (name, e)) from None  # see clock.parse
    if not flags:
        flags = ALL  # XEP-0323 §3.1: no type flag means everything
    nodes, fields = [], []
    for child in req.children:
        if child.ns != NS:
            continue  # an extension (RFC 6120 §8.4), not one of our filters
        if child.name == "node":
            nid = child.get("nodeId")
            if not nid:
                raise BadRequest("node without nodeId")
            nodes.append(nid)
        elif child.name == "field":
            fname = child.get("name")
            if not fname:
                raise BadRequest("field without name")
            fields.append(fname)
    if len(nodes) > _MAX_FILTER or len(fields) > _MAX_FILTER:
        raise BadRequest("at most %d nodes and %d fields per request" % (_MAX_FILTER, _MAX_FILTER))
    if times[0] is not None and times[1] is not None and times[0] > times[1]:
        raise BadRequest("from is after to")
    if times[0] is not None:
        # Samples are whole seconds: a fraction of `from` starts the window at the next one.
        times[0] = clock.parse(req.get("from"), True)
    return Request(seqnr, flags, tuple(nodes) or None, tuple(fields) or None, *times)


# -- what a device sends ---------------------------------------------------------------------


def seq_element(name, seqnr, attrs=None, children=None):
    a = {"seqnr": seqnr}
    if attrs:
        a.update(attrs)
    return Element(name, NS, a, children)


class Accepted(Element):
    """The iq result accepting request `iq`: st.result(iq, seq_element("accepted", seqnr,
    {"queued": "true"} if queued else None)), the same bytes, written in one piece.

    An Element with that iq's attributes (the client reads them to answer one too large to
    send with resource-constraint), but no tree: the request's id and JID are escaped, the
    rest is constant or checked (seqnr passed seqnr_of).
    """

    name = "iq"
    ns = CLIENT_NS
    children = ()

    def __init__(self, iq, seqnr, queued=False):
        to, id_ = iq.get("from"), iq.get("id")
        if to and id_ is not None:
            self.attrs = {"type": "result", "to": to, "id": id_}
        else:  # never for a request the sensor accepts; the tree's attributes all the same
            self.attrs = st.iq("result", to, id_).attrs
        self.seqnr = seqnr
        self.queued = queued

    def write(self, w, parent_ns=CLIENT_NS):
        a = self.attrs
        to, id_ = a.get("to"), a.get("id")
        if to is None or id_ is None or parent_ns != CLIENT_NS:  # as the tree, see __init__
            q = {"queued": "true"} if self.queued else None
            st.iq("result", to, id_, seq_element("accepted", self.seqnr, q)).write(w, parent_ns)
            return
        # The attributes in the order Element.write gives them (MicroPython's dict order).
        w.write(
            b"<iq id='%s' type='result' to='%s'><accepted xmlns='%s' seqnr='%s'%s/></iq>"
            % (
                escape_attr(id_),
                escape_attr(to),
                NS,
                self.seqnr,
                b" queued='true'" if self.queued else b"",
            )
        )


def rejected(seqnr, text):
    return seq_element("rejected", seqnr, None, [Element("error", NS, None, None, text)])


def message(to, child, id_=None):
    # No type: chat clients do not show XEP-0323 traffic (notes §3).
    attrs = {"to": to}
    if id_:
        attrs["id"] = id_  # an error bounce carries it back (RFC 6120 §8.3.1)
    return Element("message", "jabber:client", attrs, [child])


def field_bytes(name, typename, value, unit, kind, data_type=None, plain=False):
    """One serialized field element (a value is required: fields without one are not sent).

    Formatted as bytes: MicroPython's bytes % writes a str argument as its UTF-8 (see
    Element.write for why no str is built on the way). `plain`: name, unit and data_type
    are known to need no escaping (a node's declarations, checked once: see Node.plain).
    """
    if value is True or value is False:
        value = "true" if value else "false"
    if not plain:
        name, unit = escape_attr(name), escape_attr(unit or "")
        if data_type:
            data_type = escape_attr(data_type)
    b = b"<%s name='%s' value='%s'" % (typename, name, escape_attr(value))
    if unit or typename == "numeric":
        # XEP-0323's schema requires a unit on numeric; a unitless value leaves it blank.
        b += b" unit='%s'" % (unit or "")
    if data_type:
        b += b" dataType='%s'" % data_type
    return b + b" %s='true' automaticReadout='true'/>" % kind


class FieldsMessage:
    """A `<fields>` message assembled from pre-serialized node blocks under a byte budget.

    Blocks are kept as bytes (a node's timestamp and its fields); `write` streams them into
    the output buffer, so the whole message never exists as one Python string.
    """

    def __init__(self, to, seqnr, id_=None):
        # `seqnr` passed seqnr_of (an integer) and `id_` is the sensor's own (bytes, see
        # Sensor._fields): neither has anything to escape; `to` may.
        self.head = b"<message to='%s'%s><fields xmlns='%s' seqnr='%s'" % (
            escape_attr(to),
            b" id='%s'" % id_ if id_ else b"",
            NS,
            seqnr,
        )
        self.blocks = []
        self.size = len(self.head) + 40
        self.done = False

    def add(self, block):
        self.blocks.append(block)
        self.size += len(block)

    def write(self, w, parent_ns=None):
        w.write(self.head)
        if not self.blocks:
            w.write(b" done='true'/></message>" if self.done else b"/></message>")
            return
        w.write(b" done='true'>" if self.done else b">")
        for b in self.blocks:
            w.write(b)
        w.write(b"</fields></message>")


def node_block(node_id, ts, field_xml, plain=False):
    """`<node><timestamp>fields</timestamp></node>` as bytes; `field_xml` is a list of bytes;
    `plain`: the node id is known to need no escaping (see Node.plain)."""
    return b"".join(
        (
            b"<node nodeId='%s'><timestamp value='%s'>"
            % (node_id if plain else escape_attr(node_id), clock.iso_bytes(ts)),
            b"".join(field_xml),
            b"</timestamp></node>",
        )
    )


def _error_attrs(node_id, ts):
    return {"nodeId": node_id} if ts is None else {"nodeId": node_id, "timestamp": clock.iso(ts)}


def failure(to, seqnr, errors, id_=None):
    """One `<failure done='true'>` naming every node that failed: [(node_id, ts or None when
    the board has no time, text)]."""
    children = [
        Element("error", NS, _error_attrs(nid, ts), None, text) for nid, ts, text in errors
    ]
    return message(to, seq_element("failure", seqnr, {"done": "true"}, children), id_)

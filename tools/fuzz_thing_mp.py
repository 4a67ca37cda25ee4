"""Fuzz cases for the whole Thing, stanza by stanza; runs inside MicroPython (from fuzz_mp.py).

A case is a board (FakeClient with its real Router and Roster, a Sensor, a Requester, chat
and the ad-hoc command) and a plan made from (SEED, index) alone: a stream of stanzas and a
few actions of the board's own (a readout requested from another thing, its cancel, a
wait). Stanzas come from a grammar over what reaches a board: chat messages (commands with
odd arguments, long bodies, threads, every type), XEP-0050 commands (every action, unknown
nodes, bogus and reused session ids, forms), disco#info/#items with and without nodes,
ping, version, roster pushes (from the server, the account, anyone), presence of every
type, XEP-0323 requests and cancels, XEP-0323 messages and iq answers at the requester
(for live, ended and unknown seqnrs and ids, malformed, from the wrong JID), bounces, and
stanzas without from, from the board itself, of type error; with hostile values (near and
over the limits, character references, empty and missing attributes, duplicated children,
wrong namespaces, odd resources, huge and negative numbers) and in sequences (subscribe,
unsubscribe, request; execute, cancel, next on one session; a readout, then strays for it).
Placeholders in the plan ({seq} {id} {sid} {mid}) are filled in from what the board said.

Checks, each stanza dispatched and the loop run until its handlers ended:
  escape    dispatch raises nothing (the XML layer's XMLError ends the case, as a stream)
  owed      every iq get/set with an id gets exactly one answer: its id, to its sender, type
            result or error (an iq of another type at most one error)
  silence   no answer to an iq result/error, to a stanza of type error, to a message of
            type error/groupchat/headline
  strangers nothing but the documented refusals for senders the model does not authorize
            (allow + contacts from genuine roster pushes): no readout, command, chat data
  requester callbacks only on answers from the JID asked; each session ends exactly once
  log       nothing logged at error level; nothing sent larger than the output buffer
  state     when the loop settles and the requesters are gone: both session tables free,
            no router tasks or pending iqs, the roster as the model has it and within
            max_contacts, the reply limiters at their size
Across cases (HeapWatch): gc.mem_alloc() after a warm-up and at the end of the run.
"""

import asyncio
import gc
import time

from fuzz_base_mp import HEADER, Violation, _chance, _pick, _r, parse_sent

from xmlstream.element import CLIENT_NS, Element, tostring
from xmlstream.errors import XMLError
from xmlstream.stream import XMLStream

MAX_STANZA = 4096
OUT_MAX = MAX_STANZA + 1024  # the output buffer (fuzz_mp.OUT_MAX_EXTRA)
HEAP_WARM = 40  # thing cases before the heap is measured
HEAP_SLACK = 8192  # bytes of growth allowed across a run: GC noise, caches at their bounds
ME = "dev@example.org/sensor"
TARGET = "thing2@example.org/sensor"
REFUSAL = "Sorry, you are not allowed to read this device."
NS_SD = "urn:xmpp:iot:sensordata"
NS_CMD = "http://jabber.org/protocol/commands"
NS_INFO = "http://jabber.org/protocol/disco#info"
NS_ITEMS = "http://jabber.org/protocol/disco#items"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"
NS_ROSTER = "jabber:iq:roster"
_PUBLIC = (NS_INFO, NS_ITEMS, NS_VERSION)  # what a stranger's iq may have as a result


# -- grammar ---------------------------------------------------------------------------

_OWNER = b"owner@example.org/phone"
_FRIEND = b"friend@example.net/pc"
_EVE = b"eve@evil.example/x"
_FROMS = (
    _OWNER,
    _OWNER,
    b"owner@example.org",
    b"Owner@EXAMPLE.org/phone",
    b"owner@example.org/laptop",
    _FRIEND,
    b"friend@example.net",
    _EVE,
    b"eve@evil.example",
    b"example.org",
    b"dev@example.org",
    b"dev@example.org/sensor",
    b"dev@example.org/other",
    b"thing2@example.org/sensor",
    b"owner@example.org/",
    b"owner@example.org/a/b",
    b"owner@example.org/" + b"r" * 1030,
    b"owner@example.org/" + b"r" * 1020,
    b"owner@example.org/\xe2\x80\x8b&#x9;",
    b"@example.org/x",
    b"owner@@example.org",
    b"own er@example.org/x",
    b"owner@example.org./x",
    b"\xc3\xa9ve@example.org/\xe2\x82\xac",
    b"",
    None,
)
_TARGETS = (b"thing2@example.org/sensor", b"Thing2@Example.ORG/sensor")
_WRONG = (b"thing2@example.org", b"thing2@example.org/other", b"thing2@example.org/Sensor")
_WRONG += (_OWNER, _EVE, b"example.org", None)
_NUMS = (b"1", b"2", b"0", b"-1", b"-5", b"99999999999", b"999999999999", b"", b"abc", b"1.5")
_NUMS += (b" 1", b"00001", b"\xd9\xa3", b"1" * 40, b"-")
_TYPES_MSG = (b"chat", b"chat", b"normal", b"groupchat", b"headline", b"error", b"", b"x", None)
_TYPES_PRES = (b"subscribe", b"subscribed", b"unsubscribe", b"unsubscribed", b"unavailable")
_TYPES_PRES += (b"probe", b"error", b"", b"SUBSCRIBE", None)
_TYPES_IQ = (b"get", b"get", b"set", b"set", b"result", b"error", b"GET", b"", None)
_BODIES = (
    b"help",
    b"?",
    b"nodes",
    b"read",
    b"read sht4x-44",
    b"read sht4x-44 Temperature",
    b"READ adc-1 voltage",
    b"read nope",
    b"read sht4x-44 Nope extra words",
    b"status",
    b"hello",
    b"hi there",
    b"",
    b"   ",
    b"&#9;read&#10;",
    b"read\t\tadc-1",
    b"\xe2\x82\xac uro",
    b"&lt;read&gt;",
    b"read " + b"x" * 300,
    b"x" * 3900,
    b"read " * 700,
    b"Unknown command 'x'.",
    b"Sorry, you are not allowed to read this device.",
)
_NODES_DISCO = (NS_CMD.encode(), b"read", b"", b"urn:x", b"Read", b"n" * 2000)
_ACTIONS = (b"execute", b"next", b"prev", b"cancel", b"complete", b"", b"bogus", None)
_SIDS = (None, None, b"{sid}", b"{sid}", b"", b"bogus", b"00000000-1", b"{sid}0", b"s" * 500)


def _a(name, value):
    """An attribute; None leaves it out."""
    if value is None:
        return b""
    q = b'"' if b"'" in value else b"'"
    return b" " + name + b"=" + q + value + q


def _frm():
    return _pick(_FROMS)


def _stanza(name, typ, frm, inner, id_=None, to=None):
    head = b"<" + name + _a(b"type", typ) + _a(b"from", frm) + _a(b"id", id_)
    if to is not None or _chance(3):
        head += _a(b"to", to or _pick((b"dev@example.org/sensor", b"dev@example.org", b"")))
    return head + b">" + inner + b"</" + name + b">"


def _iq_id():
    return _pick((b"i1", b"i2", b"i1", b"", b"{id}", b"c1", None, b"i" * 300))


def _chat(frm=None, body=None):
    inner = []
    if body is None:
        body = _pick(_BODIES)
    if not _chance(10):
        ns = b"" if not _chance(15) else b" xmlns='urn:x'"
        inner.append(b"<body%s>%s</body>" % (ns, body))
    if _chance(8):
        inner.append(b"<body>%s</body>" % _pick(_BODIES))  # duplicated
    if _chance(4):
        inner.append(b"<thread>%s</thread>" % _pick((b"t1", b"", b"t" * 2000, b"&amp;\xc3\xa9")))
    if _chance(15):
        inner.append(b"<thread>t2</thread>")
    if _chance(12):
        inner.append(b"<delay xmlns='urn:xmpp:delay' stamp='2026-11-23T21:02:03Z'/>")
    if _chance(10):
        inner.append(b"<active xmlns='http://jabber.org/protocol/chatstates'/>")
    if _chance(12):
        inner.append(b"<subject>s</subject>")
    if _chance(20):
        inner.insert(0, b"<x xmlns='urn:x'><body>read</body></x>")
    typ = _pick(_TYPES_MSG)
    if typ == b"error" and _chance(2):
        inner.append(_error_el())
    frm = _frm() if frm is None else frm
    return _stanza(b"message", typ, frm, b"".join(inner), _pick((None, b"m1", b"c1.1")))


def _error_el():
    return _pick(
        (
            b"<error type='cancel'><service-unavailable"
            b" xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            b"<error type='continue'><undefined-condition"
            b" xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            b"<error/>",
        )
    )


def _form():
    return _pick(
        (
            b"<x xmlns='jabber:x:data' type='submit'><field var='a'><value>1</value></field></x>",
            b"<x xmlns='jabber:x:data' type='cancel'/>",
            b"<x xmlns='jabber:x:data'/><x xmlns='jabber:x:data'/>",
            b"<x xmlns='urn:x' type='submit'/>",
        )
    )


def _command(frm=None, action=-1, sid=-1, node=-1, typ=-1):
    node = _pick((b"read", b"read", b"read", b"Read", b"", b"other", None)) if node == -1 else node
    action = _pick(_ACTIONS) if action == -1 else action
    sid = _pick(_SIDS) if sid == -1 else sid
    ns = NS_CMD.encode() if not _chance(20) else b"http://jabber.org/protocol/command"
    inner = b"<command xmlns='%s'%s%s%s>" % (
        ns,
        _a(b"node", node),
        _a(b"action", action),
        _a(b"sessionid", sid),
    )
    if _chance(4):
        inner += _form()
    inner += b"</command>"
    if _chance(25):
        inner += b"<ping xmlns='urn:xmpp:ping'/>"
    typ = (b"set" if not _chance(5) else _pick(_TYPES_IQ)) if typ == -1 else typ
    return _stanza(b"iq", typ, _frm() if frm is None else frm, inner, _iq_id())


def _disco():
    ns = _pick((NS_INFO.encode(), NS_ITEMS.encode()))
    node = _pick(_NODES_DISCO) if _chance(2) else None
    inner = b"<query xmlns='%s'%s/>" % (ns, _a(b"node", node))
    if _chance(20):
        inner += inner
    typ = b"get" if not _chance(5) else _pick(_TYPES_IQ)
    return _stanza(b"iq", typ, _frm(), inner, _iq_id())


def _basic():
    inner = _pick(
        (
            b"<ping xmlns='urn:xmpp:ping'/>",
            b"<query xmlns='jabber:iq:version'/>",
            b"<query xmlns='jabber:iq:version'><name>x</name></query>",
            b"<ping xmlns='urn:xmpp:ping:x'/>",
            b"<unknown xmlns='urn:x'/>",
            b"",
            b"<query xmlns='jabber:iq:last'/>",
            b"<vCard xmlns='vcard-temp'/>",
        )
    )
    return _stanza(b"iq", _pick(_TYPES_IQ), _frm(), inner, _iq_id())


_PUSH_FROMS = (None, None, b"dev@example.org", b"DEV@example.org", b"dev@example.org/other")
_PUSH_FROMS += (b"example.org", _OWNER, _EVE, b"")
_ITEM_JIDS = (
    b"friend@example.net",
    b"Friend@example.net",
    b"eve@evil.example",
    b"owner@example.org",
)
_ITEM_JIDS += (b"friend@example.net/pc", b"", b"@x", b"thing2@example.org", b"c%d@example.net")
_SUBS = (b"both", b"from", b"to", b"none", b"remove", b"", None, b"BOTH")


def _roster(frm=-1, jid=None, sub=-1):
    items = []
    for k in range(1 + _r(3) if not _chance(10) else 6 + _r(20)):
        j = jid if jid is not None else _pick(_ITEM_JIDS)
        if b"%d" in j:
            j = j % k
        s = _pick(_SUBS) if sub == -1 else sub
        name = b"item" if not _chance(20) else b"other"
        items.append(b"<%s%s%s/>" % (name, _a(b"jid", j), _a(b"subscription", s)))
    inner = b"<query xmlns='jabber:iq:roster'>%s</query>" % b"".join(items)
    frm = _pick(_PUSH_FROMS) if frm == -1 else frm
    typ = b"set" if not _chance(6) else _pick(_TYPES_IQ)
    return _stanza(b"iq", typ, frm, inner, _pick((b"push1", b"", None, b"c1")))


def _presence(frm=None, typ=-1):
    typ = _pick(_TYPES_PRES) if typ == -1 else typ
    inner = b""
    if _chance(4):
        inner += _pick((b"<show>away</show>", b"<status>x</status>", b"<priority>-129</priority>"))
    if typ == b"error" and _chance(2):
        inner += _error_el()
    if _chance(10):
        inner += b"<x xmlns='vcard-temp:x:update'><photo/></x>"
    return _stanza(b"presence", typ, _frm() if frm is None else frm, inner, _pick((None, b"p1")))


def _flags():
    out = b""
    used = []
    for _ in range(_r(3)):
        name = _pick((b"momentary", b"identity", b"status", b"historical", b"all", b"peak"))
        if name not in used:  # a duplicated attribute is the XML layer's to refuse
            used.append(name)
            out += _a(name, _pick((b"true", b"true", b"false", b"1", b"maybe", b"")))
    if _chance(6):
        when = (b"{soon}", b"{soon}", b"2026-11-23T21:02:03Z", b"2099-01-01T00:00:00Z", b"x")
        out += _a(b"when", _pick(when))
    return out


def _req(frm=None, seqnr=None):
    seq = _pick(_NUMS) if seqnr is None else seqnr
    kids = b""
    for _ in range(_r(3)):
        kids += _pick(
            (
                b"<node nodeId='sht4x-44'/>",
                b"<node nodeId='adc-1'/>",
                b"<field name='Temperature'/>",
                b"<node nodeId='nope'/>",
                b"<node/>",
                b"<field name=''/>",
            )
        )
    if _chance(3):
        payload = b"<cancel xmlns='urn:xmpp:iot:sensordata'%s/>" % _a(b"seqnr", seq)
    else:
        payload = b"<req xmlns='urn:xmpp:iot:sensordata'%s%s>%s</req>" % (
            _a(b"seqnr", seq if not _chance(12) else None),
            _flags(),
            kids,
        )
    typ = _pick((b"get", b"get", b"set")) if not _chance(8) else _pick(_TYPES_IQ)
    return _stanza(b"iq", typ, _frm() if frm is None else frm, payload, _iq_id())


_SEQ_REFS = (b"{seq}", b"{seq}", b"{seq}", b"{old}") + _NUMS


def _field_xml():
    return _pick(
        (
            b"<numeric name='Temperature' value='21.5' unit='C' momentary='true'/>",
            b"<numeric value='1'/>",
            b"<string name='Chip' value='x' identity='true' writable='true'/>",
            b"<boolean name='Ok' value='true'/>",
            b"<int name='n' value='-99999999999999999999'/>",
            b"<date name='d' value='yesterday'/>",
            b"<numeric name='%s' value='%s'/>" % (b"n" * 300, b"9" * 300),
            b"<unknown name='x' value='1'/>",
            b"<numeric name='T' value='1' unit='C'>text</numeric>",
        )
    )


def _device_msg(frm=-1, seq=None, kind=None):
    kind = kind or _pick((b"fields", b"fields", b"failure", b"started", b"done", b"cancelled"))
    seq = _pick(_SEQ_REFS) if seq is None else seq
    attrs = _a(b"seqnr", seq if not _chance(15) else None)
    if _chance(2):
        attrs += _a(b"done", _pick((b"true", b"1", b"false", b"", b"TRUE")))
    kids = b""
    if kind == b"fields":
        for _ in range(_r(3)):
            ts = b"".join(_field_xml() for _ in range(_r(4)))
            stamp = _a(b"value", _pick((b"2026-11-23T21:02:03Z", b"", b"x", None)))
            kids += b"<node%s><timestamp%s>%s</timestamp></node>" % (
                _a(b"nodeId", _pick((b"n1", b"", None, b"n" * 200))),
                stamp,
                ts,
            )
            if _chance(6):
                kids += b"<timestamp value='x'/>"
    elif kind == b"failure":
        for _ in range(_r(3)):
            kids += b"<error%s>%s</error>" % (
                _a(b"nodeId", _pick((b"n1", b"", None))),
                _pick((b"Timeout", b"", b"e" * 1000)),
            )
    ns = NS_SD.encode() if not _chance(20) else b"urn:xmpp:iot:sensordata:x"
    inner = b"<%s xmlns='%s'%s>%s</%s>" % (kind, ns, attrs, kids, kind)
    frm = _pick(_TARGETS) if frm == -1 and not _chance(4) else _pick(_WRONG) if frm == -1 else frm
    typ = None if not _chance(6) else _pick(_TYPES_MSG)
    return _stanza(b"message", typ, frm, inner, _pick((None, b"m1")))


def _device_iq(frm=-1, id_=b"{id}"):
    typ = _pick((b"result", b"result", b"error", b"get", b"set", None))
    inner = _pick(
        (
            b"<accepted xmlns='urn:xmpp:iot:sensordata' seqnr='{seq}'/>",
            b"<accepted xmlns='urn:xmpp:iot:sensordata' seqnr='{seq}' queued='true'/>",
            b"<accepted xmlns='urn:xmpp:iot:sensordata'/>",
            b"<rejected xmlns='urn:xmpp:iot:sensordata' seqnr='{seq}'><error>no</error></rejected>"
            b"<error type='cancel'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            b"</error>",
            b"<cancelled xmlns='urn:xmpp:iot:sensordata' seqnr='{seq}'/>",
            b"",
            _error_el(),
        )
    )
    frm = _pick(_TARGETS) if frm == -1 and not _chance(4) else _pick(_WRONG) if frm == -1 else frm
    id_ = _pick((b"{id}", b"{id}", b"{oldid}", b"c999", b"", None)) if id_ is None else id_
    return _stanza(b"iq", typ, frm, inner, id_)


def _bounce():
    inner = _error_el() if not _chance(4) else b""
    frm = _pick((_OWNER, _OWNER, b"Owner@example.org/phone", _EVE, None, b"owner@example.org"))
    id_ = _pick((b"{mid}", b"{mid}", b"c1.1", b".", b"x.", b"c1.99999999999"))
    return _stanza(b"message", b"error", frm, inner, id_)


_GENERATORS = (
    _chat,
    _chat,
    _chat,
    _command,
    _command,
    _disco,
    _basic,
    _roster,
    _roster,
    _presence,
    _presence,
    _presence,
    _req,
    _req,
    _device_msg,
    _device_msg,
    _device_iq,
    _bounce,
)


def _request_action():
    flags = _pick((None, ("momentary",), ("all",), ("identity", "status")))
    when = _pick((None, None, None, "2099-01-01T00:00:00Z"))
    return ("request", _pick(_TARGETS).decode(), flags, when)


def _scenario(plan):
    """A few steps that belong together."""
    k = _r(8)
    if k == 0:  # subscribe, unsubscribe, then a request
        frm = _pick((_OWNER, _FRIEND, _EVE, b"friend@example.net"))
        plan.append(_presence(frm, b"subscribe"))
        plan.append(_presence(frm, _pick((b"unsubscribe", b"unsubscribed", b"unavailable"))))
        plan.append(_req(frm, b"1"))
    elif k == 1:  # a contact granted, reading, then revoked while it reads
        plan.append(_roster(None, b"friend@example.net", _pick((b"both", b"from"))))
        plan.append(_req(_FRIEND, _pick((b"1", b"2"))))
        plan.append(_roster(_pick((None, b"dev@example.org")), b"friend@example.net", b"remove"))
        plan.append(_chat(_FRIEND, b"read"))
    elif k == 2:  # one command session: execute, then cancel, next, complete on it
        frm = _pick((_OWNER, _OWNER, _EVE))
        plan.append(_command(frm, b"execute", None, b"read", b"set"))
        for action in (b"cancel", b"next", b"complete", b"execute")[: 1 + _r(4)]:
            plan.append(_command(frm, action, b"{sid}", b"read", b"set"))
    elif k == 3:  # a readout of ours, its answers, then strays for it
        plan.append(_request_action())
        plan.append(_device_iq(_TARGETS[0], b"{id}"))
        for _ in range(1 + _r(4)):
            plan.append(_device_msg(seq=b"{seq}"))
        plan.append(_device_msg(_TARGETS[0], b"{seq}", b"done"))
        plan.append(_device_msg(seq=_pick((b"{seq}", b"{old}"))))
    elif k == 4:  # a readout of ours, cancelled, answered
        plan.append(_request_action())
        if _chance(2):
            plan.append(_device_iq(_TARGETS[0], b"{id}"))
        plan.append(("cancel",))
        plan.append(_device_iq(-1, None))
        plan.append(_device_msg(seq=b"{seq}"))
    elif k == 5:  # a request answered, then bounced
        plan.append(_req(_OWNER, _pick((b"1", b"2", b"3"))))
        plan.append(_bounce())
    elif k == 6:
        plan.append(("wait", _pick((20, 60))))
    else:
        plan.append(_request_action())


def gen_plan():
    plan = []
    for _ in range(1 + _r(8)):
        if _chance(4):
            _scenario(plan)
        else:
            plan.append(_pick(_GENERATORS)())
    return plan


def describe(plan):
    return [p if isinstance(p, tuple) else p.decode("utf-8", "replace")[:400] for p in plan]


# -- the board ---------------------------------------------------------------------------

TH = (
    ("Temperature", "numeric", "\u00b0C", "momentary"),
    ("Humidity", "numeric", "%", "momentary"),
    ("Chip", "string", "", "identity"),
    ("Ok", "boolean", "", "status"),
)
ADC = (("Voltage", "numeric", "V", "momentary"),)


class Board:
    """What thing.app.Thing wires together, over a FakeClient with a bounded output."""

    def __init__(self):
        from fakeclient import FakeClient

        from sensordata.clock import Clock
        from sensordata.device import MemoryDevice
        from sensordata.requester import Requester
        from sensordata.sensor import Sensor
        from thing.chat import Chat
        from thing.uptime import Uptime

        self.client = c = FakeClient()
        c.connects = 1  # the real client counts its connections; `status` shows it
        c.roster.max_contacts = 1 + _r(4)
        plain = c.send

        def send(el):
            # Bytes go out as they are, as the real client's outbox takes them.
            size = len(el) if isinstance(el, bytes) else len(tostring(el))
            if size > OUT_MAX:
                c.log.error("not sent: stanza larger than the output buffer")
                return False
            return plain(el)

        c.send = c.router.send = send
        self.clock = Clock(synced=not _chance(8))
        self.sensor = Sensor(c, self.clock, sessions=1 + _r(3), budget=_pick((150, 1536)))
        dev = MemoryDevice(TH, ("21.53", "45.2", "SHT<&>", True))
        adc = MemoryDevice(ADC, ("3.30",))
        if _chance(8):
            adc.fail = OSError(19)
        self.sensor.register_node("sht4x-44", dev, comm_timeout=200)
        self.sensor.register_node("adc-1", adc, comm_timeout=20)
        self.requester = Requester(c, 1 + _r(2), timeout_ms=_pick((40, 30_000)))
        self.uptime = Uptime()
        self.chat = Chat(self)


class _Sink:
    def __init__(self):
        self.got = []

    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        self.got.append(el)

    def stream_error(self, el):
        raise XMLError("undefined-condition", "stream error in a case")

    def stream_end(self):
        raise XMLError("undefined-condition", "stream end in a case")


def _bare(j):
    from xmpp import jid

    try:
        return jid.bare(j) if j else None
    except jid.JIDError:
        return None


def _genuine(frm):
    return _bare(frm) == "dev@example.org" and "/" not in frm


def _norm(j):
    from xmpp import jid

    try:
        return jid.normalize(j) if j else None
    except jid.JIDError:
        return None


class Checker:
    """Runs a plan on a fresh board and checks every answer against a model of it."""

    def __init__(self, stats):
        self.stats = stats
        self.b = Board()
        self.allow = ("owner@example.org",)
        self.contacts = set()  # the model of the roster: genuine pushes only
        self.seq = self.old = None  # our requests' seqnrs: the latest, the one before
        self.ids = []  # ids of the iq requests we sent
        self.sid = None
        self.mid = None
        self.accepted = set()  # (to, seqnr) of requests the sensor accepted
        self.requests = []  # per request_data: [callback results]
        self.inbound = None  # the stanza being handled

    def count(self, key):
        self.stats[key] = self.stats.get(key, 0) + 1

    def authorized(self, j):
        b = _bare(j)
        return b is not None and (b in self.allow or b in self.contacts)

    def fill(self, data):
        for key, val in (
            (b"{seq}", self.seq),
            (b"{old}", self.old),
            (b"{id}", self.ids[-1] if self.ids else None),
            (b"{oldid}", self.ids[0] if self.ids else None),
            (b"{sid}", self.sid),
            (b"{mid}", self.mid),
            (b"{soon}", self.soon()),
        ):
            if key in data:
                data = data.replace(key, val.encode() if val else b"1")
        return data

    def soon(self):
        from sensordata.clock import iso

        return iso(self.b.clock.now() + 60)  # a `when` the sensor queues

    async def run(self, plan):
        sink = _Sink()
        xs = XMLStream(sink, MAX_STANZA)
        xs.feed(HEADER)
        for step in plan:
            if isinstance(step, tuple):
                await self.action(step)
                continue
            try:
                xs.feed(self.fill(step))
            except XMLError as e:
                self.count("thing:xml:" + e.condition)
                break
            got, sink.got = sink.got, []
            for el in got:
                await self.stanza(el)
        await self.finish()

    async def action(self, step):
        b = self.b
        self.inbound = None
        if step[0] == "request":
            results = []
            n = len(self.requests)

            def cb(s, result, node_id=None, ts=None, fields=None, error_msg=None):
                results.append((result, s.state == "ended"))
                frm = self.inbound.get("from") if self.inbound is not None else None
                if result in ("accepted", "queued", "started", "fields", "done", "rejected"):
                    if self.inbound is None or _norm(frm) != TARGET:
                        raise Violation(
                            "requester", "%s for request %d from %r" % (result, n, frm)
                        )

            s = b.requester.request_data(step[1], cb, ["sht4x-44"], None, step[2], step[3])
            if s is not None:
                self.requests.append(results)
                self.old, self.seq = self.seq, s.seqnr
                self.count("thing:requested")
        elif step[0] == "cancel":
            for s in b.requester.table.slots:
                if s.jid is not None and s.seqnr == self.seq:
                    b.requester.cancel_request(s)
        else:
            await asyncio.sleep_ms(step[1])
        await self.settle()
        self.answers(b.client.take())

    async def settle(self, limit_ms=2000):  # a loaded host is slow: this only catches hangs
        r = self.b.client.router
        t0 = time.ticks_ms()
        turns = 0
        while time.ticks_diff(time.ticks_ms(), t0) < limit_ms:
            await asyncio.sleep_ms(0 if turns < 20 else 1)
            turns += 1
            busy = r.tasks
            for s in self.b.sensor.table.slots:
                if s.jid is not None and s.state != "queued":
                    busy += 1
            if not busy and turns > 3:
                return
        raise Violation("state", "the loop did not settle (%d router tasks)" % r.tasks)

    async def stanza(self, el):
        b = self.b
        self.inbound = el
        self.model(el)
        try:
            b.client.router.dispatch(el)
        except Violation:
            raise
        except Exception as e:  # noqa: BLE001 - what we hunt
            raise Violation("escape", "dispatch raised %r on %r" % (e, tostring(el)[:300]))
        await self.settle()
        self.answers(b.client.take())
        self.inbound = None

    def model(self, el):
        """The roster as genuine pushes make it (RFC 6121 §2.1.6)."""
        if el.name != "iq" or el.get("type") != "set" or el.get("id") is None:
            return
        if len(el.children) != 1:
            return
        q = el.children[0]
        if q.name != "query" or q.ns != NS_ROSTER:
            return
        frm = el.get("from")
        if frm and not _genuine(frm):
            return
        cap = self.b.client.roster.max_contacts
        for item in q.children:
            j = _bare(item.get("jid"))
            if j is None:
                continue
            if item.get("subscription") in ("from", "both"):
                if j in self.contacts or len(self.contacts) < cap:
                    self.contacts.add(j)
            else:
                self.contacts.discard(j)
        self.count("thing:push")

    def answers(self, sent):
        el_in = self.inbound
        owed = 0
        # An iq outside jabber:client (<iq xmlns=''>) is no stanza, and owes nothing.
        if (
            el_in is not None
            and el_in.name == "iq"
            and el_in.ns == CLIENT_NS
            and el_in.get("id") is not None
        ):
            t = el_in.get("type")
            owed = 1 if t in ("get", "set") else 0 if t in ("result", "error") else -1
        answered = 0
        chat = 0
        presences = 0
        for raw in sent:
            el = parse_sent(raw)
            kind = el.name
            typ = el.get("type")
            to = el.get("to")
            if kind != "iq" and _bare(to) == "dev@example.org":
                raise Violation("silence", "the board answered itself: %r" % raw)
            if kind == "iq" and typ in ("get", "set"):
                self.our_request(el, raw)
                continue
            if kind == "iq":
                self.count("thing:iq-" + typ)
                answered += 1
                if el_in is None or el_in.name != "iq" or owed == 0:
                    raise Violation("silence", "iq answer to no iq owed one: %r" % raw)
                if answered > 1:
                    raise Violation("owed", "second answer: %r" % raw)
                if owed < 0 and typ != "error":
                    raise Violation("owed", "a malformed iq answered with a result: %r" % raw)
                if el.get("id") != el_in.get("id") or (to or None) != (el_in.get("from") or None):
                    raise Violation("owed", "answer with wrong id or address: %r" % raw)
                if typ not in ("result", "error"):
                    raise Violation("owed", "answer of type %r: %r" % (typ, raw))
                if typ == "result":
                    self.result(el_in, el, raw)
                continue
            if kind == "message" and el.children and el.children[0].ns == NS_SD:
                self.readout(el, raw)
                continue
            if kind == "message" and el.find("body") is not None:
                chat += 1
                self.chat_reply(el_in, el, raw, chat)
                continue
            if kind == "presence":
                presences += 1
                self.presence_reply(el_in, el, raw, presences)
                continue
            raise Violation("silence", "unexpected stanza sent: %r" % raw)
        if owed == 1 and not answered:
            raise Violation("owed", "iq got no answer: %r" % tostring(el_in)[:300])

    def our_request(self, el, raw):
        ch = el.children[0] if el.children else None
        if (
            ch is None
            or ch.ns != NS_SD
            or ch.name not in ("req", "cancel")
            or el.get("to") != TARGET
        ):
            raise Violation("silence", "an iq request of our own nobody made: %r" % raw)
        self.ids.append(el.get("id"))
        if len(self.ids) > 2:
            self.ids.pop(0)

    def result(self, el_in, el, raw):
        frm = el_in.get("from")
        p = el_in.children[0] if el_in.children else None
        ch = el.children[0] if el.children else None
        if ch is not None and ch.name == "accepted" and ch.ns == NS_SD:
            self.accepted.add((_norm(el.get("to")), ch.get("seqnr")))
            self.count("thing:accepted")
        if ch is not None and ch.name == "command" and ch.ns == NS_CMD:
            self.sid = ch.get("sessionid")
            self.count("thing:command")
        if self.authorized(frm):
            return
        if p is not None and p.ns == NS_ROSTER and (not frm or _genuine(frm)):
            return  # a push from the server or the account itself
        if p is None or (p.ns != NS_PING and p.ns not in _PUBLIC):
            raise Violation("strangers", "a stranger's iq got a result: %r" % raw)
        if ch is not None and ch.ns == NS_ITEMS and ch.children:
            raise Violation("strangers", "a stranger was shown items: %r" % raw)
        if ch is not None and ch.ns == NS_INFO and ch.get("node") not in (None, NS_CMD):
            raise Violation("strangers", "a stranger was shown a node: %r" % raw)

    def readout(self, el, raw):
        to = el.get("to")
        ch = el.children[0]
        if (_norm(to), ch.get("seqnr")) not in self.accepted:
            raise Violation("strangers", "readout message for no accepted request: %r" % raw)
        if not self.authorized(to):
            # Access ended during the readout: all it is owed is a final failure, no data.
            final = ch.name == "failure" and ch.get("done") == "true"
            if not final or any(e.text != "Access denied" for e in ch.children):
                raise Violation("strangers", "readout message to a revoked contact: %r" % raw)
            self.count("thing:readout-revoked")
        self.mid = el.get("id")
        self.count("thing:readout-" + ch.name)

    def chat_reply(self, el_in, el, raw, n):
        if el_in is None or el_in.name != "message" or n > 1:
            raise Violation("silence", "chat message answering no message: %r" % raw)
        t = el_in.get("type")
        if t in ("error", "groupchat", "headline"):
            raise Violation("silence", "a %s message answered: %r" % (t, raw))
        if el.get("to") != el_in.get("from"):
            raise Violation("owed", "chat reply to another address: %r" % raw)
        if el.get("type") != (t if t == "chat" else "normal"):
            raise Violation("owed", "chat reply of type %r to %r" % (el.get("type"), t))
        if not self.authorized(el_in.get("from")):
            if el.find("body").text != REFUSAL:
                raise Violation("strangers", "a stranger got more than a refusal: %r" % raw)
            self.count("thing:chat-refused")
        else:
            self.count("thing:chat")

    def presence_reply(self, el_in, el, raw, n):
        if el_in is None or el_in.name != "presence" or el_in.get("type") != "subscribe":
            raise Violation("silence", "presence answering no subscription: %r" % raw)
        if n > 2 or el.get("to") != _bare(el_in.get("from")):
            raise Violation("owed", "presence answer %d to %r" % (n, el.get("to")))
        if not self.authorized(el_in.get("from")) and el.get("type") != "unsubscribed":
            raise Violation("strangers", "a stranger's subscription approved: %r" % raw)
        self.count("thing:presence-" + el.get("type"))

    async def finish(self):
        b = self.b
        c = b.client
        r = c.router
        sensor = b.sensor
        await self.settle()
        # Requests queued for a later `when`: their requesters go away.
        for s in sensor.table.slots:
            if s.jid is not None:
                if s.state != "queued":
                    raise Violation("state", "sensor slot %d stuck in %s" % (s.index, s.state))
                from xmpp import stanza as st

                # As a server sends it: the JID in its normal form.
                frm = _norm(s.jid)
                self.inbound = Element(
                    "presence", st.NS_CLIENT, {"type": "unavailable", "from": frm}
                )
                r.dispatch(self.inbound)
        await self.settle()
        self.answers(c.take())
        if sensor.table.in_use():
            raise Violation("state", "%d sensor slots in use" % sensor.table.in_use())
        c.go_offline()
        r.drop_pending()  # as the client does when a connection ends
        for _ in range(5):
            await asyncio.sleep_ms(0)
        if b.requester.table.in_use():
            raise Violation("state", "%d requester slots in use" % b.requester.table.in_use())
        if r.pending or r.tasks:
            raise Violation("state", "%d iqs pending, %d tasks" % (len(r.pending), r.tasks))
        for i, results in enumerate(self.requests):
            finals = sum(1 for _, ended in results if ended)
            if finals != 1 or not results[-1][1]:
                raise Violation(
                    "requester", "request %d ended %d times: %r" % (i, finals, results)
                )
            self.count("thing:req-" + results[-1][0])
        roster = c.roster
        if len(roster.contacts) > roster.max_contacts or roster.contacts != self.contacts:
            raise Violation(
                "state", "roster %r, model %r" % (sorted(roster.contacts), sorted(self.contacts))
            )
        for lim in (b.chat._refused, b.chat._unknown):
            if len(lim.slots) != 4:
                raise Violation("state", "reply limiter holds %d" % len(lim.slots))
        for line in c.log.lines:
            if line.startswith("E "):
                raise Violation("log", "logged: " + line)


def check_thing(plan, stats):
    ch = Checker(stats)
    asyncio.run(ch.run(plan))


class HeapWatch:
    """Heap in use after HEAP_WARM thing cases, against the end of the run."""

    def __init__(self):
        self.n = 0
        self.base = None
        self.last = None

    def note(self, index):
        self.n += 1
        self.last = index
        if self.n == HEAP_WARM:
            self.base = _used()

    def check(self, stats):
        if self.base is None:
            return None
        grown = _used() - self.base
        stats["max:thing_heap_growth"] = max(stats.get("max:thing_heap_growth", grown), grown)
        if grown > HEAP_SLACK:
            return "heap grew %d bytes over %d thing cases" % (grown, self.n - HEAP_WARM)
        return None


def _used():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()

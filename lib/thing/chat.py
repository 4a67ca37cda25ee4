"""Plain chat commands, for the XMPP client a person already has on their phone.

    help                 what follows
    nodes                the nodes and their fields
    read [node] [field]  a readout: the measurements of every node, every field of one
                         node, or one field
    status               uptime, heap, clock, sessions in use, and the board's own status

Only authorized senders are answered with data; anyone else gets one polite refusal (no
more than one per sender per few minutes, and no more than a few per few minutes in all,
so neither two bots nor a crowd can make the board talk without end); servers and
components (JIDs without a local part) get none. Text that is no command gets the help
at most once a minute per sender (a command resets that), and a few times a minute in all:
none of our answers starts with a command, so an auto-responder, or another board, that
answers our answers at once gets one answer, then silence (a slow one, one a minute).
Replies keep the sender's <thread> and type; a type
other than chat, groupchat or headline counts as normal (RFC 6121 section 5.2.2), and
groupchat and headline messages are never answered. Chat states and other body-less
messages, and messages delivered late from offline storage (they carry a XEP-0203 delay),
are ignored: an old "read" is not a question anymore.
The readout goes through the XEP-0323 sensor's own read path (same drivers, same
timeouts, same coalescing of concurrent reads).
"""

import gc
import time

from micropython import const

from xmlstream.element import Element
from xmpp import stanza as st
from xmpp.ticks import since

NS_DELAY = "urn:xmpp:delay"
_REFUSE_EVERY_MS = const(300_000)
_UNKNOWN_EVERY_MS = const(60_000)
_RECENT_KEEP = const(4)
_MAX_BODY = const(200)
# Thread ids are opaque tokens, UUID-sized in practice (XEP-0201); a longer one is not
# echoed: escaped, it could grow to 5× and make the answer too large to send.
_MAX_THREAD = const(128)
_COMMANDS = ("read", "nodes", "status", "help", "?")
HELP = "Commands: help | nodes | read [node] [field] | status\nExample: read bme280-76 Temperature"


class Chat:
    def __init__(self, thing):
        self.thing = thing
        self.client = thing.client
        self.status_hook = None  # board-provided callable returning extra status text
        self._refused = RecentReplies(_REFUSE_EVERY_MS)
        self._unknown = RecentReplies(_UNKNOWN_EVERY_MS)
        self.client.router.message(st.NS_CLIENT, "body", self._on_message)
        try:
            from thing import adhoc
        except ImportError:
            adhoc = None
        if adhoc is not None:
            adhoc.ReadCommand(thing, self)

    def _on_message(self, msg):
        type_ = msg.get("type")
        if type_ in ("groupchat", "headline") or msg.find("delay", NS_DELAY) is not None:
            return None
        if type_ != "chat":
            type_ = "normal"  # RFC 6121 section 5.2.2: absent or not understood
        frm = msg.get("from")
        # Of several bodies (RFC 6121 §5.2.3), the one without xml:lang is in the message's
        # own language, the primary one; the others are translations.
        body = None
        for k in msg.children:
            if k.name == "body" and k.ns == st.NS_CLIENT:
                if not k.attrs:
                    body = k
                    break
                if body is None:
                    body = k
        text = body.text if body is not None else ""
        if text.startswith(">"):
            # A reply quotes what it answers (an XEP-0393 block quote, also the fallback
            # body of an XEP-0461 reply from Conversations or Gajim): the command follows.
            b = text.encode()  # indexed in bytes: a str's indexes count characters, slowly
            i = 0
            while b.startswith(b">", i):
                i = b.find(b"\n", i) + 1
                if not i:
                    return None  # a quote and nothing below it: nothing asked
            text = b[i:].decode()
        text = text.strip()
        if not text or not frm:
            return None
        thread = msg.find("thread", st.NS_CLIENT)
        thread = thread.text if thread is not None else None
        if thread is not None and len(thread) > _MAX_THREAD:
            thread = None
        bare = frm.split("/")[0]
        if not self.client.roster.is_authorized(frm):
            return self._refuse(frm, bare, type_, thread)
        words = text[:_MAX_BODY].split()
        cmd = words[0].lower()
        if cmd not in _COMMANDS:
            if not self._unknown.take(bare):
                return None  # it already has the help: an answer to our answer, maybe
            return reply(frm, type_, "Unknown command '%s'.\n%s" % (words[0][:20], HELP), thread)
        self._unknown.forget(bare)
        return self._answer(frm, type_, cmd, words, thread)

    def _refuse(self, frm, bare, type_, thread):
        if "@" not in bare:
            return None  # a server's or component's notice (a MOTD, say): nobody to tell
        if bare.lower() == self.client.router.account:
            return None  # ourselves, or another board of our account: refusals would loop
        if not self._refused.take(bare):
            return None  # refused lately, or the last few refusals are all recent: a crowd
        self.client.log.info("chat from %s refused (not authorized)" % frm)
        return reply(frm, type_, "Sorry, you are not allowed to read this device.", thread)

    def _answer(self, frm, type_, cmd, words, thread):
        if cmd == "read":
            r = self.client.router
            if r.tasks >= r.max_tasks:
                # A read would need a task, and all are at work: a word rather than silence.
                self.client.log.warn("chat read from %s: busy" % frm)
                return reply(frm, type_, "Busy reading for others; ask again shortly.", thread)
            return self._read(frm, type_, words, thread)
        # The others answer at once, without a task: they work while reads wait.
        try:
            if cmd == "nodes":
                out = self.nodes_text()
            elif cmd == "status":
                out = self.status_text()
            else:
                out = HELP
        except Exception as e:  # noqa: BLE001 - e.g. MemoryError: the person still gets an answer
            out = self._failed(cmd, frm, e)
        return reply(frm, type_, out, thread)

    def _failed(self, cmd, frm, e):
        self.client.log.error("chat %s from %s failed: %r" % (cmd, frm, e))
        return "Sorry, %s failed on the board (%s)." % (cmd, type(e).__name__)

    async def _read(self, frm, type_, words, thread):
        try:
            out = await self.read_text(
                words[1] if len(words) > 1 else None, words[2] if len(words) > 2 else None
            )
        except Exception as e:  # noqa: BLE001 - e.g. MemoryError: the person still gets an answer
            out = self._failed("read", frm, e)
        if not self.client.roster.is_authorized(frm):
            # The access was taken back (a roster push) while the parts were read.
            return self._refuse(frm, frm.split("/")[0], type_, thread)
        return reply(frm, type_, out, thread)

    def nodes_text(self):
        lines = []
        for n in self.thing.sensor.nodes:
            lines.append("%s: %s" % (n.id, ", ".join(f[0] for f in n.fields)))
        return "\n".join(lines) or "No nodes."

    async def read_text(self, node_id=None, field=None):
        sensor = self.thing.sensor
        nodes = sensor.nodes
        if node_id is not None:
            n = sensor.node(node_id)
            if n is None:
                return "Unknown node '%s'. Try: nodes" % node_id[:40]
            nodes = [n]
        lines = []
        for n in nodes:
            values, _, err = await n.read()
            if err is not None:
                lines.append("%s: %s" % (n.id, err))
                continue
            parts = []
            for i, f in enumerate(n.fields):
                if field is not None and f[0].lower() != field.lower():
                    continue
                if field is None and node_id is None and f[3] != "momentary":
                    continue  # the summary of every node: measurements only
                parts.append(format_value(f, values[i]))
            if parts:
                lines.append("%s: %s" % (n.id, ", ".join(parts)))
        if not lines:
            if field is None:
                return "No measurements. Try: nodes"
            return "No field '%s'. Try: nodes" % field[:40]
        return "\n".join(lines)

    def status_text(self):
        c = self.client
        gc.collect()
        up = self.thing.uptime.seconds()
        table = self.thing.sensor.table
        lines = [
            "Uptime: %dd %02d:%02d:%02d" % (up // 86400, up // 3600 % 24, up // 60 % 60, up % 60),
            "Heap free: %d bytes" % gc.mem_free(),
            "Clock: %s" % ("synchronized" if self.thing.clock.synced else "NOT synchronized"),
            "Sessions: %d of %d in use" % (table.in_use(), len(table.slots)),
            "Readouts served: %d" % self.thing.sensor.served,
            "Connections: %d" % c.connects,
        ]
        if table.rejected_full:
            lines[3] += " (%d refused, the table full)" % table.rejected_full
        last = c.log.latest()
        if last:
            lines.append("Last problem logged: " + last)
        if self.status_hook is not None:
            lines.append(self.status_hook())
        return "\n".join(lines)


class RecentReplies:
    """Who got one kind of answer lately: a sender gets it at most once per `period_ms`, and
    all senders together at most _RECENT_KEEP times per period (then the oldest must age)."""

    def __init__(self, period_ms):
        self.period = period_ms
        self.slots = [None] * _RECENT_KEEP  # (bare JID, ticks_ms), overwrite-oldest
        self.next = 0

    def _recent(self, slot, now):
        # since(): an entry over half the ticks period old (6.2 days on an ESP32) is old,
        # where a bare ticks_diff() would read it as negative, and so as recent.
        return slot is not None and since(now, slot[1]) < self.period

    def take(self, bare):
        """True, and remembered, when `bare` may have the answer now."""
        now = time.ticks_ms()
        for r in self.slots:
            if r is not None and r[0] == bare and self._recent(r, now):
                return False
        if self._recent(self.slots[self.next], now):
            return False
        self.slots[self.next] = (bare, now)
        self.next = (self.next + 1) % _RECENT_KEEP
        return True

    def forget(self, bare):
        for i in range(_RECENT_KEEP):
            r = self.slots[i]
            if r is not None and r[0] == bare:
                self.slots[i] = None


def format_value(field, value):
    if value is None:
        return "%s missing" % field[0]
    if value is True or value is False:
        value = "yes" if value else "no"
    unit = field[2]
    return "%s %s%s" % (field[0], value, " " + unit if unit else "")


def reply(to, type_, text, thread=None):
    children = [Element("body", st.NS_CLIENT, None, None, text)]
    if thread:
        children.append(Element("thread", st.NS_CLIENT, None, None, thread))  # XEP-0201
    return Element("message", st.NS_CLIENT, {"to": to, "type": type_}, children)

"""The XEP-0323 sensor role: answers readout requests for the nodes registered on it.

    sensor = Sensor(client, clock, sessions=4)
    sensor.register_node("bme280-76", BME280(i2c), comm_timeout=2000)

Every request is answered at once: `accepted` (with `queued='true'` when its `when` lies
ahead), or `<rejected>` plus the standard error (`forbidden`, `item-not-found`,
`bad-request`, `resource-constraint`; `unexpected-request` for a `when` before the clock is
set; `internal-server-error` when answering failed). An accepted request owns one slot of
the fixed session table until it ends: done, failure, cancel, a node's comm timeout, the
requester going offline (its unavailable presence, or a bounce of a message we sent it), or
our own reconnect. Readouts run in one asyncio task per session.
"""

import asyncio
import time

from micropython import const

from sensordata import wire
from sensordata.node import Node
from sensordata.sessions import SessionTable
from xmpp import jid as jids
from xmpp import stanza as st

_TEXT_MAX = const(120)  # characters of a rejection text
_SEQNR_ECHO = const(32)  # longest seqnr echoed in a rejection (any longer one is garbage)
_WHEN_MAX_S = const(86400)  # how far ahead a request may ask to be read (`when`)
_JID_KEEP = const(128)  # the longest 'from' kept parsed for the next stanza (characters)
_NOBODY = (None, None, None)


class Sensor:
    def __init__(self, client, clock, sessions=4, history=8, sample_s=60, budget=1536):
        self.client = client
        self.clock = clock
        self.log = client.log
        self.nodes = []
        self.table = SessionTable(sessions)
        self.history = history
        self.sample_s = sample_s
        self.budget = budget
        self.served = 0
        self.sampled = None  # ticks_ms of the sampler's last step: the watchdog checks it
        self._sampler = None
        self._from = _NOBODY  # the last 'from' parsed: (as written, full, bare), see _who
        r = client.router
        r.iq(wire.NS, "req", self._on_req, feature=wire.NS)
        r.iq(wire.NS, "cancel", self._on_cancel)
        r.presence(self._on_presence)
        r.bounce(self._on_bounce)
        client.roster.on_revoke.append(self._on_revoke)
        client.on_offline.append(self._down)
        client.on_online.append(self._online)
        self.pending = []  # (JID, seqnr, request) of sessions our disconnect ended, unanswered
        # Queued requests (a `when` up to a day ahead) may hold at most half the table, so
        # one contact cannot keep every other requester out until then.
        self.queue_max = max(1, sessions // 2)

    def register_node(self, node_id, device, comm_timeout=2000):
        """Publish `device` (see sensordata/device.py) as node `node_id`."""
        if self.node(node_id) is not None:
            raise ValueError("node %s registered twice" % node_id)
        self.nodes.append(Node(node_id, device, comm_timeout, self.clock, self.log, self.history))

    def node(self, node_id):
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    # -- requests -----------------------------------------------------------------------

    def _reject(self, iq, seqnr, condition, text):
        if len(text) > _TEXT_MAX:
            # The text quotes the request and goes out twice: a long value must not make
            # the answer too big to send (the requester would get none).
            text = text[: _TEXT_MAX - 3] + "..."
        self.log.info("rejected %s seqnr=%s: %s" % (iq.get("from"), seqnr, text))
        return st.error(iq, condition, text, wire.rejected(seqnr, text))

    def _on_req(self, iq):
        try:
            return self._request(iq)
        except Exception as e:  # noqa: BLE001 - e.g. MemoryError: still answer in both forms
            # slixmpp ignores an error without <rejected>: the requester would wait forever.
            self.log.error("request from %s failed: %r" % (iq.get("from"), e))
            seqnr = _echo(iq.children[0].get("seqnr"))
            return st.error(
                iq, "internal-server-error", None, wire.rejected(seqnr, "Internal error")
            )

    def _request(self, iq):
        _, frm, bare = self._who(iq.get("from"))
        req_el = iq.children[0]
        seqnr = _echo(req_el.get("seqnr"))  # rejections echo it before it is validated
        if not self.client.roster.allows(bare):
            return self._reject(iq, seqnr, "forbidden", "Access denied")
        try:
            req = wire.parse_req(req_el)
        except wire.BadRequest as e:
            return self._reject(iq, seqnr, "bad-request", str(e))
        if req.nodes is not None:
            for nid in req.nodes:
                if self.node(nid) is None:
                    return self._reject(iq, seqnr, "item-not-found", "Unknown node: " + nid)
        if req.fields is not None:
            nodes = self._selected(req)
            if not any(n.has_field(f) for f in req.fields for n in nodes):
                return self._reject(iq, seqnr, "item-not-found", "No such field")
        if self.table.find(frm, req.seqnr) is not None:
            return self._reject(iq, seqnr, "bad-request", "seqnr already in use")
        queued = False
        if req.when is not None:
            if not self.clock.synced:
                # Without a date the board cannot tell when `when` comes; it will once NTP
                # answers.
                text = "Cannot schedule: the board's clock is not set yet"
                return self._reject(iq, seqnr, "unexpected-request", text)
            ahead = req.when - self.clock.now()
            if ahead > _WHEN_MAX_S:
                # A queued request holds its slot until then: a far `when` would keep it forever.
                return self._reject(iq, seqnr, "bad-request", "when is more than a day ahead")
            queued = ahead > 0
        # A contact (not on the allow list) may hold at most half of the queued places (at
        # least one): it must not keep the owner's own scheduled readouts out for a day.
        if queued and (
            self._queued() >= self.queue_max
            or bare not in self.client.roster.allow
            and self._queued(bare) >= max(1, self.queue_max // 2)
        ):
            self.log.warn("queued requests at their limit: %s seqnr=%s rejected" % (frm, seqnr))
            return self._reject(iq, seqnr, "resource-constraint", "Too many queued requests")
        s = self.table.claim(frm, req.seqnr)
        if s is None:
            self.log.warn("session table full: %s seqnr=%s rejected" % (frm, seqnr))
            return self._reject(iq, seqnr, "resource-constraint", "Too many requests")
        try:
            s.request = req
            s.since = self.client.new_id()  # what the session's own message ids follow
            s.state = "queued" if queued else "reading"
            # The task starts after this handler returns, so `accepted` is queued first.
            s.task = asyncio.create_task(self._serve(s))
            accepted = wire.Accepted(iq, req.seqnr, queued)
        except Exception:
            # The answer becomes a rejection (_on_req): no slot may stay taken, no readout run.
            self.table.free(s)
            raise
        if not self.client.send(accepted):
            # The output is full (the client answered resource-constraint if it had room):
            # a requester that never saw `accepted` gets no readout, nor holds a slot.
            self.table.free(s)
            self.log.warn("accepted for %s seqnr=%s not sent: nothing read" % (frm, seqnr))

    def _on_cancel(self, iq):
        frm = self._who(iq.get("from"))[1]
        try:
            seqnr = wire.seqnr_of(iq.children[0])
        except wire.BadRequest as e:
            # With <rejected>, as every refusal: slixmpp ends a session on that alone.
            return self._reject(iq, _echo(iq.children[0].get("seqnr")), "bad-request", str(e))
        s = self.table.find(frm, seqnr)
        if s is None:
            self.log.info("cancel from %s seqnr=%s: no such request" % (frm, seqnr))
            text = "No such request"
            return st.error(iq, "item-not-found", text, wire.rejected(seqnr, text))
        self.table.free(s)
        self.log.info("cancelled %s seqnr=%s" % (frm, seqnr))
        return st.result(iq, wire.seq_element("cancelled", seqnr))

    def _on_presence(self, el):
        # Unavailable: the requester went offline, or it only stopped sharing its presence
        # with us (RFC 6121 §3.2.2: its unsubscribed comes with an unavailable from each of
        # its resources) and still waits. Either way its sessions end with a final answer.
        if el.get("type") != "unavailable":
            return
        frm = self._who(el.get("from"))[1]
        if frm:
            for s in list(self.table.owned_by(frm)):
                self._end(s, "unavailable", "Requester unavailable")

    def _down(self):
        # Only our stream ended: the requesters may be online still, and would wait for the
        # final answer of a readout that is now cancelled (or queued hours ahead) forever.
        # Sent once we are back. A stream may end again before that (while the roster is
        # asked for, requests are served but the online hooks have not run): at most one
        # table's worth is kept, the newest, so a flapping link cannot fill the heap.
        owed = self.pending
        for s in self.table.slots:
            if s.jid is not None:
                if len(owed) == len(self.table.slots):
                    to, seqnr, _ = owed.pop(0)
                    self.log.warn(
                        "end of %s seqnr=%s dropped: connection lost again" % (to, seqnr)
                    )
                end = (s.jid, s.seqnr, s.request)
                self.table.free(s)  # first: should the list fail to grow, no slot stays held
                owed.append(end)

    def _online(self):
        owed, self.pending = self.pending, []
        for to, seqnr, req in owed:
            try:
                if not self.client.send(self._failure(to, seqnr, req, "Connection lost")):
                    self.log.warn("end of %s seqnr=%s not sent" % (to, seqnr))
            except MemoryError:
                pass  # this one's end is lost; the others' still go

    def _queued(self, bare=None):
        """Queued requests: all, or those of one requester (a bare JID)."""
        n = 0
        for s in self.table.slots:
            if s.state == "queued" and (bare is None or s.jid.split("/")[0] == bare):
                n += 1
        return n

    def _on_revoke(self, bare):
        # A readout queued for later, or under way, must not reach a contact whose access
        # ended meanwhile (a roster push took it away). It still ends with a final answer
        # (no data): the contact may be online and would wait for its done forever.
        for s in self.table.owned_by(bare):
            if not self.client.roster.is_authorized(s.jid):
                self._end(s, "no longer authorized", "Access denied")

    def _end(self, s, why, text):
        """End session s with its final failure; freed first, so that whatever fails after
        (out of memory), no readout of it runs on."""
        to, seqnr, req = s.jid, s.seqnr, s.request
        self.table.free(s)
        try:
            self.log.info("%s %s: seqnr=%s ended" % (to, why, seqnr))
            self.client.send(self._failure(to, seqnr, req, text))
        except MemoryError:
            pass  # the session is over all the same

    def _on_bounce(self, msg):
        # RFC 6120 §8.3: the error carries our message's id (Prosody sends nothing else of it),
        # and ours end in the session's seqnr; no readout is resent, so the session is over.
        id_ = msg.get("id")
        dot = id_.find(".") if id_ else -1
        if dot < 0:
            return
        err = msg.find("error", st.NS_CLIENT)
        if err is not None and err.get("type") == "continue":
            return  # a warning: the message was delivered
        s = self.table.find(self._who(msg.get("from"))[1], id_[dot + 1 :])
        # Only an id issued since the session began is one of its messages: a requester back
        # with the seqnr of its last run (slixmpp counts from 1) may get that run's bounces.
        if s is not None and _later(id_[:dot], s.since):
            jid, seqnr = s.jid, s.seqnr
            self.table.free(s)  # first: a log line can fail for want of memory
            cond = st.error_condition(msg)
            self.log.info("%s unreachable (%s): seqnr=%s ended" % (jid, cond, seqnr))

    def _who(self, jid):
        """(jid, full, bare) for a stanza's 'from': the JID in normal form, full and bare, or
        Nones when it is missing or malformed. Sessions are keyed by the normal full JID: the
        server may write it otherwise in a later stanza (an unavailable presence) than the
        request did. The last one is kept: a requester's stanzas tend to come in a row, and
        each parse makes new strings, each looked up among the interned ones by MicroPython."""
        last = self._from
        if jid == last[0]:
            return last
        if not jid:
            return _NOBODY
        try:
            full, bare = jids.normal(jid)
        except jids.JIDError:
            return _NOBODY
        got = (jid, full, bare)
        if len(jid) <= _JID_KEEP:  # a long one is not worth holding on to
            self._from = got
        return got

    def _id(self, seqnr, fmt="%s.%s"):
        """A message id unique on the stream that names the session's seqnr (bytes with a
        bytes `fmt`)."""
        return fmt % (self.client.new_id(), seqnr)

    def _fields(self, to, seqnr):
        """An empty fields message; its id is _id's, as bytes (no str to intern: a new str is
        looked up among all the interned ones), and seqnr is the request's, checked."""
        return wire.FieldsMessage(to, seqnr, self._id(seqnr, b"%s.%s"))

    def _selected(self, req):
        if req.nodes is None:
            return self.nodes
        return [n for n in self.nodes if n.id in req.nodes]

    def _failure(self, to, seqnr, req, text, stamped=True):
        """A session's final `<failure>`: `text` for each node it asked for, timed now, or
        untimed when the clock is not set (never a false time) or `stamped` is False."""
        ts = self.clock.now() if stamped and self.clock.synced else None
        errors = [(n.id, ts, text) for n in self._selected(req)]
        return wire.failure(to, seqnr, errors, self._id(seqnr))

    # -- readout ------------------------------------------------------------------------

    async def _serve(self, s):
        req, to = s.request, s.jid
        try:
            if s.state == "queued":
                while True:
                    wait = req.when - self.clock.now()
                    if wait <= 0:
                        break
                    if wait > _WHEN_MAX_S:
                        # The clock stepped back since `when` was accepted (an NTP correction,
                        # or a forged answer): waiting on would hold the slot as long as that.
                        ended = self._failure(to, req.seqnr, req, "Clock changed", False)
                        await self.client.send_wait(ended)
                        return
                    await asyncio.sleep_ms(min(wait, 60) * 1000)
                s.state = "reading"
                started = wire.seq_element("started", req.seqnr)
                await self.client.send_wait(wire.message(to, started, self._id(req.seqnr)))
            await self._readout(s, req, to)
            self.served += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - logged and answered; the slot is freed below
            self.log.error("readout for %s seqnr=%s failed: %r" % (to, req.seqnr, e))
            # Every request ends with a final answer, even when the board itself failed
            # (e.g. out of memory): a small <failure>, sent without waiting.
            nodes = self._selected(req)
            nid = nodes[0].id if nodes else ""
            ts = self.clock.now() if self.clock.synced else None  # no false time, as _readout
            errors = [(nid, ts, "Internal error")]
            self.client.send(wire.failure(to, req.seqnr, errors, self._id(req.seqnr)))
        finally:
            if s.jid == to and s.request is req:
                s.task = None  # we are that task: nothing to cancel
                self.table.free(s)

    async def _readout(self, s, req, to):
        msg = self._fields(to, req.seqnr)
        errors = []
        if not self.clock.synced:
            # No time to give: the errors go without a timestamp rather than with a false one.
            errors = [(n.id, None, "Clock not synchronized") for n in self._selected(req)]
        else:
            for node in self._selected(req):
                shown = None  # the time of the readout sent with its momentary fields
                if req.flags & wire.CURRENT and self._wants_current(node, req):
                    got = await node.read()
                    if got[2] is not None:
                        errors.append((node.id, got[1], got[2]))
                    else:
                        block = self._block(node, req, got[1], got[0], wire.CURRENT, None)
                        if block:
                            msg = await self._add(msg, block, req, to)
                            if req.flags & wire.MOMENTARY:
                                shown = got[1]
                        elif None in got[0]:
                            errors.append((node.id, got[1], "No valid reading"))
                if node.history is not None and req.flags & wire.HISTORICAL:
                    # XEP-0323: the whole history, or the part within from/to when given.
                    # Sent as it is serialized: a history of 1024 samples is ~280 KB of XML.
                    for t, values in node.history.between(req.t_from, req.t_to):
                        kind = _hist_kind(t, req.flags)
                        if t == shown or kind is None:
                            # The same values again (the sampler's readout, shared): a field
                            # is unique by node, name and timestamp (XEP-0323 glossary). Or
                            # a sample of no historical type asked for.
                            continue
                        block = self._block(node, req, t, values, 0, kind)
                        if block:
                            msg = await self._add(msg, block, req, to)
        if errors:
            if msg.blocks:
                await self.client.send_wait(msg)
            await self.client.send_wait(wire.failure(to, req.seqnr, errors, self._id(req.seqnr)))
        else:
            msg.done = True
            await self.client.send_wait(msg)

    async def _add(self, msg, block, req, to):
        """Add a node block to `msg`, first sending it if the block would take it over budget;
        the message to add the next block to."""
        if msg.blocks and msg.size + len(block) > self.budget:
            await self.client.send_wait(msg)
            msg = self._fields(to, req.seqnr)
        msg.add(block)
        return msg

    def _wants_current(self, node, req):
        for f in node.fields:
            if wire.KINDS.get(f[3], 0) & req.flags and (req.fields is None or f[0] in req.fields):
                return True
        return False

    def _block(self, node, req, ts, values, kinds, hist_flag):
        """Serialized fields of one readout that pass the request's filters, or None."""
        out = []
        for i, f in enumerate(node.fields):
            if req.fields is not None and f[0] not in req.fields:
                continue
            if hist_flag is None:
                if not wire.KINDS.get(f[3], 0) & req.flags & kinds:
                    continue
                kind = f[3]
            else:
                if f[3] != "momentary":
                    continue  # history keeps measurements, not identity or status
                kind = hist_flag
            if values[i] is None:
                continue  # no valid reading: a field without a value would break the schema
            dtype = f[4] if len(f) > 4 else None
            out.append(wire.field_bytes(f[0], f[1], values[i], f[2], kind, dtype, node.plain))
        return wire.node_block(node.id, ts, out, node.plain) if out else None

    # -- periodic sampling for history ----------------------------------------------------

    def start_sampling(self):
        if self._sampler is None and self.history:
            self._sampler = asyncio.create_task(self._sample())

    def stop(self):
        if self._sampler is not None:
            self._sampler.cancel()
            self._sampler = None
        self.table.free_all()

    async def _sample(self):
        period = max(1, self.sample_s * 1000)  # ms; a period of 0 (tests) is none: 1 ms
        due = time.ticks_ms()
        while True:
            self.sampled = time.ticks_ms()
            if not self.clock.synced:
                # No sample can be dated yet: look again each second, so the first one is
                # taken as NTP answers, not up to a period (sample_s may be a day) later.
                await asyncio.sleep_ms(min(period, 1000))
                due = time.ticks_ms()
                continue
            for node in self.nodes:
                try:
                    values, t, err = await node.read()
                    if err is None and node.history is not None:
                        node.history.add(t, values)
                except Exception as e:  # noqa: BLE001 - one sample lost, not the sampler
                    # A dead sampler fails the watchdog's probe: a reset, and all history lost.
                    self.log.error("node %s: sample not kept: %r" % (node.id, e))
                # Progress, also when the part failed: a turn over several parts that time
                # out can outlast the watchdog's limit, and still be no hang.
                self.sampled = time.ticks_ms()
            now = time.ticks_ms()
            due = _next_slot(due, now, period)
            await asyncio.sleep_ms(time.ticks_diff(due, now))


def _next_slot(due, now, period):
    """The sampler's next slot after the one at `due` (all `period` ms apart) that is not
    past at `now`: the time a turn took is not added to the period (the samples would
    drift), and a turn that overran it skips the slots it missed instead of bunching."""
    due = time.ticks_add(due, period)
    left = time.ticks_diff(due, now)
    return due if left >= 0 else time.ticks_add(now, left % period)


# XEP-0323 "Field Types": historicalMinute is a value stored at a minute shift (seconds = 0),
# and so on. Longest first: (name, length of its shift in seconds, its bit in a req's flags).
_SHIFTS = tuple(
    (name, shift, 1 << wire.FLAG_NAMES.index(name))
    for name, shift in (
        ("historicalDay", 86400),
        ("historicalHour", 3600),
        ("historicalMinute", 60),
        ("historicalSecond", 1),
    )
)


def _hist_kind(t, flags):
    """The historical type a sample taken at t is sent as, or None when it is of none the
    request's flags ask for. A sample lies on every shift its time divides by (midnight is
    a day, an hour, a minute and a second shift) and is sent as the longest asked for: the
    shift its time lies on, not the sampling period."""
    for name, shift, bit in _SHIFTS:
        if bit & flags and not t % shift:
            return name
    return None


def _later(a, b):
    """Whether message id `a` was issued after `b`: the client's ids are a letter and a count
    that only grows (xmpp.client.Client.new_id), so a longer one is later."""
    return len(a) > len(b) or len(a) == len(b) and a > b


def _echo(seqnr):
    # Echoed exactly, as the requester keys its sessions by it; an absurdly long one not at all.
    return seqnr if seqnr and len(seqnr) <= _SEQNR_ECHO else ""

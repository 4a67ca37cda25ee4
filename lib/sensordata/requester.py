"""The XEP-0323 requester role: a board reading another thing's sensors.

    def on_result(session, result, node_id=None, timestamp=None, fields=None, error_msg=None):
        ...  # result: accepted | queued | started | fields | done | rejected | failure
             #         | cancelled | timeout
    s = requester.request_data("thing@example.org/sensor", on_result, node_ids=["bme280-76"])
    requester.cancel_request(s)

The results are those slixmpp's requester documents; `fields` is a list of
`(name, typename, value, unit, data_type, flags)` tuples, `flags` a tuple of flag names.
Sessions live in a fixed-size table of their own, made like the sensor's: `request_data`
returns None when all are in use. Each session ends exactly once, with done, rejected, failure,
cancelled or timeout; its slot is free before the final callback (which may ask again at
once), and the session, the handle the caller holds, stays `state == "ended"` for good: a
cancel through it reaches nothing, not the next request in its slot. `timeout_ms` is the
longest silence from the device; a queued request (`when` ahead) may also wait until its
`when`, at most a day. As XEP-0323 has it, a `<failure>` without done='true' only says that
some nodes failed (each reported as a non-final `failure`) while the others go on, and a
readout may end with a `<done/>` message of its own as well as with done='true'.
"""

import asyncio
import random
import time

from sensordata import reqwire, wire
from sensordata.sessions import SessionTable
from xmpp import jid as jids
from xmpp import stanza as st


class Requester:
    def __init__(self, client, sessions=4, timeout_ms=30_000):
        self.client = client
        self.log = client.log
        self.timeout_ms = timeout_ms
        self.table = SessionTable(sessions)
        self._timer = None  # the task that ends silent sessions; only while any may be live
        # Not from 1 at every boot: a device may still hold (our JID, seqnr) from before a
        # quick reboot, and would refuse the number as in use.
        self._seq = random.getrandbits(20)
        self._layout = reqwire.layout()  # ~150 bytes: no Element per request
        self._to = None  # (the JID last asked, as given; its normal form)
        r = client.router
        r.message(wire.NS, "fields", self._on_fields)
        r.message(wire.NS, "failure", self._on_failure)
        r.message(wire.NS, "started", self._on_started)
        r.message(wire.NS, "done", self._on_done)
        r.presence(self._on_presence)
        client.on_offline.append(self._offline)

    def request_data(
        self,
        to_jid,
        callback,
        node_ids=None,
        fields=None,
        flags=None,
        when=None,
        start=None,
        end=None,
    ):
        """Ask `to_jid` (a full JID) for data; the session, or None when the table is full.

        `flags`: the field types (XEP-0323 §3.1: "momentary", "identity", "historicalHour",
        "all"...), momentary when not given; `when`: read then (queued); `start`, `end`:
        historical values from, to these times (xs:dateTime strings; all history types when
        `flags` is not given). The device judges the times: a bad one comes back rejected.

        The JID is normalised (answers come from the normal form; a malformed one raises
        xmpp.jid.JIDError). The request is queued for the server at once; the callback is
        only ever called after this returns, also when it could not be sent."""
        last = self._to
        if last is None or to_jid != last[0]:
            # Parsed once per device asked, not once per request: a board asks the same few.
            self._to = last = (to_jid, jids.normalize(to_jid))
        to_jid = last[1]
        self._seq += 1
        seqnr = str(self._seq)
        s = self.table.claim(to_jid, seqnr)
        if s is None:
            return None
        try:
            if flags is None and not (when or start or end):
                req = None  # the usual request: written from the layout (reqwire.iq)
            else:
                req = reqwire.req(seqnr, node_ids, fields, flags, when, start, end)
            if self._timer is None:
                self._timer = asyncio.create_task(self._watch())
        except Exception:
            # The caller gets the exception and no session: none may stay taken in the table.
            self.table.free(s)
            raise
        s.callback = callback
        s.state = "requested"
        s.deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)
        self._send(s, req, when, node_ids, fields)
        return s

    def _send(self, s, req, when, node_ids, fields):
        # No task per request: the router calls _answered when the iq answer comes, the
        # messages find the session by (JID, seqnr), and _watch ends the silent ones.
        router = self.client.router
        expected = False
        try:
            id_ = self.client.new_id()
            router.expect(id_, self._answered, s.jid)
            expected = True
            if req is None:
                req = reqwire.iq(self._layout, s.jid, id_, s.seqnr, node_ids, fields)
            else:
                req = st.iq("get", s.jid, id_, req)
            if self.client.send(req):
                # The iq id, and the start time if any: a queued answer waits for it.
                s.request = (id_, when)
                return
            # Offline or the output full: no answer can come, so no slot waits for one.
            why = "not sent: offline or output full"
        except OverflowError as e:  # the router's table of iqs in flight is full
            why = str(e)
        except Exception as e:  # noqa: BLE001 - e.g. MemoryError: the session still ends, once
            self.log.error("request %s to %s failed: %r" % (s.seqnr, s.jid, e))
            why = "internal error"
        if expected:
            router.forget(id_)
        self._end_soon(s, why)

    def _end_soon(self, s, error_msg):
        """End `s` with a failure once request_data has returned, as an answer would."""
        try:
            asyncio.create_task(self._fail(s, s.seqnr, error_msg))
        except MemoryError:
            self._end(s, "failure", error_msg=error_msg)  # at once, rather than never

    async def _fail(self, s, seqnr, error_msg):
        # Not ended meanwhile; the seqnr: a slot freed in place may serve the next request.
        if s.state != "ended" and s.seqnr == seqnr:
            self._end(s, "failure", error_msg=error_msg)

    def _answered(self, answer):
        # Called from the router as the iq answer is parsed, so `accepted` is reported
        # before the `fields` message that may follow it in the same read. None: the
        # connection ended, and no session waiting for its answer will get one.
        if answer is None:
            for s in self.table.slots:
                if s.request is not None:
                    self._end(s, "timeout", error_msg="connection lost")
            return
        id_ = answer.get("id")
        for s in self.table.slots:
            r = s.request
            if r is not None and r[0] == id_:
                break
        else:
            return  # its session ended meanwhile (the router was told to forget it)
        s.request = None
        if answer.get("type") != "result":
            self._end(s, "rejected", error_msg=reqwire.error_text(answer))
            return
        acc = answer.find("accepted", wire.NS)
        queued = acc is not None and acc.get("queued") in ("true", "1")
        if s.state == "requested":
            s.state = "accepted"
        # The answer ends a silence as a message does; a queued readout is silent
        # until its `when` (XEP-0323 §3.4): that wait is not a timeout either.
        wait_ms = reqwire.until(r[1]) * 1000 if queued else 0
        s.deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms + wait_ms)
        self._call(s, "queued" if queued else "accepted")

    async def _watch(self):
        """End the sessions silent past their deadline; runs while any session is live."""
        try:
            while True:
                # Never asleep longer than timeout_ms: no new session's deadline is nearer.
                nearest = self.timeout_ms
                now = time.ticks_ms()
                for s in self.table.slots:
                    if s.jid is None:
                        continue
                    left = time.ticks_diff(s.deadline, now)
                    if left > 0:
                        nearest = min(nearest, left)
                        continue
                    try:
                        self._end(s, "timeout", error_msg="no final answer in time")
                    except Exception as e:  # noqa: BLE001 - the other sessions still time out
                        self.log.error("ending a silent session failed: %r" % (e,))
                # A callback may have made a request meanwhile, in a slot already looked at.
                if not self.table.in_use():
                    return  # the next request starts another task
                await asyncio.sleep_ms(nearest)
        finally:
            if self._timer is asyncio.current_task():  # not one _offline stopped
                self._timer = None

    def cancel_request(self, s):
        """Ask the device to stop; the callback hears `cancelled` (or the final result)."""
        if s.jid is None or s.state == "cancelling" or s.state == "ended":
            return
        s.state = "cancelling"
        # The device has timeout_ms to confirm, counted by _cancel from its first turn; the
        # silence watch comes later, for a cancel whose task never ran.
        s.deadline = time.ticks_add(time.ticks_ms(), 2 * self.timeout_ms)
        asyncio.create_task(self._cancel(s, s.jid, s.seqnr))

    async def _cancel(self, s, jid, seqnr):
        # The session may have ended before this first turn (done or rejected in the same
        # read): the device is done with the seqnr then, and a cancel would only be refused.
        if s.state != "cancelling" or s.seqnr != seqnr:
            return
        try:
            iq = st.iq("get", jid, self.client.new_id(), wire.seq_element("cancel", seqnr))
            answer = await self.client.router.request(iq, self.timeout_ms)
        except Exception as e:  # noqa: BLE001 - OverflowError, MemoryError: nothing was sent
            self.log.warn("cancel of %s to %s not sent: %r" % (seqnr, jid, e))
            answer = None
        if s.state == "cancelling" and s.seqnr == seqnr:  # not ended meanwhile
            if answer is None:
                self._end(s, "failure", error_msg="cancel not confirmed")
            elif answer.get("type") == "result":
                self._end(s, "cancelled")
            else:  # the device knows no such request (any more): as slixmpp reports it
                self._end(s, "rejected", error_msg=reqwire.error_text(answer))

    # -- messages from the device ----------------------------------------------------------

    def _session(self, msg, el):
        # In normal form, as the table keeps it and the router matches the iq answer: a
        # server may write the device's JID otherwise (RFC 7622 §3.2, §3.3). Written as
        # the table has it, it is in normal form: no parse for the usual case.
        frm = msg.get("from")
        seqnr = el.get("seqnr")
        s = self.table.find(frm, seqnr)
        if s is None:
            try:
                frm = jids.normalize(frm)
            except jids.JIDError:
                frm = None  # matches no session in use
            s = self.table.find(frm, seqnr)
        if s is None:
            self.log.debug("%s for no session from %s" % (el.name, msg.get("from")))
        return s

    def _touch(self, s):
        if s.state != "cancelling":  # the cancel's own wait ends that one (cancel_request)
            s.deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)

    def _on_started(self, msg):
        el = msg.find("started", wire.NS)
        s = self._session(msg, el)
        if s is None or s.state == "started":
            return  # told once (XEP-0323 §3.4): a repeat is no sign of progress
        if s.state != "cancelling":
            s.state = "started"
        self._touch(s)
        self._call(s, "started")

    def _on_fields(self, msg):
        el = msg.find("fields", wire.NS)
        s = self._session(msg, el)
        if s is None:
            return
        self._touch(s)
        ns = wire.NS  # a child of another namespace is an extension (RFC 6120 §8.4)
        for node in el.children:
            if node.name != "node" or node.ns != ns:
                continue
            for ts in node.children:
                if ts.name != "timestamp" or ts.ns != ns:
                    continue
                fields = [
                    reqwire.field(f)
                    for f in ts.children
                    if f.ns == ns and f.name in reqwire.FIELD_TYPES
                ]
                self._call(s, "fields", node.get("nodeId"), ts.get("value"), fields)
        if el.get("done") in ("true", "1"):
            self._end(s, "done")

    def _on_failure(self, msg):
        el = msg.find("failure", wire.NS)
        s = self._session(msg, el)
        if s is None:
            return
        self._touch(s)
        errors = [e for e in el.children if e.name == "error" and e.ns == wire.NS]
        done = el.get("done") in ("true", "1")
        last = errors.pop() if done and errors else None
        for e in errors:
            self._call(s, "failure", e.get("nodeId"), e.get("timestamp"), None, e.text)
        if last is not None:
            self._end(s, "failure", last.text, last.get("nodeId"), last.get("timestamp"))
        elif done:
            self._end(s, "failure", "readout failed")

    def _on_done(self, msg):
        s = self._session(msg, msg.find("done", wire.NS))
        if s is not None:
            self._end(s, "done")

    def _on_presence(self, el):
        # A device's sessions end with its XMPP session (ours does so; RFC 6121 §4.5.3: it
        # sent unavailable): no answer can come, and a queued one would hold its slot a day.
        if el.get("type") != "unavailable":
            return
        try:
            frm = jids.normalize(el.get("from"))
        except jids.JIDError:
            return
        for s in self.table.slots:
            if s.jid == frm:
                self._end(s, "failure", error_msg="device went offline")

    # -- endings -----------------------------------------------------------------------------

    def _call(self, s, result, node_id=None, timestamp=None, fields=None, error_msg=None):
        try:
            s.callback(s, result, node_id, timestamp, fields, error_msg)
        except Exception as e:  # noqa: BLE001 - a faulty callback must not break routing
            self.log.error("requester callback failed on %s: %r" % (result, e))

    def _end(self, s, result, error_msg=None, node_id=None, timestamp=None):
        # The slot is free before the final callback, which may ask again at once; `s`, the
        # application's handle, stays ended (a cancel through it reaches nothing), and an
        # iq answer still to come finds no session.
        r, cb = s.request, s.callback
        self.table.retire(s)
        s.callback = cb  # the slot's freeing cleared it
        try:
            if r is not None:
                self.client.router.forget(r[0])
        finally:
            self._call(s, result, node_id, timestamp, None, error_msg)  # told, come what may

    def _offline(self):
        for s in self.table.slots:
            if s.jid is not None:
                self._end(s, "timeout", error_msg="connection lost")
        t = self._timer
        if t is not None and not self.table.in_use():
            # Nothing is live now: the timer would only hold its task until its next look.
            self._timer = None
            try:
                t.cancel()
            except RuntimeError:
                pass  # MicroPython refuses to cancel the running task: it ends anyway

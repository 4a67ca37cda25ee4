"""The XMPP client: one long-lived task that connects, logs in, serves, and reconnects.

    client = Client(cfg["xmpp"], ca_der, Log("dev"))
    client.router.iq(NS, "req", handler)
    asyncio.create_task(client.run())   # until client.stop()

A connection goes: TCP → (Direct TLS) → stream negotiation (xmpp/login.py: STARTTLS, SASL,
bind) → roster → presence. Then three tasks share it: the reader (socket → tokenizer →
router), the sender (output buffer → socket, one write per burst) and the watchdog
(whitespace keepalive; a ping when the server has been silent, whose timeout declares the
link dead). The first of them to end ends the connection; the others are cancelled, the
output is cleared, and `run` waits out a jittered backoff (xmpp/errors.py says how long).
Streams end as RFC 6120 §4.4 asks: the side that closes first waits (at most
`close_wait_ms`) for the other's closing tag before the TCP connection ends.
"""

import asyncio
import gc
import random
import sys
import time

from micropython import const

from xmlstream.element import Element
from xmlstream.errors import XMLError
from xmlstream.stream import XMLStream
from xmpp import errors
from xmpp import jid as xjid
from xmpp import stanza as st
from xmpp.backoff import Backoff
from xmpp.errors import LoginFailed, StreamClosed
from xmpp.options import Options
from xmpp.outbox import Outbox, TooLarge
from xmpp.roster import Roster
from xmpp.router import Router
from xmpp.ticks import since
from xmpp.transport import TLSConfigError, Transport, tls_context

_INBOX_MAX = const(4)  # stanzas buffered during login; the server sends one at a time
# Attempts in a row that ran out of memory before getting online: then `run` gives up.
_STARVED_MAX = const(5)
# RFC 6120 §4.4: how long the side that closed first waits for the other's closing tag.
_CLOSE_WAIT_MS = const(2000)
_CLOSE = b"</stream:stream>"
_NETWORK_POLL_MS = const(250)  # how soon an attempt follows the network's return
_ERROR_CHARS = const(100)  # of last_error: it may quote the server (a SCRAM e=, a condition)


def _unload(names):
    """Drop modules of this package, so that the collector takes their code and objects back
    once nothing else holds them (their interned names stay)."""
    pkg = sys.modules.get("xmpp")
    for name in names:
        sys.modules.pop(name, None)
        if pkg is not None and hasattr(pkg, name[5:]):
            delattr(pkg, name[5:])


class Client:
    def __init__(self, cfg, ca_der, log, name="xmpp-sensor", version="0.1", allow=()):
        self.opt = o = Options(cfg)
        self.log = log
        self.jid = o.jid
        self.ca_der = ca_der
        # The TLS context (3 KB in one piece on x64) is made now, while the heap is whole, and
        # kept for every connection: made at each login, it found no room on a heap that
        # loading the modules had split up (the Thing's login failed so with 30 KB free).
        # `context`: a name MicroPython's ssl module interns already, so it adds none (the
        # firmware's names fill their pool to the last entry: README, "Interned names").
        self.context = None
        if o.tls != "plain" and ca_der:
            try:
                self.context = tls_context(ca_der)
            except TLSConfigError:
                pass  # each connection attempt tries again, and logs why it fails
        self.full_jid = None
        self.transport = None
        self.outbox = Outbox(o.out_buffer)
        self.router = Router(self.send, log, name, version)
        self.router.account = xjid.bare(o.jid)
        self.router.share_os = o.version_os
        self.roster = Roster(self, allow, o.max_contacts)
        self.xml = XMLStream(self, o.max_stanza)
        self.rbuf = bytearray(o.read_chunk)
        self.backoff = Backoff(o.backoff_base_ms, o.backoff_cap_ms, o.stable_ms)
        # Salted passwords (a scram.KeyCache), kept across reconnects: no PBKDF2 the next time.
        self.sasl_cache = {}
        self.inbox = []  # stanzas read during login, before the router takes over
        self.online = asyncio.Event()
        self.on_online = []  # callables(), run after presence is sent
        self.on_offline = []  # callables(), run when a connection ends
        self.network = None  # an Event set while the network is up (a board's WiFi); or None
        self.connects = 0
        self.last_error = None
        self._why = None
        self._online = False
        self._routed = False  # stanzas go to the router (else to the inbox, answers excepted)
        self._stop = asyncio.Event()
        self._down = asyncio.Event()
        self._redirect = None
        self._redirects = 0
        self._target = (o.host, o.port)  # where the current (or last) connection goes
        # Not from 0 at every boot: an answer to the last boot's iq must not match a new one.
        self._ids = random.getrandbits(24)
        self.close_wait_ms = _CLOSE_WAIT_MS
        self._bye = None  # our last words on this stream, owed before the TCP connection ends
        self._closing = False  # our closing tag is out: read on, but take nothing in
        self._peer_closed = False  # the server ended its stream (closing tag or stream error)
        self._parsable = True  # False after bad XML: the server's closing tag cannot be found
        self._discarded = 0
        self._starved = 0
        self._last_rx = 0
        self._last_tx = 0
        self._up_at = 0  # ticks_ms when the current (or last) connection got online

    # -- public ------------------------------------------------------------------------

    def send(self, el):
        """Queue a stanza for the server; False when offline or the output is congested.

        An iq result that cannot be queued, larger than the whole output buffer or than the
        room left in it, goes as a `resource-constraint` error instead; any other stanza is
        dropped with a log line.
        """
        if not self._online:
            return False
        try:
            if self.outbox.put_nowait(el):
                return True
            why = "output full"
        except TooLarge as e:
            why = str(e)
        except MemoryError:
            # The writer kept nothing of it: one stanza lost, as when congested, not the link.
            why = "out of memory"
        self.outbox.dropped += 1
        try:
            self._not_sent(el, why)
        except MemoryError:
            pass  # its log line or its error answer: send() itself must not raise
        return False

    def _not_sent(self, el, why):
        n = self.outbox.dropped
        if not isinstance(el, Element):
            self.log.error("stanza not sent: %s (%d dropped so far)" % (why, n))
            return
        type_ = el.get("type")
        what = "%s%s to %s" % (el.name, " " + type_ if type_ else "", el.get("to"))
        if el.name != "iq" or type_ != "result" or el.get("id") is None:
            self.log.warn("%s not sent: %s (%d dropped so far)" % (what, why, n))
            return
        # RFC 6120 §8.2.3: the request is still owed an answer with its id (a long one and a
        # large payload can outgrow the buffer together; handlers answer at once, so a result
        # cannot wait for room). The error carries no payload; its type `wait` asks the
        # requester to try again.
        self.log.warn("%s %s: answered resource-constraint" % (what, why))
        attrs = {"type": "error", "id": el.get("id")}
        if el.get("to") is not None:
            attrs["to"] = el.get("to")
        self.send(Element("iq", st.NS_CLIENT, attrs, [st.error_element("resource-constraint")]))

    async def send_wait(self, el):
        """Queue a stanza, waiting while the output is congested; StreamClosed if offline."""
        outbox = self.outbox
        while True:
            if not self._online:
                raise StreamClosed(None, "offline")
            if outbox.put_nowait(el):
                return
            outbox.space.clear()
            await outbox.space.wait()

    def new_id(self):
        self._ids += 1
        return "c%x" % self._ids

    async def run(self):
        """Connect and stay connected until `stop()`; MemoryError when attempt after attempt
        runs out of memory before getting online (a reset is the cure, not a retry)."""
        while not self._stop.is_set():
            net = self.network
            if net is not None and not net.is_set():
                # Without a network each attempt fails at once and only lengthens the wait
                # before the next: wait for it instead, then start from the shortest wait.
                self.log.info("waiting for the network")
                while not (net.is_set() or self._stop.is_set()):
                    await asyncio.sleep_ms(_NETWORK_POLL_MS)
                self.backoff.failures = 0
                continue
            floor = 0
            connects = self.connects
            try:
                await self._connection()
            except LoginFailed as e:
                self.last_error = str(e)
                floor = e.retry_floor_ms
                self.log.error("login failed: %s" % e)
            except StreamClosed as e:
                self.last_error = e.condition or "connection closed"
                floor = self._after_stream_error(e)
            except XMLError as e:
                self.last_error = e.condition
                self.log.warn("bad XML from server (%s): %s" % (e.condition, e.message))
            except asyncio.TimeoutError:
                self.last_error = "timeout"
                self.log.warn("timed out connecting to %s:%d" % self._target)
            except (OSError, ValueError) as e:
                # ValueError: mbedTLS reports a certificate that fails verification so.
                self.last_error = repr(e)
                self.log.warn("connection to %s:%d failed: %r" % (self._target + (e,)))
            except MemoryError:
                # Everything of the connection is gone now; collect it and try again later.
                self.last_error = "out of memory"
                gc.collect()
                self.log.error(
                    "out of memory during the connection; %d bytes free" % gc.mem_free()
                )
                self._starved = 0 if self.connects != connects else self._starved + 1
                if self._starved >= _STARVED_MAX:
                    # A heap too fragmented for a login stays so while the board runs: end
                    # this task, whose end the supervisor notices, and let a reset cure it.
                    self.log.error("no login in %d attempts for lack of memory" % _STARVED_MAX)
                    raise
            except Exception as e:  # noqa: BLE001 - a bug costs a reconnect, not the client
                self.last_error = repr(e)
                self.log.error("connection to %s:%d ended by %r" % (self._target + (e,)))
            if self.last_error is not None and len(self.last_error) > _ERROR_CHARS:
                self.last_error = self.last_error[:_ERROR_CHARS]
            if self.connects != connects:
                # Only time online counts: an attempt that stalled in the login for longer
                # than stable_ms was no stable connection. since(): a connection up for
                # over 6.2 days (on an ESP32) lasted long.
                self.backoff.connected_for(since(time.ticks_ms(), self._up_at))
                self._starved = 0  # got online, however it ended: no run of failed logins
            if self._stop.is_set():
                break
            delay = 0 if self._redirect else self.backoff.next_ms(floor)
            if delay:
                self.log.info("reconnecting in %d ms" % delay)
                try:
                    await asyncio.wait_for_ms(self._stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass

    def stop(self):
        self._stop.set()
        self._down.set()

    # -- one connection ------------------------------------------------------------------

    async def _connection(self):
        o = self.opt
        if self._redirect is None:
            self._redirects = 0  # a new chain of see-other-host hops starts here
        self._target = host, port = self._redirect or (o.host, o.port)
        self._redirect = None
        self.transport = t = Transport()
        self._bye = None
        self._why = None  # set during the login only by a close read after a stanza
        self._peer_closed = False
        self._parsable = True
        tasks = ()
        try:
            await self._login(t, host, port)
            if self._stop.is_set():
                self._bye = _CLOSE  # stopped during the login: end the stream, never online
                return
            if self._why is not None:
                raise self._why  # the server closed its stream in the login's last read
            self._online = True  # from here on stanzas go out through the outbox
            self._up_at = self._last_rx = self._last_tx = time.ticks_ms()
            self.connects += 1
            self._down.clear()
            self._why = None
            # One at a time: _teardown cancels those made when a later one fails to be.
            tasks = []
            tasks.append(asyncio.create_task(self._guard(self._reader())))
            tasks.append(asyncio.create_task(self._guard(self._sender())))
            tasks.append(asyncio.create_task(self._guard(self._watchdog())))
            # Bound and served from here on: the roster answer comes through the reader.
            await self.roster.load()
            if self._down.is_set():
                if self._stop.is_set():
                    return
                # The stream ended while the roster was asked for: not online, and the
                # reason the reader found is the one to report.
                raise self._why or StreamClosed(None, "closed during login")
            # What came with the login's last answer (an iq to the JID just bound), or while
            # the roster was asked for, is owed its answer too; judged now, against the roster
            # of this connection (before it, a contact would have been refused).
            self._routed = True
            for el in self.inbox:
                self.router.dispatch(el)
            self.inbox.clear()
            self.send(Element("presence", st.NS_CLIENT, None, [self.router.caps()]))
            self.online.set()
            self.xml.forget()  # the login's names, never read again on this connection
            gc.collect()  # a quiet point: what the login left behind goes now
            self.log.info("online as %s (heap in use: %d)" % (self.full_jid, gc.mem_alloc()))
            for cb in self.on_online:
                try:
                    cb()
                except Exception as e:  # noqa: BLE001 - a hook's bug must not end every connection
                    self.log.error("online hook failed: %r" % (e,))
            await self._down.wait()
            if self._why is not None:
                raise self._why
        finally:
            await self._teardown(t, tasks)

    async def _login(self, t, host, port):
        """TCP, TLS and the login (LoginFailed, StreamClosed, ...), with their time limits."""
        o = self.opt
        await asyncio.wait_for_ms(t.connect(host, port), o.connect_timeout_ms)
        if o.tls == "direct":
            t.start_tls(self.context or tls_context(self.ca_der), o.domain)
        try:
            # Stream negotiation, SASL and SCRAM are needed for the login only: loaded for
            # each, and unloaded after it, they leave the heap to the connection (14 KB of
            # the firmware's online heap from .mpy on x64, 7 KB with code in place). The
            # salted password stays: sasl_cache is the client's plain dict.
            from xmpp import login

            await asyncio.wait_for_ms(login.login(self), o.login_timeout_ms)
        except asyncio.TimeoutError:
            # The server took TCP, then stalled: our closing tag still ends the stream
            # (RFC 6120 §4.4), unless TLS never got through its handshake.
            self._bye = _CLOSE if t.up else None
            why = "" if t.up else " (the TLS handshake did not finish)"
            raise LoginFailed("not done within %d ms%s" % (o.login_timeout_ms, why)) from None
        except LoginFailed as e:
            # RFC 6120 §4.9.1.1: the stream error we owe, if any, goes before the closing tag.
            self._bye = errors.error_out(e.condition) if e.condition else _CLOSE
            raise
        finally:
            _unload(("xmpp.login", "xmpp.sasl", "xmpp.scram"))  # this frame ends with it

    async def _teardown(self, t, tasks):
        """End a connection, however it ended: its tasks, its work, its stream, its socket."""
        was_online = self._online
        self._online = self._routed = False
        self.online.clear()
        for task in tasks:
            task.cancel()
        if was_online:
            # First end the work meant for this connection, then drop its output, so
            # nothing queued for it can leak into the next one.
            for cb in self.on_offline:
                try:
                    cb()
                except Exception as e:  # noqa: BLE001 - the others and the cleanup still run
                    self.log.error("offline hook failed: %r" % (e,))
        try:
            await self._end_stream(t, was_online)
        finally:
            t.close()
            self.transport = None
            self.outbox.clear()
            self.inbox.clear()
            self.xml.reset()
            self.router.drop_pending()

    async def _guard(self, coro):
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - recorded, then the connection is rebuilt
            if self._why is None:  # the first reason; the others follow from it
                self._why = e
        finally:
            self._down.set()
            self.router.drop_pending()  # nobody waits out a timeout for an answer now

    # -- reading during login -------------------------------------------------------------

    async def next_stanza(self, keep=0):
        """The next stanza during login, reading and parsing as needed; past the first
        `keep`, which stay in the inbox (for the router, once online)."""
        mv = memoryview(self.rbuf)
        while len(self.inbox) <= keep:
            if self._why is not None:
                raise self._why
            n = await self.transport.readinto(self.rbuf)
            if not n:
                raise StreamClosed()
            try:
                self._feed(mv[:n])
            except StreamClosed as e:
                # A refusal (SASL <failure/>, a bind error) and the server's closing tag
                # often come in one read: the refusal says why, so it is taken first.
                if len(self.inbox) <= keep:
                    raise
                self._why = e
        return self.inbox.pop(keep)

    def _feed(self, data):
        try:
            self.xml.feed(data)
        except XMLError as e:
            self._bye = errors.error_out(e.condition)  # RFC 6120 §4.9: say why
            self._parsable = False
            e.id = self.xml.get("id")  # whose stanza it cut short: which answer is lost
            raise

    # -- XMLStream sink --------------------------------------------------------------------

    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        self._last_rx = time.ticks_ms()
        if self._closing:
            # RFC 6120 §4.4: no answer may follow our closing tag, so nothing is acted on.
            self._discarded += 1
        elif self._routed:
            self.router.dispatch(el)
        elif self._online:
            # The roster is asked for. Judged now, what only a roster contact may ask would be
            # refused: it waits for the roster. Answers, our server's and account's stanzas,
            # and the allow list's need no roster.
            frm = el.get("from")
            if (
                (el.name == "iq" and el.get("type") in ("result", "error"))
                or self.router.answers(frm, None)
                or self.roster.is_authorized(frm)
            ):
                self.router.dispatch(el)
            elif len(self.inbox) < _INBOX_MAX:
                self.inbox.append(el)
            else:
                self.log.info("stanza from %s dropped: the roster is asked for" % frm)
                if el.name == "iq" and el.get("type") in ("get", "set"):
                    self.send(st.error(el, "resource-constraint"))  # type wait: ask again
        elif len(self.inbox) >= _INBOX_MAX - 1 and not self.router.answers(el.get("from"), None):
            # Once bound we are addressable before we are online: anyone may send to our
            # JID then. Their flood costs their stanzas, not the login (a stranger sending
            # on would keep us offline), and the last place waits for our server's answer.
            self.log.info("stanza from %s during login dropped" % el.get("from"))
        elif len(self.inbox) < _INBOX_MAX:
            self.inbox.append(el)
        else:
            # Our refusal, not the server's stream error: say so to the server and retry
            # with the normal backoff (StreamClosed would mean a 10-minute penalty).
            raise XMLError("policy-violation", "more than %d stanzas during login" % _INBOX_MAX)

    def stream_error(self, el):
        self._peer_closed = True
        e = errors.stream_closed(el)
        if e.host and self.opt.tls != "plain" and not self.transport.tls:
            # RFC 6120 §4.9.3.19 (errata 3651): redirects are followed only from a server
            # we authenticated; before TLS anyone on the path could have written this one.
            self.log.warn("see-other-host before TLS not followed")
            e.host = None
        raise e

    def stream_end(self):
        self._peer_closed = True
        raise StreamClosed(None, "the server closed the stream")

    # -- the three connection tasks --------------------------------------------------------

    async def _reader(self):
        t, buf = self.transport, self.rbuf
        mv = memoryview(buf)
        outbox = self.outbox
        half = outbox.size // 2
        while True:
            # Flow control: while our answers cannot leave, stop taking new requests in.
            while len(outbox) > half:
                outbox.space.clear()
                await outbox.space.wait()
            n = await t.readinto(buf)
            if not n:
                raise StreamClosed()
            try:
                self._feed(mv[:n])
            except MemoryError:
                # Most often the parser's copy of the chunk, before it read any of it: then
                # the chunk goes again, after a collection, and no stanza is lost with the
                # connection. Failed later (it refuses all input now), it is our memory
                # that failed, not the server's XML: the connection ends as out of memory.
                if self.xml._tok._err is not None:
                    raise
                gc.collect()
                self._feed(mv[:n])

    async def _sender(self):
        t, outbox = self.transport, self.outbox
        while True:
            await outbox.ready.wait()
            outbox.ready.clear()  # a put while the socket is busy sets it again
            self._last_tx = time.ticks_ms()
            # Straight from the outbox's buffer, no copy; it makes room as bytes leave.
            await t.drain(outbox)

    async def _watchdog(self):
        o = self.opt
        tick = min(o.keepalive_ms, o.ping_ms, 1000)
        while True:
            await asyncio.sleep_ms(tick)
            now = time.ticks_ms()
            if time.ticks_diff(now, self._last_rx) >= o.ping_ms:
                # RFC 6120 §4.6.1 / XEP-0199: silence may be a dead TCP link; ask.
                ping = st.iq("get", o.domain, self.new_id(), Element("ping", st.NS_PING))
                if await self.router.request(ping, o.ping_timeout_ms, True) is None:
                    raise StreamClosed(None, "no answer to ping in %d ms" % o.ping_timeout_ms)
            elif time.ticks_diff(now, self._last_tx) >= o.keepalive_ms:
                self.outbox.put_nowait(b" ")  # RFC 6120 §4.6.1 whitespace keepalive

    # -- endings ------------------------------------------------------------------------

    async def _end_stream(self, t, was_online):
        """Close our stream as RFC 6120 §4.4 asks, taking at most `close_wait_ms`.

        Closing first: our closing tag, then read (acting on nothing) until the server's
        closing tag or the end of the connection. The server closed first: our closing tag
        answers it. A link that failed gets nothing. No TLS close_notify: MicroPython's TLS
        socket cannot send one; the closing tags inside TLS say where the data ends.
        """
        bye = self._bye
        leaving = bye is None and was_online and self._stop.is_set()
        if leaving:
            bye = b"<presence type='unavailable'/>" + _CLOSE  # RFC 6121 §4.5.1
        elif bye is None:
            if not self._peer_closed:
                return
            bye = _CLOSE
        self._closing = True
        self._discarded = 0
        try:
            # What was queued still goes, first: the socket may have taken only part of a
            # stanza, and our stream must stay well-formed up to its closing tag.
            wait = self._until_closed(t, bye, self.outbox if was_online else None)
            await asyncio.wait_for_ms(wait, self.close_wait_ms)
        except StreamClosed:
            pass  # the server's closing tag (or a stream error): both streams are closed
        except asyncio.TimeoutError:
            self.log.info("server did not close its stream in %d ms" % self.close_wait_ms)
        except (OSError, XMLError) as e:
            self.log.debug("while closing the stream: %r" % (e,))  # the connection ends anyway
        finally:
            self._closing = False
        if self._discarded:
            self.log.info("%d stanza(s) after our closing tag not handled" % self._discarded)

    async def _until_closed(self, t, bye, queued):
        """Send `queued` (an Outbox, or None), then `bye`; unless the server closed first, read
        until its closing tag (StreamClosed) or the end of the connection."""
        if queued:
            await t.drain(queued)
        t.write_nowait(bye)
        await t.drain()
        if self._peer_closed:
            return
        buf = self.rbuf
        mv = memoryview(buf)
        while True:
            n = await t.readinto(buf)
            if not n:
                return
            if self._parsable:
                self.xml.feed(mv[:n])

    def _after_stream_error(self, e):
        """Log a closed stream; the least wait before the next attempt."""
        cond = e.condition
        if cond is None:
            self.log.warn("connection lost%s" % (": " + e.text if e.text else ""))
            return 0
        self.log.warn(
            "stream error from server: %s%s%s"
            % (cond, " to " + e.host if e.host else "", " (%s)" % e.text if e.text else "")
        )
        if cond == "see-other-host" and e.host and self._redirects < errors.MAX_REDIRECTS:
            self._redirects += 1
            self._redirect = errors.redirect_target(e.host, self.opt.port)
            return 0
        if cond in errors.PERMANENT:
            return self.opt.retry_permanent_ms
        return 0

"""The XMPP client: one long-lived task that connects, logs in, serves, and reconnects.

    client = Client(cfg["xmpp"], ca_der, Log("dev"))
    client.router.iq(NS, "req", handler)
    asyncio.create_task(client.run())   # until client.stop()

A connection goes: TCP → (Direct TLS) → header → features → STARTTLS → header → SASL →
header → bind → session (only if required) → roster → presence. Then three tasks share it:
the reader (socket → tokenizer → router), the sender (outbox → socket, one write per burst)
and the watchdog (whitespace keepalive; a ping when the server has been silent, whose
timeout declares the link dead). The first of them to end ends the connection; the others
are cancelled, the outbox is cleared, and `run` waits out a jittered backoff.
"""

import asyncio
import binascii
import gc
import time

from micropython import const

from xmlstream.element import Element, tostring
from xmlstream.errors import XMLError
from xmlstream.stream import XMLStream
from xmpp import jid as jids
from xmpp import sasl
from xmpp import stanza as st
from xmpp.backoff import Backoff
from xmpp.outbox import Outbox, TooLarge
from xmpp.roster import Roster
from xmpp.router import Router
from xmpp.transport import Transport, tls_context

_INBOX_MAX = const(4)  # stanzas buffered during login; the server sends one at a time
_MAX_REDIRECTS = const(3)  # see-other-host hops before we fall back to the configured host

# Stream errors after which an immediate retry would fail the same way (RFC 6120 §4.9.3).
_PERMANENT = (
    "conflict",
    "not-authorized",
    "policy-violation",
    "host-unknown",
    "improper-addressing",
    "invalid-from",
    "unsupported-version",
)

DEFAULTS = {
    "resource": "sensor",
    "port": None,  # 5222, or 5223 for direct TLS
    "tls": "starttls",
    "max_stanza": 4096,
    "out_buffer": 4096,
    "read_chunk": 512,
    "keepalive_s": 60,
    "ping_s": 120,
    "ping_timeout_s": 20,
    "connect_timeout_s": 20,
    "login_timeout_s": 30,
    "backoff_base_s": 1,
    "backoff_cap_s": 120,
    "stable_s": 60,
    "retry_permanent_s": 600,
}


class StreamClosed(Exception):
    """The connection ended; `condition` names the stream error, if any."""

    def __init__(self, condition=None, text=None):
        super().__init__(condition or "closed")
        self.condition = condition
        self.text = text


class LoginFailed(Exception):
    def __init__(self, reason, retry_floor_ms=0):
        super().__init__(reason)
        self.retry_floor_ms = retry_floor_ms


def _opt(cfg, key):
    v = cfg.get(key)
    return DEFAULTS[key] if v is None else v


class Client:
    def __init__(self, cfg, ca_der, log, name="xmpp-sensor", version="0.1", allow=()):
        self.cfg = cfg
        self.log = log
        self.jid = cfg["jid"]
        self.local, self.domain, _ = jids.split(self.jid)
        self.resource = _opt(cfg, "resource")
        self.tls_mode = _opt(cfg, "tls")
        self.host = cfg.get("host") or self.domain
        self.port = _opt(cfg, "port") or (5223 if self.tls_mode == "direct" else 5222)
        self.ca_der = ca_der
        self.full_jid = None
        self.outbox = Outbox(_opt(cfg, "out_buffer"))
        self.router = Router(self.send, log, name, version)
        self.roster = Roster(self, allow, cfg.get("max_contacts") or 16)
        self.xml = XMLStream(self, _opt(cfg, "max_stanza"))
        self.rbuf = bytearray(_opt(cfg, "read_chunk"))
        self.backoff = Backoff(
            _opt(cfg, "backoff_base_s") * 1000,
            _opt(cfg, "backoff_cap_s") * 1000,
            _opt(cfg, "stable_s") * 1000,
        )
        self.sasl_cache = sasl.KeyCache()
        self.online = asyncio.Event()
        self.on_online = []  # callables(), run after presence is sent
        self.on_offline = []  # callables(), run when a connection ends
        self.connects = 0
        self.last_error = None
        self._t = None
        self._why = None
        self._inbox = []
        self._online = False
        self._stop = asyncio.Event()
        self._down = asyncio.Event()
        self._redirect = None
        self._redirects = 0
        self._ids = 0
        self._last_rx = 0
        self._last_tx = 0

    # -- public ------------------------------------------------------------------------

    def send(self, el):
        """Queue a stanza for the server; False when offline or the output is congested."""
        if not self._online:
            return False
        try:
            if self.outbox.put_nowait(el):
                return True
        except TooLarge as e:
            self.log.error("not sent: %s" % e)
            return False
        self.outbox.dropped += 1
        self.log.warn("output full: stanza dropped (%d so far)" % self.outbox.dropped)
        return False

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
        return "c%d" % self._ids

    async def run(self):
        """Connect and stay connected until `stop()`."""
        while not self._stop.is_set():
            floor = 0
            started = time.ticks_ms()
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
                self.log.warn("timed out connecting to %s:%d" % (self.host, self.port))
            except (OSError, ValueError) as e:
                # ValueError: mbedTLS reports a certificate that fails verification so.
                self.last_error = repr(e)
                self.log.warn("connection to %s:%d failed: %r" % (self.host, self.port, e))
            except MemoryError:
                # Everything of the connection is gone now; collect it and try again later.
                self.last_error = "out of memory"
                gc.collect()
                self.log.error(
                    "out of memory during the connection; %d bytes free" % gc.mem_free()
                )
            self.backoff.connected_for(time.ticks_diff(time.ticks_ms(), started))
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
        host, port = self.host, self.port
        if self._redirect:
            host, port = self._redirect
            self._redirect = None
        self._t = t = Transport()
        tasks = ()
        try:
            await asyncio.wait_for_ms(
                t.connect(host, port), _opt(self.cfg, "connect_timeout_s") * 1000
            )
            if self.tls_mode == "direct":
                t.start_tls(tls_context(self.ca_der), self.domain)
            await asyncio.wait_for_ms(self._login(), _opt(self.cfg, "login_timeout_s") * 1000)
            self._redirects = 0
            self.connects += 1
            self._down.clear()
            self._why = None
            tasks = (
                asyncio.create_task(self._guard(self._reader())),
                asyncio.create_task(self._guard(self._sender())),
                asyncio.create_task(self._guard(self._watchdog())),
            )
            # Bound and served from here on: the roster answer comes through the reader.
            await self.roster.load()
            self.send(Element("presence", st.NS_CLIENT))
            self.online.set()
            gc.collect()  # a quiet point: what the login left behind goes now
            self.log.info("online as %s (heap in use: %d)" % (self.full_jid, gc.mem_alloc()))
            for cb in self.on_online:
                cb()
            await self._down.wait()
            if self._why is not None:
                raise self._why
        finally:
            was_online = self._online
            self._online = False
            self.online.clear()
            for task in tasks:
                task.cancel()
            if was_online and self._stop.is_set():
                self._close_stream()
            t.close()
            self._t = None
            if was_online:
                # First end the work meant for this connection, then drop its output, so
                # nothing queued for it can leak into the next one.
                for cb in self.on_offline:
                    cb()
            self.outbox.clear()
            self._inbox.clear()
            self.xml.reset()
            self.router.drop_pending()

    async def _guard(self, coro):
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - recorded, then the connection is rebuilt
            self._why = e
        finally:
            self._down.set()

    # -- login ----------------------------------------------------------------------------

    async def _login(self):
        t = self._t
        features = await self._open_stream()
        if not t.tls and self.tls_mode != "plain":
            if features.find("starttls", st.NS_TLS) is None:
                raise LoginFailed(
                    "server offers no STARTTLS; refusing to log in in clear",
                    _opt(self.cfg, "retry_permanent_s") * 1000,
                )
            await t.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            answer = await self._next()
            if answer.name != "proceed":
                raise LoginFailed("STARTTLS refused by server")
            t.start_tls(tls_context(self.ca_der), self.domain)
            features = await self._open_stream()
        await self._authenticate(features)
        features = await self._open_stream()
        await self._bind(features)
        self._online = True  # from here on stanzas go through the outbox and the router
        self._last_rx = self._last_tx = time.ticks_ms()

    async def _open_stream(self):
        self.xml.reset()
        self._inbox.clear()
        frm = " from='%s'" % jids.bare(self.jid) if self._t.tls else ""
        header = (
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' to='%s'%s version='1.0' "
            "xml:lang='en'>" % (self.domain, frm)
        )
        await self._t.write(header.encode())
        features = await self._next()
        if features.name != "features" or features.ns != st.NS_STREAM:
            raise LoginFailed("expected stream features, got <%s>" % features.name)
        return features

    async def _next(self):
        """The next stanza during login (reading as needed)."""
        mv = memoryview(self.rbuf)
        while not self._inbox:
            n = await self._t.readinto(self.rbuf)
            if not n:
                raise StreamClosed()
            self._feed(mv[:n])
        return self._inbox.pop(0)

    def _feed(self, data):
        try:
            self.xml.feed(data)
        except XMLError as e:
            self._stream_error_out(e.condition)
            raise

    async def _authenticate(self, features):
        mechs = features.find("mechanisms", st.NS_SASL)
        offered = [m.text for m in mechs.children] if mechs is not None else []
        try:
            auth = sasl.Authenticator(
                self.local, self.cfg["password"], offered, self._t.tls, self.sasl_cache
            )
            mech, initial = auth.start()
        except sasl.SASLError as e:
            raise LoginFailed(str(e), _opt(self.cfg, "retry_permanent_s") * 1000) from e
        await self._t.write(
            b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='%s'>%s</auth>"
            % (mech.encode(), _b64(initial) or b"=")
        )
        while True:
            el = await self._next()
            try:
                if el.name == "challenge":
                    resp = auth.challenge(_unb64(el.text))
                    await self._t.write(
                        b"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>"
                        % _b64(resp)
                    )
                elif el.name == "success":
                    auth.success(_unb64(el.text))
                    self.log.info("authenticated with %s" % mech)
                    return
                elif el.name == "failure":
                    cond = el.children[0].name if el.children else "not-authorized"
                    floor = _opt(self.cfg, "retry_permanent_s") * 1000
                    raise LoginFailed(
                        "SASL %s: %s" % (mech, cond), 0 if sasl.retry_soon(cond) else floor
                    )
                else:
                    raise LoginFailed("unexpected <%s> during SASL" % el.name)
            except sasl.SASLError as e:
                # A server that cannot prove it knows our password is not our server.
                raise LoginFailed(
                    "SASL %s: %s" % (mech, e), _opt(self.cfg, "retry_permanent_s") * 1000
                ) from e

    async def _bind(self, features):
        if features.find("bind", st.NS_BIND) is None:
            raise LoginFailed("server offers no resource binding")
        res = Element("resource", st.NS_BIND, None, None, self.resource)
        await self._t.write(
            tostring(st.iq("set", None, "bind", Element("bind", st.NS_BIND, None, [res])))
        )
        answer = await self._next()
        if answer.get("type") != "result":
            raise LoginFailed(
                "bind refused: %s" % st.error_condition(answer),
                _opt(self.cfg, "retry_permanent_s") * 1000,
            )
        bound = answer.find("bind", st.NS_BIND)
        jid_el = bound.find("jid", st.NS_BIND) if bound is not None else None
        self.full_jid = (
            jid_el.text
            if jid_el is not None and jid_el.text
            else ("%s/%s" % (jids.bare(self.jid), self.resource))
        )
        session = features.find("session", st.NS_SESSION)
        if session is not None and session.find("optional") is None:
            await self._t.write(
                tostring(st.iq("set", None, "sess", Element("session", st.NS_SESSION)))
            )
            if (await self._next()).get("type") != "result":
                raise LoginFailed("session establishment refused")

    # -- XMLStream sink --------------------------------------------------------------------

    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        self._last_rx = time.ticks_ms()
        if self._online:
            self.router.dispatch(el)
        elif len(self._inbox) < _INBOX_MAX:
            self._inbox.append(el)
        else:
            # Our refusal, not the server's stream error: say so to the server and retry
            # with the normal backoff (StreamClosed would mean a 10-minute penalty).
            raise XMLError("policy-violation", "more than %d stanzas during login" % _INBOX_MAX)

    def stream_error(self, el):
        cond, text = None, None
        for c in el.children:
            if c.ns == st.NS_STREAMS:
                if c.name == "text":
                    text = text or c.text
                else:
                    cond = c.name
                    if c.text:  # see-other-host carries the new address (RFC 6120 §4.9.3.19)
                        text = c.text
        raise StreamClosed(cond or "undefined-condition", text)

    def stream_end(self):
        raise StreamClosed()

    # -- the three connection tasks --------------------------------------------------------

    async def _reader(self):
        t, buf = self._t, self.rbuf
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
            self._feed(mv[:n])

    async def _sender(self):
        t, outbox = self._t, self.outbox
        while True:
            await outbox.ready.wait()
            data = outbox.take()
            if data:
                t.write_nowait(data)  # copies what the socket does not take at once
                self._last_tx = time.ticks_ms()
                await t.drain()

    async def _watchdog(self):
        keepalive = _opt(self.cfg, "keepalive_s") * 1000
        ping_after = _opt(self.cfg, "ping_s") * 1000
        ping_timeout = _opt(self.cfg, "ping_timeout_s") * 1000
        tick = min(keepalive, ping_after, 1000)
        while True:
            await asyncio.sleep_ms(tick)
            now = time.ticks_ms()
            if time.ticks_diff(now, self._last_rx) >= ping_after:
                # RFC 6120 §4.6.1 / XEP-0199: silence may be a dead TCP link; ask.
                ping = st.iq("get", self.domain, self.new_id(), Element("ping", st.NS_PING))
                if await self.router.request(ping, ping_timeout) is None:
                    raise StreamClosed(None, "no answer to ping in %d ms" % ping_timeout)
            elif time.ticks_diff(now, self._last_tx) >= keepalive:
                self.outbox.put_nowait(b" ")  # RFC 6120 §4.6.1 whitespace keepalive

    # -- stream errors ---------------------------------------------------------------------

    def _stream_error_out(self, condition):
        """Tell the server why we are closing (RFC 6120 §4.9), best effort."""
        msg = (
            "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
            "</stream:stream>" % condition
        )
        try:
            self._t.write_nowait(msg.encode())
        except (OSError, AttributeError):
            pass  # the socket is already gone; reconnecting is what matters

    def _close_stream(self):
        try:
            self._t.write_nowait(b"<presence type='unavailable'/></stream:stream>")
        except (OSError, AttributeError):
            pass  # already gone

    def _after_stream_error(self, e):
        cond = e.condition
        if cond is None:
            self.log.warn("connection lost%s" % (": " + e.text if e.text else ""))
            return 0
        self.log.warn(
            "stream error from server: %s%s" % (cond, " (%s)" % e.text if e.text else "")
        )
        if cond == "see-other-host" and e.text and self._redirects < _MAX_REDIRECTS:
            self._redirects += 1
            host, _, port = e.text.strip().rpartition(":")
            if not host or "]" in port:
                host, port = e.text.strip(), ""
            self._redirect = (host.strip("[]"), int(port) if port.isdigit() else self.port)
            return 0
        if cond in _PERMANENT:
            return _opt(self.cfg, "retry_permanent_s") * 1000
        return 0


def _b64(data):
    # An empty initial response goes as "=" (RFC 6120 §6.4.2, done by the caller); an
    # empty <response/> answers a final challenge.
    return binascii.b2a_base64(data)[:-1] if data else b""


def _unb64(text):
    if not text or text == "=":
        return b""
    try:
        return binascii.a2b_base64(text)
    except ValueError as e:
        raise sasl.SASLError("incorrect-encoding", "bad base64 from server") from e

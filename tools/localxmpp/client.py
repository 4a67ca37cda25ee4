"""slixmpp clients driven synchronously, for tests, demos and benchmarks.

All clients made by one `ClientLoop` share its asyncio loop; every blocking call runs that
loop, so the other clients keep talking while one waits.

    with ClientLoop() as clients:
        sensor = clients.connect(server, "sensor", "pw")
        requester = clients.connect(server, "requester", "pw")
        requester.send_message(sensor.jid, "hello")
        assert sensor.wait_message(timeout=5)["body"] == "hello"
"""

import asyncio
import hashlib
import logging
import ssl

from slixmpp import ClientXMPP
from slixmpp.util.sasl import mechanisms

_STREAMS = "{http://etherx.jabber.org/streams}"
_TLS = "{urn:ietf:params:xml:ns:xmpp-tls}"
_SASL = "{urn:ietf:params:xml:ns:xmpp-sasl}"
_FAILURE_EVENTS = ("failed_all_auth", "connection_failed", "stream_error", "disconnected")

log = logging.getLogger(__name__)


def _pbkdf2_hi(self, text, salt, iterations):
    """RFC 5802 Hi() is PBKDF2-HMAC: OpenSSL's is ~50x faster than slixmpp's Python loop."""
    name = self.hash_name.replace("-", "").lower()  # "SHA-256" -> "sha256"
    return hashlib.pbkdf2_hmac(name, mechanisms.bytes(text), salt, iterations)


# Same result, same iterations; this only saves ~50 ms of test time per login.
mechanisms.SCRAM.Hi = _pbkdf2_hi


class ConnectError(RuntimeError):
    """The client did not reach session_start; `event` names what happened instead."""

    def __init__(self, event, detail):
        super().__init__("%s: %s" % (event, detail))
        self.event = event
        self.detail = detail


class _RecordingClient(ClientXMPP):
    """ClientXMPP that keeps every <stream:features/> it was offered."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered_features = []

    async def _handle_stream_features(self, features):
        xml = features.xml
        tls = xml.find(_TLS + "starttls")
        mechs = xml.find(_SASL + "mechanisms")
        self.offered_features.append(
            {
                "starttls": tls is not None,
                "starttls_required": tls is not None and tls.find(_TLS + "required") is not None,
                "mechanisms": [m.text for m in mechs] if mechs is not None else [],
                "xml": str(features),
            }
        )
        return await super()._handle_stream_features(features)


class Client:
    """One logged-in (or logging-in) slixmpp client; use ClientLoop.client/connect to make one.

    mode: "starttls" (verified STARTTLS), "direct_tls" (XEP-0368, to server.direct_tls_port)
    or "plaintext" (no TLS at all).
    """

    def __init__(self, clients, server, user, password, *, resource="test", mode="starttls",
                 ca_pem_path=None, plugins=("xep_0030", "xep_0199"), plugin_config=None,
                 sasl_mech=None):  # fmt: skip
        self.clients = clients
        self.loop = clients.loop
        self.server = server
        self.mode = mode
        jid = "%s@%s/%s" % (user, server.domain, resource)
        kwargs = {"sasl_mech": sasl_mech} if sasl_mech else {}
        config = dict(plugin_config or {})
        if mode == "plaintext":
            # slixmpp refuses every mechanism on an unencrypted stream unless told otherwise.
            config.setdefault("feature_mechanisms", {"unencrypted_scram": True})
        ca = str(ca_pem_path or server.ca_pem_path)
        # Our CA only: slixmpp's default context loads the system store, ~80 ms per client.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=ca)
        self.xmpp = _RecordingClient(
            jid, password, config, loop=self.loop, ssl_context=context, **kwargs
        )
        for name in plugins:
            self.xmpp.register_plugin(name, config.get(name))
        self.xmpp.ca_certs = ca
        self.xmpp.enable_starttls = mode == "starttls"
        self.xmpp.enable_direct_tls = mode == "direct_tls"
        self.xmpp.enable_plaintext = mode == "plaintext"
        self.messages = asyncio.Queue()
        self.xmpp.add_event_handler("message", self.messages.put_nowait)

    @property
    def jid(self):
        """The full JID the server bound."""
        return self.xmpp.boundjid.full

    @property
    def tls_version(self):
        """ "TLSv1.3" and the like on an encrypted stream, None on a plaintext one."""
        transport = self.xmpp.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        return ssl_object.version() if ssl_object else None

    @property
    def features(self):
        """Every <stream:features/> offered, as dicts: starttls, starttls_required, mechanisms."""
        return self.xmpp.offered_features

    @property
    def mechanisms(self):
        """The SASL mechanisms of the last features that offered any."""
        for feats in reversed(self.features):
            if feats["mechanisms"]:
                return feats["mechanisms"]
        return []

    def run(self, awaitable, timeout=10.0):
        """Run the shared loop until `awaitable` is done; TimeoutError after `timeout` s."""
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, timeout))

    def wait_event(self, name, timeout=10.0):
        """Wait for the next slixmpp event `name`; returns its argument."""
        future = self.loop.create_future()

        def fire(arg=None):
            if not future.done():
                future.set_result(arg)

        self.xmpp.add_event_handler(name, fire, disposable=True)
        try:
            return self.run(future, timeout)
        finally:
            self.xmpp.del_event_handler(name, fire)

    def connect(self, timeout=30.0, presence=True):
        """Connect, log in, bind; raise ConnectError if the session does not start.

        The timeout only guards against a hang: a loaded host's TLS and SCRAM take their time.
        """
        future = self.loop.create_future()
        handlers = []

        def on(event, fail):
            def fire(arg=None):
                if not future.done():
                    if fail:
                        future.set_exception(ConnectError(event, arg))
                    else:
                        future.set_result(arg)

            self.xmpp.add_event_handler(event, fire)
            handlers.append((event, fire))

        on("session_start", False)
        for event in _FAILURE_EVENTS:
            on(event, True)
        port = self.server.direct_tls_port if self.mode == "direct_tls" else self.server.port
        self.xmpp.connect("127.0.0.1", port)
        try:
            self.run(future, timeout)
        except BaseException:
            self.abort()
            raise
        finally:
            for event, fire in handlers:
                self.xmpp.del_event_handler(event, fire)
        if presence:
            self.xmpp.send_presence()
        return self

    def send_message(self, to, body, mtype="chat"):
        self.xmpp.send_message(mto=to, mbody=body, mtype=mtype)

    def wait_message(self, predicate=None, timeout=5.0):
        """The next received message for which `predicate(msg)` holds (others are dropped)."""

        async def next_match():
            while True:
                msg = await self.messages.get()
                if predicate is None or predicate(msg):
                    return msg

        return self.run(next_match(), timeout)

    def ping(self, to, timeout=5.0):
        """XEP-0199 ping; returns the round trip in seconds."""
        return self.run(self.xmpp.plugin["xep_0199"].ping(to, timeout=timeout), timeout + 1)

    def send_iq(self, iq, timeout=30.0):
        """Send a slixmpp Iq and return the result stanza (IqError/IqTimeout propagate)."""
        return self.run(iq.send(timeout=timeout), timeout + 1)

    def disconnect(self, timeout=2.0):
        """Close the stream politely, then the socket."""
        if self.xmpp.transport is None:
            self.abort()
            return
        try:
            self.run(self.xmpp.disconnect(wait=timeout), timeout + 1)
        except TimeoutError:
            self.abort()

    def abort(self):
        """Drop the connection now and stop slixmpp from reconnecting."""
        self.xmpp.cancel_connection_attempt()
        self.xmpp.abort()
        self.loop.run_until_complete(asyncio.sleep(0))


class ClientLoop:
    """An asyncio loop shared by a set of Clients; close() disconnects them all."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.clients = []

    def client(self, server, user, password=None, **kwargs):
        """A Client for user@server.domain, not yet connected (see Client for kwargs).

        The password defaults to the one the server registered for `user`.
        """
        if password is None:
            password = server.accounts[user]
        client = Client(self, server, user, password, **kwargs)
        self.clients.append(client)
        return client

    def connect(self, server, user, password=None, timeout=30.0, **kwargs):
        """A Client already logged in and available."""
        return self.client(server, user, password, **kwargs).connect(timeout)

    def close(self):
        """Disconnect every client and close the loop; a second call does nothing."""
        if self.loop.is_closed():
            return
        for client in self.clients:
            try:
                client.disconnect()
            except Exception as exc:  # one broken client must not keep others connected
                log.warning("disconnect of %s failed: %r", client.jid, exc)
                client.abort()
        self.clients.clear()
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

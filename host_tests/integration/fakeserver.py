"""A scripted fake XMPP server on loopback, for tests against hostile or broken servers.

It runs its own asyncio loop in a background thread, so a test can drive a client (a
MicroPython subprocess, a socket, slixmpp) while the fake plays its script. Each connection
plays a list of steps; afterwards it keeps reading until the client closes. Everything the
client sent is recorded per connection, with open and close times.

    with FakeServer(scripts.see_other_host(other.port)) as fake:
        run_client(port=fake.port)
        fake.wait_for_connections(1)
        assert b"<stream:stream" in fake.connections[0].received
"""

import asyncio
import re
import socket
import ssl
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from localxmpp import CertificateAuthority  # noqa: E402


def board_config(port, **xmpp):
    """A board's config that logs in to a fake server on `port` with the test CA."""
    x = {
        "jid": "sensor@localhost",
        "password": "pw",
        "host": "127.0.0.1",
        "port": port,
        "ca": str(CertificateAuthority.shared().der_path),
    }
    x.update(xmpp)
    return {"xmpp": x, "allow": [], "board": "host"}


# ---- steps -------------------------------------------------------------------------------
class Send:
    """Write bytes (str is UTF-8 encoded)."""

    def __init__(self, data):
        self.data = data.encode() if isinstance(data, str) else data


class SendSlowly(Send):
    """Write bytes at about `rate` bytes per second (a slowloris server)."""

    def __init__(self, data, rate):
        super().__init__(data)
        self.rate = rate


class Expect:
    """Wait until the unconsumed input matches the regex `pattern`; consume through the match.

    On timeout (or the client closing first) the connection's `failure` is set and it closes.
    """

    # A guard against a client that never sends it: a loaded host's client may be slow.
    def __init__(self, pattern, timeout=30.0):
        self.pattern = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        self.timeout = timeout


class Sleep:
    def __init__(self, seconds):
        self.seconds = seconds


class Close:
    """Close the connection politely (FIN)."""


class Reset:
    """Abort the connection with SO_LINGER 0, so the client sees a TCP RST."""


PROCEED = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"


class StartTls:
    """Send <proceed/> (unless proceed=False) and become the TLS server on this connection.

    Both happen without yielding to the loop, so the client's TLS hello can't be read as
    plain stream data in between.
    """

    def __init__(self, domain="localhost", proceed=True):
        self.domain = domain
        self.proceed = proceed


class StallTls:
    """Read the client's TLS hello and never answer it, for `seconds` (then go on)."""

    def __init__(self, seconds=3600.0):
        self.seconds = seconds


# ---- recording ---------------------------------------------------------------------------
class Connection:
    """What happened on one accepted connection."""

    def __init__(self, index):
        self.index = index
        self.opened_at = time.monotonic()
        self.closed_at = None
        self.received = b""  # everything the client sent (decrypted after StartTls)
        self.pending = b""  # received but not yet consumed by an Expect
        self.tls = False
        self.client_closed = False  # the client closed or reset its side
        self.failure = None  # why the script stopped early, if it did
        self.steps_done = 0


def _tls_context(domain):
    cert = CertificateAuthority.shared().server_cert(domain)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert_path, cert.key_path)
    return context


class FakeServer:
    """Listens on 127.0.0.1:`port` (0: a free one) and plays `script` to every connection.

    script: a list of steps, or a function(index) -> list of steps for the index-th connection.
    """

    def __init__(self, script, port=0):
        self.script = script
        self.connections = []
        self._requested_port = port
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self._writers = set()

    # -- lifecycle --
    def start(self):
        self._thread.start()
        self._server = self._call(
            asyncio.start_server(self._serve, "127.0.0.1", self._requested_port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        if self._server is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._server = None

    async def _shutdown(self):
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.sleep(0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _call(self, coro, timeout=10.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- what tests look at --
    # The waits' bounds only guard against a hang: the client may be a loaded host's board.
    @property
    def connection_count(self):
        return len(self.connections)

    def wait_for_connections(self, count, timeout=30.0):
        """Wait until `count` connections were accepted; returns them."""
        return self._wait(lambda: len(self.connections) >= count, timeout, "connections")

    def wait_closed(self, index, timeout=30.0):
        """Wait until connection `index` is over (either side closed)."""
        self.wait_for_connections(index + 1, timeout)
        conn = self.connections[index]
        self._wait(lambda: conn.closed_at is not None, timeout, "close of %d" % index)
        return conn

    def wait_received(self, index, pattern, timeout=30.0):
        """Wait until the client sent bytes matching `pattern` on connection `index`."""
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        self.wait_for_connections(index + 1, timeout)
        conn = self.connections[index]
        self._wait(lambda: regex.search(conn.received), timeout, "pattern %r" % pattern)
        return conn

    def reconnect_delays(self):
        """Seconds from each connection's end to the next connection's start."""
        conns = self.connections
        return [
            b.opened_at - a.closed_at
            for a, b in zip(conns, conns[1:], strict=False)
            if a.closed_at is not None
        ]

    @staticmethod
    def _wait(condition, timeout, what):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("fake server: no %s after %.1f s" % (what, timeout))
            time.sleep(0.01)
        return condition()

    # -- the script player --
    async def _serve(self, reader, writer):
        conn = Connection(len(self.connections))
        self.connections.append(conn)
        self._writers.add(writer)
        steps = self.script(conn.index) if callable(self.script) else self.script
        try:
            for step in steps:
                if not await self._play(step, conn, reader, writer):
                    return
                conn.steps_done += 1
            while await self._read(conn, reader, None):
                pass
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            conn.client_closed = True
            conn.failure = conn.failure or repr(exc)
        finally:
            self._writers.discard(writer)
            if conn.failure and not writer.transport.is_closing():
                writer.transport.abort()
            elif not writer.transport.is_closing():
                writer.close()
            conn.closed_at = time.monotonic()

    async def _read(self, conn, reader, timeout):
        """Read what is there into conn; False once the client has closed."""
        try:
            data = await asyncio.wait_for(reader.read(65536), timeout)
        except TimeoutError:
            return True
        if not data:
            conn.client_closed = True
            return False
        conn.received += data
        conn.pending += data
        return True

    async def _play(self, step, conn, reader, writer):
        """Run one step; False ends the connection."""
        if isinstance(step, SendSlowly):
            chunk = max(1, step.rate // 100)
            for i in range(0, len(step.data), chunk):
                writer.write(step.data[i : i + chunk])
                await writer.drain()
                await asyncio.sleep(len(step.data[i : i + chunk]) / step.rate)
        elif isinstance(step, Send):
            writer.write(step.data)
            await writer.drain()
        elif isinstance(step, Expect):
            deadline = time.monotonic() + step.timeout
            while True:
                match = step.pattern.search(conn.pending)
                if match:
                    conn.pending = conn.pending[match.end() :]
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or not await self._read(conn, reader, left):
                    conn.failure = "expected %r, got %r" % (step.pattern.pattern, conn.pending)
                    return False
        elif isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, Close):
            writer.close()
            return False
        elif isinstance(step, Reset):
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif isinstance(step, StartTls):
            context = _tls_context(step.domain)
            conn.pending = b""
            if step.proceed:
                writer.write(PROCEED)
            await writer.start_tls(context)
            conn.tls = True
        elif isinstance(step, StallTls):
            deadline = time.monotonic() + step.seconds
            while time.monotonic() < deadline:
                if not await self._read(conn, reader, deadline - time.monotonic()):
                    return False
        else:
            raise TypeError("unknown fake server step %r" % (step,))
        return True


# ---- ready-made scripts ------------------------------------------------------------------
_STREAM_NS = "http://etherx.jabber.org/streams"
CLIENT_HEADER = rb"<(stream:)?stream\b[^>]*>"
STARTTLS_REQUEST = rb"<starttls\b[^>]*(/>|>\s*</starttls>)"


def header(domain="localhost", stream_id="fake", declaration=True):
    """A server stream header, as Prosody would send it."""
    return (
        ("<?xml version='1.0'?>" if declaration else "")
        + "<stream:stream xmlns='jabber:client' xmlns:stream='%s' id='%s' from='%s'"
        " version='1.0' xml:lang='en'>" % (_STREAM_NS, stream_id, domain)
    )


def features(*children):
    return "<stream:features>%s</stream:features>" % "".join(children)


STARTTLS_REQUIRED = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
MECHANISMS = (
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
)


def stream_error(condition, text=""):
    body = "<%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'%s" % (
        condition,
        ">%s</%s>" % (text, condition) if text else "/>",
    )
    return "<stream:error>%s</stream:error></stream:stream>" % body


def starttls(domain="localhost"):
    """Header, features requiring STARTTLS, <proceed/>, TLS, and the client's new header."""
    return [
        Expect(CLIENT_HEADER),
        Send(header(domain) + features(STARTTLS_REQUIRED)),
        Expect(STARTTLS_REQUEST),
        StartTls(domain),
        Expect(CLIENT_HEADER),
    ]


def plaintext_without_starttls(domain="localhost"):
    """Features that offer SASL (PLAIN too) but no STARTTLS: a client must not log in."""
    return [Expect(CLIENT_HEADER), Send(header(domain) + features(MECHANISMS))]


def garbage_after_header(domain="localhost"):
    junk = b"\x00\x01<<&&>> not xml \xff\xfe"  # NUL and invalid UTF-8 included
    return [Expect(CLIENT_HEADER), Send(header(domain).encode() + junk)]


def doctype(domain="localhost"):
    """A DOCTYPE with an entity (XMPP forbids both: RFC 6120 §11.1)."""
    return [
        Expect(CLIENT_HEADER),
        Send(
            "<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY boom 'boom'>]>"
            + header(domain, declaration=False)
        ),
    ]


def oversized_stanza(size=100_000, domain="localhost", tls=True):
    """After STARTTLS (or straight away), features followed by a `size`-byte message."""
    body = "x" * size
    stanza = "<message from='evil@%s' to='sensor@%s'><body>%s</body></message>" % (
        domain,
        domain,
        body,
    )
    if tls:
        return starttls(domain) + [Send(header(domain) + features(MECHANISMS) + stanza)]
    return [Expect(CLIENT_HEADER), Send(header(domain) + stanza)]


def see_other_host(port, host="127.0.0.1", domain="localhost", tls=True):
    """Redirect the client to host:port with a see-other-host stream error, then close; over
    TLS (a client follows a redirect only from a server it authenticated) or before it."""
    opening = starttls(domain) if tls else [Expect(CLIENT_HEADER)]
    return opening + [
        Send(header(domain) + stream_error("see-other-host", "%s:%d" % (host, port))),
        Close(),
    ]


def stalled_tls_handshake(domain="localhost", seconds=3600.0):
    """Send <proceed/>, then never complete the TLS handshake."""
    return starttls(domain)[:3] + [Send(PROCEED), StallTls(seconds)]


def reset_after_header(domain="localhost"):
    return [Expect(CLIENT_HEADER), Send(header(domain)), Reset()]

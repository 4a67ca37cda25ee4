"""More fake-server steps and scripts: a complete (fake) login, endless input, slowloris.

`FakeServer` plays fixed bytes; a login also needs to echo the ids the client picks (its
roster query is `c1`, `c2`, ... across reconnects). `Reply` does that: it waits like
`Expect`, then sends a template filled with the match's named groups. `Endless` writes a
chunk over and over until the client goes away. `MoreFakeServer` plays both, and every
step of `fakeserver`.

    fake = MoreFakeServer(lambda i: login() + [Sleep(0.5), Reset()]).start()
"""

import re
import time

import fakeserver as fs


class Reply:
    """Wait until the input matches `pattern`; then send `template % match.groupdict()`."""

    def __init__(self, pattern, template, timeout=30.0):  # a guard, as Expect's
        self.pattern = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        self.template = template
        self.timeout = timeout


class Endless:
    """Send `chunk` again and again (after an optional `prefix`) for at most `seconds`."""

    def __init__(self, chunk, prefix="", seconds=30.0):
        self.chunk = chunk.encode() if isinstance(chunk, str) else chunk
        self.prefix = prefix.encode() if isinstance(prefix, str) else prefix
        self.seconds = seconds


class MoreFakeServer(fs.FakeServer):
    async def _play(self, step, conn, reader, writer):
        if isinstance(step, Reply):
            deadline = time.monotonic() + step.timeout
            while True:
                m = step.pattern.search(conn.pending)
                if m:
                    conn.pending = conn.pending[m.end() :]
                    break
                left = deadline - time.monotonic()
                if left <= 0 or not await self._read(conn, reader, left):
                    conn.failure = "expected %r, got %r" % (step.pattern.pattern, conn.pending)
                    return False
            text = step.template % {k: v.decode() for k, v in m.groupdict().items()}
            writer.write(text.encode())
            await writer.drain()
            return True
        if isinstance(step, Endless):
            writer.write(step.prefix)
            deadline = time.monotonic() + step.seconds
            while time.monotonic() < deadline:
                try:
                    for _ in range(64):
                        writer.write(step.chunk)
                        await writer.drain()  # raises once the client has closed
                except (ConnectionError, OSError):
                    # Its last words (a stream error) may have come just before: keep them.
                    try:
                        while await self._read(conn, reader, 0.2):
                            pass
                    except (ConnectionError, OSError):
                        pass
                    return False
                # Keep recording what the client says (its stream error, say).
                if not await self._read(conn, reader, 0.001):
                    return False
            return True
        return await super()._play(step, conn, reader, writer)


# ---- scripts -----------------------------------------------------------------------------
PLAIN_ONLY = (
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
    "</mechanisms>"
)
BIND = "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
SUCCESS = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
_ID = rb"id=['\"](?P<id>[^'\"]+)['\"]"


def login(domain="localhost", jid="sensor@localhost/sensor"):
    """STARTTLS, SASL PLAIN (inside TLS, always 'success'), bind, an empty roster, presence.

    The client then logs `online as ... (heap in use: N)`, as with a real server.
    """
    return fs.starttls(domain) + [
        fs.Send(fs.header(domain) + fs.features(PLAIN_ONLY)),
        fs.Expect(rb"<auth\b[^>]*>[^<]*</auth>"),
        fs.Send(SUCCESS),
        fs.Expect(fs.CLIENT_HEADER),
        fs.Send(fs.header(domain) + fs.features(BIND)),
        Reply(
            rb"<iq\b[^>]*" + _ID + rb"[^>]*>\s*<bind\b",
            "<iq type='result' id='%%(id)s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<jid>%s</jid></bind></iq>" % jid,
        ),
        Reply(
            rb"<iq\b[^>]*" + _ID + rb"[^>]*>\s*<query xmlns=['\"]jabber:iq:roster",
            "<iq type='result' id='%(id)s'><query xmlns='jabber:iq:roster'/></iq>",
        ),
        fs.Expect(rb"<presence\b"),
    ]


def close_after_bind(domain="localhost", jid="sensor@localhost/sensor"):
    """A login that ends with </stream:stream> where the roster answer should come."""
    steps = login(domain, jid)[:-2]  # without the roster answer and the presence
    return steps + [
        fs.Expect(rb"<query xmlns=['\"]jabber:iq:roster"),
        fs.Send("</stream:stream>"),
        fs.Close(),
    ]


def slowloris_login(domain="localhost", rate=1):
    """The server's header and features at `rate` bytes per second: a login that crawls."""
    return [
        fs.Expect(fs.CLIENT_HEADER),
        fs.SendSlowly(fs.header(domain) + fs.features(fs.STARTTLS_REQUIRED), rate),
    ]


def endless_features(domain="localhost", seconds=30.0):
    """<stream:features> that never ends: child after child, until the client gives up."""
    return [
        fs.Expect(fs.CLIENT_HEADER),
        Endless(
            "<feature xmlns='urn:example:more'/>",
            fs.header(domain) + "<stream:features>",
            seconds,
        ),
    ]


def repeated_features(domain="localhost", count=200):
    """<stream:features/> `count` times in one burst: more stanzas than a login buffers."""
    return [
        fs.Expect(fs.CLIENT_HEADER),
        fs.Send(fs.header(domain) + "<stream:features/>" * count),
    ]


def cut_after_login(domain="localhost", jid="sensor@localhost/sensor"):
    """Log in, then half a message stanza, then a TCP reset in its middle."""
    return login(domain, jid) + [
        fs.Sleep(0.3),
        fs.Send(
            "<message from='friend@%s/x' to='%s' type='chat'><body>half a sent" % (domain, jid)
        ),
        fs.Reset(),
    ]

"""The byte pipe under an XMPP stream: TCP, then TLS (direct, or upgraded by STARTTLS).

Certificate verification is always on: the context demands a valid chain to the configured
CA (DER bytes, what mbedTLS takes) and a certificate for the XMPP domain, whatever address
the TCP connection went to. Nothing here blocks the event loop except the one DNS lookup
per connection attempt (`getaddrinfo` blocks in MicroPython; there is no async resolver).
"""

import socket
import ssl
from asyncio import core, sleep_ms
from errno import EINPROGRESS

from micropython import const

_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)


class TLSConfigError(ValueError):
    """The CA file is missing or unreadable: a configuration problem, not a network one."""


def tls_context(ca_der):
    """A client context that verifies the server against `ca_der` (bytes, DER)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # PROTOCOL_TLS_CLIENT alone does not verify on MicroPython: demand it explicitly.
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_verify_locations(cadata=ca_der)
    except (ValueError, OSError) as e:
        # `from None`: chaining (`from e`) makes MicroPython warn on the console.
        raise TLSConfigError("CA certificate not usable (must be DER): %r" % (e,)) from None
    return ctx


class Transport:
    """One connection. Every wait is on the TCP socket, also under TLS.

    A TLS object has no file descriptor of its own, so a poller can only ask it in 1 ms
    steps; and the unix port's poller corrupts its entries for such objects when it
    reallocates its descriptor table (a crash seen with dozens of connections in one
    process). Waiting on the socket underneath avoids both; the TLS object is then only
    read and written, never polled. Decrypted bytes may already sit in the TLS layer, so
    every read is tried before waiting.
    """

    def __init__(self):
        self.sock = None  # what is read and written: the TCP socket, or TLS over it
        self.fd = None  # what is waited on: always the TCP socket
        self._up = False  # False while a TLS handshake may still be under way
        self._out = b""  # what the socket did not take at once
        self._held = 0  # what the last write did not take: the next one is no longer

    @property
    def up(self):
        """False while a TLS handshake may still be under way."""
        return self._up

    @property
    def tls(self):
        """True once the socket is wrapped in TLS (login allows PLAIN only then)."""
        return self.sock is not None and self.sock is not self.fd

    async def connect(self, host, port):
        """Open the TCP connection. The socket is ours before the wait for the handshake, so
        close() ends it also when that wait is cancelled (a connect timeout): asyncio's
        open_connection would leave it open, one lost socket per attempt to a dead server."""
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        s = socket.socket(ai[0], ai[1], ai[2])
        self.sock = self.fd = s
        self._up = True
        self._out = b""
        self._held = 0
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError as e:
            if e.errno != EINPROGRESS:
                raise
        yield core._io_queue.queue_write(s)
        try:
            # Stanzas are written whole; waiting for an ACK before the next small one
            # (Nagle) would add ~40 ms to every request/response exchange.
            self.fd.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # a port without the option: output is coalesced per burst anyway

    def start_tls(self, ctx, server_hostname):
        """Wrap the connected socket in TLS; the handshake runs on the next read or write.

        Called right after `<proceed/>` (or at once for direct TLS): the server sends
        nothing more in clear, so no buffered plaintext can be lost here.
        """
        sock = ctx.wrap_socket(
            self.fd, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        sock.setblocking(False)
        self.sock = sock
        self._up = False

    async def readinto(self, buf):
        """Read what is there into `buf`; 0 means the peer closed the connection."""
        while True:
            n = self.sock.readinto(buf)
            if n is not None:
                self._up = True
                return n
            yield core._io_queue.queue_read(self.fd)

    def write_nowait(self, data):
        """Hand `data` to the socket now; what it does not take is kept for `drain`."""
        if self._out:
            self._out += data
            return
        n = self._write(data)
        if n:
            self._up = True
        if n < len(data):
            self._out = bytes(data[n:])

    async def drain(self, src=None):
        """Wait until everything handed to `write_nowait` has gone to the socket; then, with
        `src` (an Outbox), what it holds: sent from its buffer and dropped from it as the
        socket takes it, so nothing is copied and producers get room as bytes leave."""
        if src and not self._out and self._up:
            # Most often the socket takes it all at once: no wait for it to be writable,
            # which costs a turn of the poller per send (10% of the readouts per second).
            n = self._write(src.w.pending())
            if n:
                src.sent(n)
        if not self._out and not src:
            # Always yield, so that a tight write loop cannot starve the other tasks.
            await sleep_ms(0)
            return
        read_next = not self._up  # a handshake in progress waits for the server's flight
        while self._out or src:
            mv = memoryview(self._out) if self._out else None
            off = 0
            try:
                while src if mv is None else off < len(mv):
                    if read_next:
                        # Only while the handshake runs: no reader task is waiting on fd yet.
                        yield core._io_queue.queue_read(self.fd)
                    else:
                        yield core._io_queue.queue_write(self.fd)
                    if self.sock is None:
                        return  # closed meanwhile
                    # The outbox's view is taken after the wait: a put or a send moves it.
                    n = self._write(src.w.pending() if mv is None else mv[off:])
                    if n:
                        if mv is None:
                            src.sent(n)
                        else:
                            off += n
                        self._up = True
                        read_next = False
                    elif self._up:
                        # Writable, yet TLS would not write: it wants to read first, which
                        # the reader task does. Look again shortly rather than spin.
                        await sleep_ms(1)
                    else:
                        read_next = not read_next
            finally:
                # Keep what write_nowait appended meanwhile (it made a new, longer object),
                # and drop what went out also when cancelled: the closing tag that follows
                # must not send it twice.
                if mv is not None:
                    self._out = self._out[off:]

    async def write(self, data):
        self.write_nowait(data)
        await self.drain()

    def _write(self, data):
        """sock.write, no longer than what the last one did not take. Under TLS that rest is
        in a record on its way (mbedTLS keeps the record of a write that would block, and
        MicroPython's write returns what went before it): it must be given the same bytes
        again, and counts all it is given as written though only the record goes."""
        held = self._held
        if held and len(data) > held:
            data = memoryview(data)[:held]
        n = self.sock.write(data) or 0
        self._held = len(data) - n
        return n

    def close(self):
        s = self.sock
        self.sock = self.fd = None
        self._out = b""
        if s is not None:
            try:
                s.close()  # TLS closes the socket under it too
            except OSError:
                pass  # already closed by the peer or by a failed handshake

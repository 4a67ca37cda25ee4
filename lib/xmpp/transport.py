"""The byte pipe under an XMPP stream: TCP, then TLS (direct, or upgraded by STARTTLS).

Certificate verification is always on: the context demands a valid chain to the configured
CA (DER bytes, what mbedTLS takes) and a certificate for the XMPP domain, whatever address
the TCP connection went to. Nothing here blocks the event loop except the one DNS lookup
per connection attempt (`getaddrinfo` blocks in MicroPython; there is no async resolver).
"""

import ssl

# asyncio loads its stream module lazily, on first use; load it now, while the heap is
# still unfragmented, rather than in the middle of the first connection attempt.
from asyncio import StreamReader, open_connection

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
        raise TLSConfigError("CA certificate not usable (must be DER): %r" % (e,)) from e
    return ctx


class Transport:
    def __init__(self):
        self.stream = None
        self.tls = False

    async def connect(self, host, port):
        self.stream, _ = await open_connection(host, port)
        self.tls = False
        try:
            # Stanzas are written whole; waiting for an ACK before the next small one
            # (Nagle) would add ~40 ms to every request/response exchange.
            self.stream.s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # a port without the option: output is coalesced per burst anyway

    def start_tls(self, ctx, server_hostname):
        """Wrap the connected socket in TLS; the handshake runs on the next read or write.

        Called right after `<proceed/>` (or at once for direct TLS): the server sends
        nothing more in clear, so no buffered plaintext can be lost here.
        """
        sock = ctx.wrap_socket(
            self.stream.s, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        sock.setblocking(False)
        self.stream = StreamReader(sock)
        self.tls = True

    async def readinto(self, buf):
        """Read what is there into `buf`; 0 means the peer closed the connection.

        Under TLS the poller checks the TLS object (it has no file descriptor) in 1 ms
        steps, which adds up to a millisecond to an exchange on the unix port. Waiting on
        the TCP socket underneath instead halved the latency, but made the unix port's
        poller crash (SIGSEGV in modselect.c poll_obj_get_revents) in most runs with dozens
        of TLS clients in one process; it crashes there rarely without it too, so the
        fault is the port's. Until that is understood, the safe way is kept.
        """
        n = await self.stream.readinto(buf)
        return 0 if n is None else n

    async def write(self, data):
        self.stream.write(data)
        await self.stream.drain()

    def write_nowait(self, data):
        """Hand `data` to the socket now; what does not fit is copied by the stream."""
        self.stream.write(data)

    async def drain(self):
        await self.stream.drain()

    def close(self):
        s = self.stream
        self.stream = None
        if s is not None:
            try:
                s.s.close()
            except (OSError, AttributeError):
                pass  # already closed by the peer or by a failed handshake

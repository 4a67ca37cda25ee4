# Transport over plain TCP on loopback: what the socket does not take at once is kept and
# written on writability, in order, with anything queued while that is under way.
import asyncio
import os
import socket

from loopback import listener

from xmpp.transport import Transport

HEAPSIZE = "512k"


def _listener():
    return listener(rcvbuf=4096)


async def _connected():
    srv, port = _listener()
    t = Transport()
    await t.connect("127.0.0.1", port)
    peer, _ = srv.accept()
    srv.close()
    peer.setblocking(False)
    return t, peer


_CHUNK = 16384


def _chunk(k):
    return bytes((k % 251,)) * _CHUNK


async def _read_checked(peer, chunks, tail, seen):
    """Read until chunks * _CHUNK bytes and then `tail` arrived, checking every byte's place."""
    buf = bytearray(4096)
    total = chunks * _CHUNK
    got = 0
    rest = b""
    while got < total or len(rest) < len(tail):
        n = peer.readinto(buf)
        if not n:
            await asyncio.sleep_ms(1)
            continue
        data = bytes(buf[:n])
        if got < total:
            take = min(n, total - got)
            # Each chunk is one repeated byte: a piece must show the chunk's byte only.
            k0, k1 = got // _CHUNK, (got + take - 1) // _CHUNK
            for k in range(k0, k1 + 1):
                lo = max(got, k * _CHUNK) - got
                hi = min(got + take, (k + 1) * _CHUNK) - got
                assert data[lo:hi] == bytes((k % 251,)) * (hi - lo), "byte out of place"
            got += take
            data = data[take:]
        rest += data
    seen.append(got)
    seen.append(rest)


async def test_a_write_the_socket_cannot_take_at_once_arrives_whole_with_what_came_after():
    t, peer = await _connected()
    k = 0
    while not t._out:  # until the socket stops taking (nobody reads yet)
        t.write_nowait(_chunk(k))
        k += 1
        assert k < 1000, "the socket never filled up"
    for _ in range(2):  # queued behind what is waiting
        t.write_nowait(_chunk(k))
        k += 1
    seen = []
    reader = asyncio.create_task(_read_checked(peer, k, b"<end>", seen))
    drain = asyncio.create_task(t.drain())
    await asyncio.sleep_ms(2)
    t.write_nowait(b"<end>")  # while the drain is under way
    await asyncio.wait_for_ms(drain, 10_000)
    await asyncio.wait_for_ms(reader, 10_000)
    assert not t._out
    assert seen == [k * _CHUNK, b"<end>"]
    t.close()
    peer.close()


async def test_reads_return_what_arrived_and_zero_when_the_peer_closes():
    t, peer = await _connected()
    peer.write(b"<a/>")
    buf = bytearray(16)
    n = await asyncio.wait_for_ms(t.readinto(buf), 5000)
    assert bytes(buf[:n]) == b"<a/>"
    peer.close()
    assert await asyncio.wait_for_ms(t.readinto(buf), 5000) == 0
    t.close()


async def test_close_is_idempotent_and_drops_unsent_output():
    t, peer = await _connected()
    t.write_nowait(bytes(300_000))
    t.close()
    t.close()
    assert t.sock is None and not t._out
    peer.close()


def _open_fds():
    return len(list(os.ilistdir("/proc/self/fd")))


async def test_a_connect_that_times_out_leaves_no_socket_behind_once_closed():
    # A listener whose accept queue is full: Linux drops further SYNs, so a connect hangs, as
    # one to a server that is down or firewalled does. The client gives up (wait_for_ms) and
    # closes the transport; the socket must go with it, or each attempt leaks one (an ESP32
    # has 16 at most).
    srv, port = _listener()
    srv.listen(0)
    queued = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        except OSError:
            pass
        queued.append(s)
    before = _open_fds()
    for _ in range(4):
        t = Transport()
        try:
            await asyncio.wait_for_ms(t.connect("127.0.0.1", port), 50)
        except asyncio.TimeoutError:
            pass
        t.close()
    assert _open_fds() == before
    for s in queued:
        s.close()
    srv.close()


class _Slow:
    """A socket that takes the writes its script allows (0: none now), then everything."""

    def __init__(self, *takes):
        self.takes = list(takes)
        self.got = b""

    def write(self, data):
        n = min(self.takes.pop(0), len(data)) if self.takes else len(data)
        self.got += bytes(data[:n])
        return n


async def test_a_drain_cancelled_midway_sends_nothing_twice():
    # The client cancels its sender (waiting in drain) when a connection ends, then sends its
    # closing tag through the same transport: what had gone out must not go out again, or the
    # server reads the stream's last stanza repeated in part, not well-formed (RFC 6120 §4.4).
    t, peer = await _connected()  # its socket is what drain waits on: always writable here
    slow = _Slow(3, 3, 0, 0, 0, 0, 0, 0, 0, 0)
    t.sock = slow
    t.write_nowait(b"<message/>")  # 3 bytes taken, 7 kept
    sender = asyncio.create_task(t.drain())
    await asyncio.sleep_ms(5)  # 3 more written, then the socket takes nothing
    sender.cancel()  # then, before it has run again, as Client._end_stream does:
    t.write_nowait(b"</stream:stream>")
    slow.takes.clear()
    await asyncio.wait_for_ms(t.drain(), 5000)
    assert slow.got == b"<message/></stream:stream>", slow.got
    t.sock = t.fd
    t.close()
    peer.close()


async def test_a_drain_from_an_outbox_cancelled_midway_sends_nothing_twice():
    # Written straight from the outbox's buffer, what went out is dropped from it at once:
    # the rest, then the closing tag, follow it exactly once.
    from xmpp.outbox import Outbox

    t, peer = await _connected()
    slow = _Slow(3, 3, 0, 0, 0, 0, 0, 0, 0, 0)
    t.sock = slow
    o = Outbox(64)
    o.put_nowait(b"<message/>")
    sender = asyncio.create_task(t.drain(o))
    await asyncio.sleep_ms(5)  # 6 bytes written, then the socket takes nothing
    sender.cancel()
    assert bytes(o.w.pending()) == b"ge/>"  # what has not gone out, and only that
    slow.takes.clear()
    await asyncio.wait_for_ms(t.drain(o), 5000)
    t.write_nowait(b"</stream:stream>")
    assert slow.got == b"<message/></stream:stream>", slow.got
    assert not len(o)
    t.sock = t.fd
    t.close()
    peer.close()


class _TLSWrites:
    """Writes as MicroPython's TLS socket does (mbedTLS 3.6; checked on the unix port).

    mbedtls_ssl_write puts up to 4 KB of what it is given in a record; a record the TCP
    socket cannot take now stays pending (WANT_WRITE), and the next call sends it first and,
    trusting that it was given the same data again as the API requires, reports the length
    it is given now as written. MicroPython's write() calls it until all is taken or it
    would block, and then returns what was taken before (None for nothing).
    """

    def __init__(self, room, meanwhile):
        self.room = room  # bytes the TCP socket takes now
        self.meanwhile = meanwhile  # called once, after the first write that would block
        self.record = None
        self.got = b""

    def _ssl_write(self, data):
        size = min(len(data), 4096)
        if self.record is None:
            self.record = bytes(data[:size])
        if len(self.record) > self.room:
            return None
        self.room -= len(self.record)
        self.got += self.record
        self.record = None
        return size

    def write(self, data):
        done = 0
        while done < len(data):
            n = self._ssl_write(memoryview(data)[done:])
            if n is None:
                if self.meanwhile:
                    self.meanwhile()  # what another task does before the next write
                    self.meanwhile = None
                return done or None
            done += n
        return done


async def _queued_during_a_tls_write(room, first):
    """What arrives of `first` and a stanza queued while its write waits for the socket."""
    from xmpp.outbox import Outbox

    t, peer = await _connected()
    o = Outbox(8192)

    def meanwhile():
        o.put_nowait(b"<presence/>")  # while the rest of `first` waits in its record
        tls.room = 1 << 20

    tls = t.sock = _TLSWrites(room, meanwhile)
    o.put_nowait(first)
    await asyncio.wait_for_ms(t.drain(o), 5000)
    t.sock = t.fd
    t.close()
    peer.close()
    return tls.got


async def test_a_tls_write_that_would_block_is_repeated_with_the_same_length():
    # Stanzas queued meanwhile must not count as sent with it: they would be lost, and the
    # server would read the stream with a hole in it.
    got = await _queued_during_a_tls_write(0, b"<message/>")
    assert got == b"<message/><presence/>", got


async def test_after_a_tls_write_taken_in_part_the_rest_is_repeated_with_its_length():
    # Of 5000 bytes, one 4 KB record goes; the second, of the last 904 bytes, is pending
    # although the write returned: the next write must be of exactly those 904 bytes.
    first = b"<message>" + b"x" * 4981 + b"</message>"
    got = await _queued_during_a_tls_write(4096, first)
    assert got == first + b"<presence/>", (len(got), got[-40:])

# A server played by the test: the far end of one client connection on loopback, writing
# what the test scripts and keeping what the client sent.
import asyncio

HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.org' "
    b"version='1.0'><stream:features/>"
)
CLOSE = b"</stream:stream>"


class Server:
    """The server's end of one client connection, on loopback, non-blocking."""

    def __init__(self):
        from loopback import listener

        s, self.port = listener()
        s.setblocking(False)
        self.listener = s
        self.peer = None
        self.got = b""
        self.eof = False
        self._buf = bytearray(1024)

    async def accept(self, extra=b"", again=False, header=HEADER):
        """Take the client's connection, send `header` and `extra`; `again`: keep listening
        for its next one."""
        while True:
            try:
                self.peer = self.listener.accept()[0]
                break
            except OSError:
                await asyncio.sleep_ms(2)
        self.peer.setblocking(False)
        self.got = b""
        self.eof = False
        if not again:
            self.listener.close()
        self.peer.write(header + extra)  # extra: what follows in the same TCP segment

    def poll(self):
        """Take in what the client sent; True while the connection is open."""
        while not self.eof:
            try:
                n = self.peer.readinto(self._buf)
            except OSError:  # reset
                n = 0
            if n is None:
                break
            if not n:
                self.eof = True
                break
            self.got += bytes(self._buf[:n])
        return not self.eof

    async def wait_for(self, token, ms=3000):
        for _ in range(ms // 5):
            self.poll()
            if token in self.got:
                return
            await asyncio.sleep_ms(5)
        raise AssertionError("no %r from the client; got %r" % (token, self.got))

    async def wait_closed(self, ms=3000):
        for _ in range(ms // 5):
            if not self.poll():
                return
            await asyncio.sleep_ms(5)
        raise AssertionError("the client kept the connection open")

    def close(self):
        self.peer.close()


class Lines:
    """A log's output, kept as one text."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

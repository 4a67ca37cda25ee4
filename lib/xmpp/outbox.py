"""The bounded output queue: stanzas are serialized straight into one preallocated buffer.

Everything queued between two wake-ups of the sender goes out in one socket write, so an
`accepted` iq and the `fields` message that follows it leave in one TCP segment. When the
buffer is full a sender waits (`Client.send_wait`), or the caller is told at once
(`put_nowait` returns False); a stanza larger than the whole buffer can never be sent and
raises `TooLarge`.
"""

import asyncio

from xmlstream.writer import Writer, WriterFull


class TooLarge(ValueError):
    pass


class Outbox:
    def __init__(self, size=4096):
        self.size = size
        self.w = Writer(size)
        self.ready = asyncio.Event()  # something to send
        self.space = asyncio.Event()  # bytes left the buffer
        self.dropped = 0

    def __len__(self):
        return len(self.w)

    def put_nowait(self, el):
        """Queue an element (anything with `write(w, parent_ns)`) or raw bytes/str, whole.

        False when it does not fit now; the stanzas queued before it are kept.
        """
        w = self.w
        try:
            if isinstance(el, (bytes, bytearray, memoryview, str)):
                w.write(el)
            else:
                w.element(el)
        except WriterFull as e:
            if e.args[0] > self.size:
                raise TooLarge("larger than the output buffer (%d)" % self.size)
            return False
        self.ready.set()
        return True

    async def put(self, el):
        while not self.put_nowait(el):
            self.space.clear()
            await self.space.wait()

    def sent(self, k):
        """Drop the first k queued bytes: they went to the socket."""
        self.w.consume(k)
        self.space.set()

    def clear(self):
        """Forget everything queued (the connection it was meant for is gone)."""
        self.w.clear()
        self.ready.clear()
        self.space.set()

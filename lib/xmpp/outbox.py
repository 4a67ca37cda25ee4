"""The bounded output queue: stanzas are serialized straight into one preallocated buffer.

Everything queued between two wake-ups of the sender goes out in one socket write, so an
`accepted` iq and the `fields` message that follows it leave in one TCP segment. When the
buffer is full a sender waits (`put`), or the caller is told at once (`put_nowait` returns
False); a stanza larger than the whole buffer can never be sent and raises `TooLarge`.
"""

import asyncio


class TooLarge(ValueError):
    pass


class _Full(Exception):
    pass


class Outbox:
    def __init__(self, size=4096):
        self.buf = bytearray(size)
        self.mv = memoryview(self.buf)
        self.end = 0
        self.ready = asyncio.Event()  # something to send
        self.space = asyncio.Event()  # the sender emptied the buffer
        self.dropped = 0

    def write(self, piece):
        """Serializer sink: append one piece (str or bytes)."""
        if isinstance(piece, str):
            piece = piece.encode()
        n = len(piece)
        end = self.end
        if end + n > len(self.buf):
            raise _Full
        self.mv[end : end + n] = piece
        self.end = end + n

    def put_nowait(self, el):
        """Queue an element (anything with `write(w)`) or bytes; False when it does not fit."""
        mark = self.end
        try:
            if isinstance(el, (bytes, bytearray, memoryview, str)):
                self.write(el)
            else:
                el.write(self)
        except _Full:
            self.end = mark  # drop the partial stanza, keep the ones before it
            if mark == 0:
                raise TooLarge("stanza larger than the output buffer (%d)" % len(self.buf))
            return False
        self.ready.set()
        return True

    async def put(self, el):
        while not self.put_nowait(el):
            self.space.clear()
            await self.space.wait()

    def take(self):
        """The queued bytes as a view, and mark the buffer empty.

        The view stays valid only until the next `write`: the transport must consume or copy
        it before yielding to the event loop (asyncio's stream copies what the socket did not
        take at once).
        """
        n = self.end
        self.end = 0
        self.ready.clear()
        self.space.set()
        return self.mv[:n]

    def clear(self):
        """Forget everything queued (the connection it was meant for is gone)."""
        self.end = 0
        self.ready.clear()
        self.space.set()

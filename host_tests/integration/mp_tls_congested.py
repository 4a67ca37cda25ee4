# MicroPython: the client's Transport drains an Outbox over verified TLS (the port's mbedTLS)
# to a server that reads slowly, while more stanzas are queued than the socket takes.
# Usage: micropython mp_tls_congested.py PORT CA.der STANZAS
# Prints SENT <bytes> <sha256 hex of them>, then OK once the outbox is empty.
import sys

_root = __file__.rpartition("/")[0].rpartition("/")[0].rpartition("/")[0] or "."
sys.path[:0] = [_root + "/lib"]

import asyncio  # noqa: E402
import binascii  # noqa: E402
import hashlib  # noqa: E402
import socket  # noqa: E402

from xmpp.outbox import Outbox  # noqa: E402
from xmpp.transport import Transport, tls_context  # noqa: E402

_SO_SNDBUF = 7  # Linux; unnamed in the port: a small send buffer is congested at once


async def main(port, ca_path, count):
    with open(ca_path, "rb") as f:
        ctx = tls_context(f.read())
    t = Transport()
    await t.connect("127.0.0.1", port)
    t.fd.setsockopt(socket.SOL_SOCKET, _SO_SNDBUF, 2048)
    t.start_tls(ctx, "localhost")
    # As the client does, the stream header is written first: it starts the handshake.
    head = b"<stream:stream>"
    await t.write(head)
    out = Outbox(8192)
    digest = hashlib.sha256(head)
    total = len(head)

    async def sender():
        while True:
            await out.ready.wait()
            out.ready.clear()
            await t.drain(out)

    task = asyncio.create_task(sender())
    for i in range(count):
        # Queued while a drain waits on a full socket: the outbox grows under a write
        # that mbedTLS holds a record of.
        m = b"<message id='%04d'><body>%s</body></message>" % (i, b"x" * (150 + i % 97))
        while not out.put_nowait(m):
            await asyncio.sleep_ms(1)
        digest.update(m)
        total += len(m)
        await asyncio.sleep_ms(0)
    while len(out):
        await asyncio.sleep_ms(5)
    task.cancel()
    print("SENT %d %s" % (total, binascii.hexlify(digest.digest()).decode()))
    await asyncio.sleep_ms(200)  # the last records leave before the socket closes
    t.close()
    print("OK")


asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))

"""A listening TCP socket on a free loopback port, for tests that play the server's end."""

import random
import socket


def listener(rcvbuf=None):
    """(socket, port): bound on 127.0.0.1, listening, blocking; rcvbuf sets SO_RCVBUF (a
    small window, inherited by the accepted socket, fills the path quickly)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, 8, rcvbuf)  # SO_RCVBUF on Linux: unnamed in the port
    for _ in range(50):
        port = 20000 + random.getrandbits(14)
        try:
            s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        except OSError:
            continue
        s.listen(1)
        return s, port
    s.close()
    raise OSError("no free port")

"""Under TLS, a congested socket loses nothing from the middle of the stream.

When mbedTLS cannot send a record at once it keeps it, and the next write must give the
same bytes again: it then reports all it is given as written, though only the kept record
goes. A transport that gives it more (the outbox grew during the wait) drops the excess.
Here the port's real mbedTLS writes to a real OpenSSL server that reads slowly.
"""

import hashlib
import os
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

from hostboard import ROOT
from localxmpp import CertificateAuthority

SCRIPT = Path(__file__).with_name("mp_tls_congested.py")


def _slow_reader(listener, context, got, done):
    conn, _ = listener.accept()
    with context.wrap_socket(conn, server_side=True) as tls:
        tls.settimeout(30)
        while True:
            data = tls.recv(512)
            if not data:
                break
            got.extend(data)
            time.sleep(0.002)  # slower than the client queues: its socket fills
    done.set()


def test_stanzas_queued_while_the_tls_socket_is_congested_all_arrive_in_order(tmp_path):
    ca = CertificateAuthority.shared()
    cert = ca.server_cert("localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert_path, cert.key_path)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # inherited on accept
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    got, done = bytearray(), threading.Event()
    reader = threading.Thread(target=_slow_reader, args=(listener, context, got, done))
    reader.start()
    try:
        proc = subprocess.run(
            [str(ROOT / ".venv/bin/micropython"), "-X", "heapsize=256k", str(SCRIPT),
             str(listener.getsockname()[1]), str(ca.der_path), "400"],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, MICROPYPATH=".frozen"),
        )  # fmt: skip
        assert done.wait(30), "the server never saw the connection end"
    finally:
        listener.close()
        reader.join(5)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("OK"), out
    _, size, digest = next(ln for ln in proc.stdout.splitlines() if ln.startswith("SENT")).split()
    assert len(got) == int(size), "sent %s bytes, the server read %d" % (size, len(got))
    assert hashlib.sha256(got).hexdigest() == digest, "the bytes arrived changed"

"""Capture a real Prosody c2s stream into host_tests/unit/xml_corpus/ (CPython, needs prosody).

    .venv/bin/python tools/capture_corpus.py

Runs Prosody from a private temporary config (plaintext c2s, PLAIN allowed, loopback, free
port), registers two accounts, and drives two raw sockets through SASL PLAIN, bind, roster,
disco#info, presence with XEP-0115 caps and a message exchange with entities and non-ASCII
text. Exactly the bytes each client received are saved, one file per stream (the stream
restarts after SASL): prosody_<user>_<n>.xml.
"""

import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "host_tests" / "unit" / "xml_corpus"
HOST = "localhost"
HEADER = (
    "<?xml version='1.0'?><stream:stream to='%s' version='1.0' xml:lang='en' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" % HOST
)
CONFIG = """
run_as_root = true
daemonize = false
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ debug = "{d}/prosody.log" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
network_settings = {{ nagle = false }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
modules_disabled = {{ "s2s" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "presence"; "ping"; "version" }}
plugin_paths = {{ }}
VirtualHost "{host}"
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    def __init__(self, port, user, password):
        self.user = user
        self.password = password
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.streams = [bytearray()]

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, marker, timeout=5.0):
        """Receive until marker appears in the current stream's bytes."""
        deadline = time.monotonic() + timeout
        buf = self.streams[-1]
        start = len(buf)
        while marker.encode() not in buf[start:]:
            if time.monotonic() > deadline:
                raise TimeoutError("%s: no %r in %r" % (self.user, marker, bytes(buf[start:])))
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("closed")
            buf += data

    def drain(self, quiet=0.3):
        """Receive whatever else arrives within `quiet` seconds."""
        self.sock.settimeout(quiet)
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return
                self.streams[-1] += data
        except TimeoutError:
            pass

    def login(self):
        self.send(HEADER)
        self.read_until("</stream:features>")
        token = base64.b64encode(("\0%s\0%s" % (self.user, self.password)).encode()).decode()
        self.send(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % token
        )
        self.read_until("<success")
        self.drain(0.1)
        self.streams.append(bytearray())  # stream restart
        self.send(HEADER)
        self.read_until("</stream:features>")
        self.send(
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            "<resource>sensor</resource></bind></iq>"
        )
        self.read_until("</iq>")
        self.send("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>")
        self.read_until("roster1")
        self.send(
            "<iq type='get' id='disco1' to='%s'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>" % HOST
        )
        self.read_until("</iq>")
        self.send(
            "<presence><priority>5</priority><status>Tempér&amp;ature &lt;ok&gt; ☺</status>"
            "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
            "node='https://example.org/thing' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>"
        )
        self.drain(0.3)

    def close(self):
        self.send("</stream:stream>")
        try:
            self.read_until("</stream:stream>", timeout=2)
        except (TimeoutError, ConnectionError):
            pass
        self.sock.close()


def main():
    if not shutil.which("prosody"):
        print("prosody is not installed")
        return 1
    d = tempfile.mkdtemp(prefix="xmlcorpus-")
    port = free_port()
    cfg = os.path.join(d, "prosody.cfg.lua")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(d=d, port=port, host=HOST))
    os.makedirs(os.path.join(d, "data"))
    for user in ("alice", "bob"):
        subprocess.run(
            ["prosodyctl", "--config", cfg, "register", user, HOST, "secret-" + user],
            check=True,
            capture_output=True,
        )
    proc = subprocess.Popen(
        ["prosody", "-F", "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        alice = Client(port, "alice", "secret-alice")
        bob = Client(port, "bob", "secret-bob")
        alice.login()
        bob.login()
        # Mutual subscription: roster pushes, subscription requests and presence broadcasts.
        for a, b in ((alice, bob), (bob, alice)):
            a.send("<presence to='%s@%s' type='subscribe'/>" % (b.user, HOST))
            b.read_until("type='subscribe'")
            b.send("<presence to='%s@%s' type='subscribed'/>" % (a.user, HOST))
            a.read_until("type='subscribed'")
        alice.drain(0.3)
        bob.drain(0.3)
        texts = [
            "Salut Bob & co — <b>not markup</b>, \"quoted\" & 'apostrophes' ☺",
            "Grüße aus Köln: 23,5 °C; ключ → значение; 温度; emoji 🌡️",
            "]]> and &amp; literally, CDATA-looking <![CDATA[x]]>",
        ]
        for n, text in enumerate(texts):
            esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            alice.send(
                "<message to='bob@%s/sensor' type='chat' id='m%d'><body>%s</body>"
                "<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
                % (HOST, n, esc)
            )
            bob.read_until("id='m%d'" % n)
        bob.send(
            '<message to="alice@%s/sensor" type="chat" id="r1"><body>Reçu 3 messages '
            "&#x263A; &#169; &#10;newline &#9;tab</body></message>" % HOST
        )
        alice.read_until("r1")
        bob.send(
            "<iq type='get' id='ping1' to='alice@%s/sensor'><ping xmlns='urn:xmpp:ping'/></iq>"
            % HOST
        )
        alice.read_until("ping1")
        alice.send("<iq type='result' id='ping1' to='bob@%s/sensor'/>" % HOST)
        bob.read_until("ping1")
        alice.drain(0.3)
        bob.drain(0.3)
        alice.close()
        bob.close()
        OUT.mkdir(parents=True, exist_ok=True)
        for c in (alice, bob):
            for n, data in enumerate(c.streams, 1):
                path = OUT / ("prosody_%s_%d.xml" % (c.user, n))
                path.write_bytes(bytes(data))
                print("%s: %d bytes" % (path.relative_to(ROOT), len(data)))
    finally:
        proc.terminate()
        proc.wait(5)
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

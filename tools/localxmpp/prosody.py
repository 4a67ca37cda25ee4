"""A private Prosody 0.12 on loopback: its own config, data, log, port and certificate."""

import hashlib
import hmac
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from .certs import CertificateAuthority
from .processes import ServerProcess, free_port
from .server import LocalServer, ServerError

_SIMPLE_USER = re.compile(r"[a-z0-9._-]+")
_MODULES = ("roster", "saslauth", "tls", "disco", "ping", "version", "posix")
# Autoloaded or common modules that would listen on more ports or look at the network.
_DISABLED = ("s2s", "dialback", "http", "bosh", "websocket", "admin_socket", "offline")


def _lua(value):
    """A Lua literal for a Python str, bool, int or sequence."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return "{ %s }" % ", ".join(_lua(v) for v in value)


def _encode(name):
    """Prosody's datamanager file-name encoding: every non-alphanumeric byte as %xx."""
    return "".join(c if c.isascii() and c.isalnum() else "%%%02x" % ord(c) for c in name)


class Prosody(LocalServer):
    """Prosody on 127.0.0.1 with the shared test CA's certificate for `domain`.

    password_hash: "SHA-1" (SCRAM-SHA-1) or "SHA-256" (SCRAM-SHA-256 only).
    require_encryption: False lets clients log in without STARTTLS; PLAIN is still not
    offered in the clear unless allow_plain_without_tls is also set.
    direct_tls: also listen for XEP-0368 Direct TLS on `direct_tls_port`.
    """

    NAME = "Prosody"

    def __init__(
        self,
        domain="localhost",
        *,
        ca=None,
        password_hash="SHA-1",
        require_encryption=True,
        allow_plain_without_tls=False,
        direct_tls=False,
        stanza_size_limit=None,
        unauthed_stanza_size_limit=None,
        scram_iterations=None,
        log_level="info",
        extra_config="",
    ):
        self.domain = domain
        self.ca = ca or CertificateAuthority.shared()
        self.cert = self.ca.server_cert(domain)
        self.password_hash = password_hash
        self.require_encryption = require_encryption
        self.allow_plain_without_tls = allow_plain_without_tls
        self.stanza_size_limit = stanza_size_limit
        self.unauthed_stanza_size_limit = unauthed_stanza_size_limit
        self.scram_iterations = scram_iterations
        self.log_level = log_level
        self.extra_config = extra_config
        self.dir = Path(tempfile.mkdtemp(prefix="localxmpp-prosody-"))
        self.config_path = self.dir / "prosody.cfg.lua"
        self.log_path = self.dir / "prosody.log"
        self.port = free_port()
        self.direct_tls_port = free_port() if direct_tls else None
        self.process = None
        self.accounts = {}  # user -> password, for every account register() made
        self._write_config()

    def _write_config(self):
        d = self.dir
        (d / "data").mkdir(exist_ok=True)
        lines = [
            "-- Written by tools/localxmpp; one private instance for tests.",
            "run_as_root = true",
            "daemonize = false",
            "pidfile = " + _lua(str(d / "prosody.pid")),
            "data_path = " + _lua(str(d / "data")),
            "certificates = " + _lua(str(d)),
            'log = { { levels = { min = %s }, to = "file", filename = %s } }'
            % (_lua(self.log_level), _lua(str(self.log_path))),
            'interfaces = { "127.0.0.1" }',
            'c2s_interfaces = { "127.0.0.1" }',
            "c2s_ports = { %d }" % self.port,
            "network_settings = { nagle = false }",
            "modules_enabled = " + _lua(_MODULES),
            "modules_disabled = " + _lua(_DISABLED),
            'authentication = "internal_hashed"',
            'storage = "internal"',
            "password_hash = " + _lua(self.password_hash),
            "c2s_require_encryption = " + _lua(self.require_encryption),
            "allow_unencrypted_plain_auth = " + _lua(self.allow_plain_without_tls),
            "ssl = { certificate = %s, key = %s }"
            % (_lua(str(self.cert.cert_path)), _lua(str(self.cert.key_path))),
        ]
        if self.direct_tls_port:
            lines += [
                "c2s_direct_tls_ports = { %d }" % self.direct_tls_port,
                'c2s_direct_tls_interfaces = { "127.0.0.1" }',
            ]
        if self.stanza_size_limit:
            lines.append("c2s_stanza_size_limit = %d" % self.stanza_size_limit)
        if self.unauthed_stanza_size_limit:
            lines.append("c2s_unauthed_stanza_size_limit = %d" % self.unauthed_stanza_size_limit)
        if self.scram_iterations:
            lines.append("default_iteration_count = %d" % self.scram_iterations)
        lines += [self.extra_config, "VirtualHost " + _lua(self.domain), ""]
        self.config_path.write_text("\n".join(lines))

    def _spawn(self):
        return ServerProcess(
            ["prosody", "-F", "--config", str(self.config_path)], self.dir / "stdout.log"
        )

    def prosodyctl(self, *args):
        proc = subprocess.run(
            ["prosodyctl", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if proc.returncode != 0:
            raise ServerError("prosodyctl %s failed: %s%s" % (args[0], proc.stdout, proc.stderr))
        return proc.stdout

    def register(self, user, password):
        """Create (or reset) an account; works whether or not the server runs."""
        self.prosodyctl("register", user, self.domain, password)
        self.accounts[user] = password
        return self.jid(user)

    def register_all(self, accounts):
        """Register every {user: password}, writing simple ASCII accounts straight to storage.

        prosodyctl costs ~60 ms per account; the file it would write is easy to make.
        """
        for user, password in accounts.items():
            if _SIMPLE_USER.fullmatch(user) and password.isascii() and password.isprintable():
                self._write_account(user, password)
            else:
                self.register(user, password)

    def _write_account(self, user, password):
        # What mod_auth_internal_hashed's set_password stores (RFC 5802 keys, hex).
        name = self.password_hash.replace("-", "").lower()
        salt = str(uuid.uuid4())
        iterations = self.scram_iterations or 10000
        salted = hashlib.pbkdf2_hmac(name, password.encode(), salt.encode(), iterations)
        stored_key = hashlib.new(name, hmac.digest(salted, b"Client Key", name)).hexdigest()
        server_key = hmac.digest(salted, b"Server Key", name).hex()
        folder = self.dir / "data" / _encode(self.domain) / "accounts"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / (_encode(user) + ".dat")).write_text(
            "return {\n"
            '\t["iteration_count"] = %d;\n\t["salt"] = "%s";\n'
            '\t["stored_key"] = "%s";\n\t["server_key"] = "%s";\n};\n'
            % (iterations, salt, stored_key, server_key)
        )
        self.accounts[user] = password

    def unregister(self, user):
        self.prosodyctl("deluser", self.jid(user))

    def log_tail(self, lines=40):
        """The last `lines` lines of Prosody's log and stdout, for failure messages."""
        text = ""
        for path in (self.log_path, self.dir / "stdout.log"):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self):
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

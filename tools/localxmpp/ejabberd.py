"""A private ejabberd 23.01 on loopback, run as the `ejabberd` user from its own directory.

The Erlang node gets a fixed distribution port (ERL_DIST_PORT) so neither the server nor
`ejabberdctl` commands start or use `epmd`: nothing is left behind and instances never meet.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .certs import CertificateAuthority
from .processes import ServerProcess, free_port
from .server import LocalServer, ServerError

_USER = "ejabberd"

_CONFIG = """\
# Written by tools/localxmpp; one private instance for tests.
loglevel: {log_level}
log_rotate_count: 0
hosts:
  - "{domain}"
certfiles:
  - "{certfile}"
ca_file: "{cafile}"
listen:
  -
    port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: {max_stanza_size}
    access: c2s
    starttls: true
    starttls_required: {starttls_required}
{direct_tls}
auth_method: internal
auth_password_format: scram
auth_scram_hash: {scram_hash}
disable_sasl_mechanisms:
  - "digest-md5"
  - "X-OAUTH2"
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_version: {{}}
"""

_DIRECT_TLS = """\
  -
    port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: {max_stanza_size}
    access: c2s
    tls: true
"""

# Sourced by ejabberdctl (a shell script). inet_dist_use_interface is passed directly: the
# script's INET_DIST_INTERFACE would cost one extra Erlang VM start per ejabberdctl call.
_CTL_CONFIG = """\
ERLANG_NODE={node}
ERL_EPMD_ADDRESS=127.0.0.1
ERL_DIST_PORT={dist_port}
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -kernel inet_dist_use_interface {{127,0,0,1}}"
EJABBERD_PID_PATH={dir}/ejabberd.pid
CONTRIB_MODULES_PATH={dir}/contrib
CONTRIB_MODULES_CONF_DIR={dir}/contrib
"""


class Ejabberd(LocalServer):
    """ejabberd on 127.0.0.1 with the shared test CA's certificate for `domain`.

    scram_hash: "sha" (SCRAM-SHA-1, the default) or "sha256".
    Same surface as Prosody: start/stop/restart/freeze/thaw/register/port/domain/ca paths.
    """

    NAME = "ejabberd"
    START_TIMEOUT = 30.0  # an Erlang VM boots
    STOP_TIMEOUT = 10.0  # the VM shuts down cleanly on SIGTERM

    def __init__(
        self,
        domain="localhost",
        *,
        ca=None,
        scram_hash="sha",
        require_encryption=True,
        direct_tls=False,
        stanza_size_limit=262144,
        log_level="info",
    ):
        self.domain = domain
        self.ca = ca or CertificateAuthority.shared()
        self.cert = self.ca.server_cert(domain)
        self.port = free_port()
        self.direct_tls_port = free_port() if direct_tls else None
        self.dist_port = free_port()
        self.node = "localxmpp-%s@localhost" % uuid.uuid4().hex[:12]
        # mkdtemp makes a 0700 dir owned by root; the ejabberd user must own it.
        self.dir = Path(tempfile.mkdtemp(prefix="localxmpp-ejabberd-"))
        self.config_path = self.dir / "ejabberd.yml"
        self.ctl_config_path = self.dir / "ejabberdctl.cfg"
        self.log_path = self.dir / "logs" / "ejabberd.log"
        self.process = None
        self.accounts = {}  # user -> password, for every account register() made
        user = pwd.getpwnam(_USER)
        self._uid, self._gid = user.pw_uid, user.pw_gid
        self._write_config(scram_hash, require_encryption, stanza_size_limit, log_level)

    def _write_config(self, scram_hash, require_encryption, stanza_size_limit, log_level):
        d = self.dir
        for sub in ("logs", "spool", "contrib"):
            (d / sub).mkdir()
        shutil.copy(self.cert.chain_path, d / "server.pem")
        shutil.copy(self.ca.pem_path, d / "ca.pem")
        shutil.copy("/etc/ejabberd/inetrc", d / "inetrc")
        direct = ""
        if self.direct_tls_port:
            direct = _DIRECT_TLS.format(
                port=self.direct_tls_port, max_stanza_size=stanza_size_limit
            )
        self.config_path.write_text(
            _CONFIG.format(
                log_level=log_level,
                domain=self.domain,
                certfile=d / "server.pem",
                cafile=d / "ca.pem",
                port=self.port,
                max_stanza_size=stanza_size_limit,
                starttls_required="true" if require_encryption else "false",
                direct_tls=direct,
                scram_hash=scram_hash,
            )
        )
        self.ctl_config_path.write_text(
            _CTL_CONFIG.format(node=self.node, dist_port=self.dist_port, dir=d)
        )
        for root, dirs, files in os.walk(d):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, self._uid, self._gid)
        (d / "server.pem").chmod(0o600)

    def _ctl_argv(self, *args):
        d = str(self.dir)
        return [
            "ejabberdctl", "--config-dir", d, "--config", str(self.config_path),
            "--ctl-config", str(self.ctl_config_path), "--logs", d + "/logs",
            "--spool", d + "/spool", "--node", self.node, *args,
        ]  # fmt: skip

    def _env(self):
        # HOME holds the Erlang cookie that the server and ejabberdctl commands share.
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        return {"HOME": str(self.dir), "PATH": path, "LANG": "C.UTF-8"}

    def _spawn(self):
        return ServerProcess(
            self._ctl_argv("foreground"),
            self.dir / "logs" / "stdout.log",
            env=self._env(),
            cwd=self.dir,
            user=self._uid,
            group=self._gid,
        )

    def ejabberdctl(self, *args, timeout=60):
        """Run an ejabberdctl command against this (running) node."""
        proc = subprocess.run(
            self._ctl_argv(*args),
            capture_output=True,
            text=True,
            env=self._env(),
            cwd=self.dir,
            user=self._uid,
            group=self._gid,
            extra_groups=[],
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise ServerError(
                "ejabberdctl %s failed (%d): %s%s"
                % (args[0], proc.returncode, proc.stdout, proc.stderr)
            )
        return proc.stdout

    def register(self, user, password):
        """Create an account; the server must be running."""
        self.ejabberdctl("register", user, self.domain, password)
        self.accounts[user] = password
        return self.jid(user)

    def register_all(self, accounts):
        """Register {user: password} concurrently: each ejabberdctl call starts an Erlang VM."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda item: self.register(*item), accounts.items()))

    def log_tail(self, lines=40):
        """The last lines of the console output (the log file's lines plus crash reports)."""
        path = self.dir / "logs" / "stdout.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self):
        """Kill the server at once (its data goes too, so a clean shutdown buys nothing)."""
        if self.process is not None:
            self.process.stop(timeout=0)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

"""Throwaway certificate authorities made with the openssl command line.

EC P-256 keys keep generation to a few milliseconds per call. One CA per process is plenty:
`CertificateAuthority.shared()` returns it, `CertificateAuthority.other()` a second, unrelated
one for "wrong CA" tests. Server certificates are cached per domain. `shared("rsa")` is an
RSA-2048 CA with RSA server keys, for comparing handshake costs (mbedTLS verifies RSA
signatures far faster than ECDSA ones).
"""

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

_CURVE = "ec_paramgen_curve:prime256v1"
_NEWKEY = {"ec": ("-newkey", "ec", "-pkeyopt", _CURVE), "rsa": ("-newkey", "rsa:2048")}
_DAYS = "3650"
_instances = {}


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], proc.stderr.strip()))


class ServerCert:
    """A server key and certificate for one XMPP domain, as PEM files."""

    def __init__(self, domain, cert_path, key_path, chain_path):
        self.domain = domain
        self.cert_path = cert_path
        self.key_path = key_path
        # key + certificate in one file, the form ejabberd's `certfiles` likes.
        self.chain_path = chain_path


class CertificateAuthority:
    """A self-signed EC CA in its own temp dir; signs server certificates on demand."""

    def __init__(self, name="localxmpp test CA", key="ec"):
        self.name = name
        self.newkey = _NEWKEY[key]
        self.dir = Path(tempfile.mkdtemp(prefix="localxmpp-ca-"))
        self.dir.chmod(0o755)  # servers running as another user read certificates from here
        atexit.register(shutil.rmtree, self.dir, True)
        self.key_path = self.dir / "ca.key"
        self.pem_path = self.dir / "ca.pem"
        self.der_path = self.dir / "ca.der"
        self._servers = {}
        _openssl(
            "req", "-x509", "-new", *self.newkey, "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", _DAYS, "-subj", "/CN=" + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=self.dir,
        )  # fmt: skip
        _openssl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der", cwd=self.dir)

    @classmethod
    def shared(cls, key="ec"):
        """The process-wide CA that signs every test server's certificate (of `key` type)."""
        name = "shared" if key == "ec" else "shared-" + key
        if name not in _instances:
            _instances[name] = cls("localxmpp test CA (%s)" % key, key) if key != "ec" else cls()
        return _instances[name]

    @classmethod
    def other(cls):
        """A second CA that has signed nothing the servers use."""
        if "other" not in _instances:
            _instances["other"] = cls("localxmpp unrelated CA")
        return _instances["other"]

    @property
    def pem(self):
        return self.pem_path.read_text()

    @property
    def der(self):
        return self.der_path.read_bytes()

    def server_cert(self, domain="localhost"):
        """Key and certificate for `domain` (DNS SAN), made once per CA and domain."""
        if domain in self._servers:
            return self._servers[domain]
        stem = "server-" + domain
        key, csr, crt = stem + ".key", stem + ".csr", stem + ".pem"
        ext = stem + ".ext"
        (self.dir / ext).write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,%s\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            "subjectAltName=DNS:%s\n"
            % ("keyAgreement" if self.newkey[1] == "ec" else "keyEncipherment", domain)
        )
        _openssl(
            "req", "-new", *self.newkey, "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + domain, cwd=self.dir,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", _DAYS, "-extfile", ext, "-out", crt, cwd=self.dir,
        )  # fmt: skip
        chain = self.dir / (stem + ".chain.pem")
        chain.write_text((self.dir / key).read_text() + (self.dir / crt).read_text())
        for name in (key, chain.name):
            (self.dir / name).chmod(0o644)  # throwaway keys; the ejabberd user must read them
        cert = ServerCert(domain, self.dir / crt, self.dir / key, chain)
        self._servers[domain] = cert
        return cert

"""Local XMPP servers for tests, demos and benchmarks: Prosody and ejabberd on loopback.

from localxmpp import Prosody
with Prosody(password_hash="SHA-256") as server:
    server.register("sensor", "secret")   # then connect to 127.0.0.1:server.port
"""

from .certs import CertificateAuthority, ServerCert
from .processes import free_port, pid_alive, port_accepts, wait_for_port
from .prosody import Prosody
from .server import ServerError

__all__ = [
    "CertificateAuthority",
    "Ejabberd",
    "Prosody",
    "ServerCert",
    "ServerError",
    "free_port",
    "pid_alive",
    "port_accepts",
    "wait_for_port",
]


def __getattr__(name):
    # ejabberd is rarely needed; import it only when asked for.
    if name == "Ejabberd":
        from .ejabberd import Ejabberd

        return Ejabberd
    raise AttributeError(name)

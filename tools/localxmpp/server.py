"""What a private XMPP server for tests is, whichever server it runs: the shared surface of
Prosody and Ejabberd (start/stop/restart/freeze/thaw, ports, CA paths, context manager).

A subclass sets NAME and its timeouts, spawns its process in _spawn() and says where its
log is in log_tail().
"""

import signal

from .processes import wait_for_port, wait_port_closed


class ServerError(RuntimeError):
    """A server failed to start, stop or run a command; the message carries its log tail."""


class LocalServer:
    NAME = "server"
    START_TIMEOUT = 30.0  # a bound against a hang: a loaded host starts a server slowly
    STOP_TIMEOUT = 5.0

    process = None
    direct_tls_port = None

    @property
    def ca_pem_path(self):
        return self.ca.pem_path

    @property
    def ca_der_path(self):
        return self.ca.der_path

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def running(self):
        return self.process is not None and self.process.alive()

    def jid(self, user):
        return "%s@%s" % (user, self.domain)

    def _spawn(self):
        """A started ServerProcess."""
        raise NotImplementedError

    def log_tail(self, lines=40):
        raise NotImplementedError

    def start(self, timeout=None):
        """Start the server and return once its client ports accept connections."""
        if self.running:
            return self
        self.process = self._spawn()
        ports = [self.port] + ([self.direct_tls_port] if self.direct_tls_port else [])
        for port in ports:
            if not wait_for_port(port, timeout=timeout or self.START_TIMEOUT,
                                 alive=self.process.alive):  # fmt: skip
                tail = self.log_tail()
                self.stop()
                raise ServerError("%s did not open port %d:\n%s" % (self.NAME, port, tail))
        return self

    def stop(self, timeout=None):
        """SIGTERM the process group, SIGKILL if it hangs; returns when the port is closed."""
        if self.process is not None:
            timeout = timeout or self.STOP_TIMEOUT
            self.process.stop(timeout)
            self.process = None
            wait_port_closed(self.port, timeout=timeout)

    def restart(self, timeout=None):
        """Stop and start again on the same ports with the same accounts."""
        self.stop()
        return self.start(timeout)

    def freeze(self):
        """SIGSTOP: connections stay open but nothing is read or answered."""
        self.process.signal(signal.SIGSTOP)

    def thaw(self):
        self.process.signal(signal.SIGCONT)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

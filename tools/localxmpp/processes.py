"""Free ports, port waits and child servers that never outlive the test process.

Every server is started in its own session (process group) and remembered here; an atexit
hook stops whatever is still running. A tiny `sh` watchdog per server also holds a pipe from
us: if this process dies without running atexit (SIGKILL, a crash), the pipe closes and the
watchdog kills the server's whole process group.
"""

import atexit
import os
import signal
import socket
import subprocess
import time

_running = {}  # pid -> ServerProcess


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago (the kernel picks it, so workers don't collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_accepts(port, host="127.0.0.1"):
    """True if a TCP connection to (host, port) succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port, host="127.0.0.1", timeout=10.0, alive=None):
    """Wait until (host, port) accepts; `alive()` returning False aborts the wait early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_accepts(port, host):
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.02)
    return False


def wait_port_closed(port, host="127.0.0.1", timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_accepts(port, host):
            return True
        time.sleep(0.02)
    return False


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def group_pids(pgid):
    """Live PIDs whose process group is `pgid`."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(name))
    return pids


class ServerProcess:
    """One started server: its Popen, its process group and its watchdog."""

    def __init__(self, argv, log_path, env=None, cwd=None, user=None, group=None):
        self.log_file = open(log_path, "ab")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        self.pgid = self.pid
        # `read` returns at EOF, i.e. when we are gone; stop() kills the watchdog first.
        self.watchdog = subprocess.Popen(
            ["sh", "-c", "read _ || kill -9 -$0", str(self.pgid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _running[self.pid] = self

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        """Send `sig` to the whole process group (ejabberd's VM is a grandchild)."""
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=5.0):
        """SIGTERM the group, SIGKILL what is left after `timeout`; reap; drop the watchdog."""
        if self.alive() or group_pids(self.pgid):
            self.signal(signal.SIGCONT)  # a frozen server can't act on SIGTERM
            self.signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (self.alive() or group_pids(self.pgid)):
                time.sleep(0.02)
            if self.alive() or group_pids(self.pgid):
                self.signal(signal.SIGKILL)
        self.popen.wait()
        deadline = time.monotonic() + timeout
        while group_pids(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._drop_watchdog()
        self.log_file.close()
        _running.pop(self.pid, None)

    def _drop_watchdog(self):
        if self.watchdog.poll() is None:
            self.watchdog.kill()
        self.watchdog.wait()
        self.watchdog.stdin.close()


@atexit.register
def _stop_all():
    for proc in list(_running.values()):
        proc.stop(timeout=2.0)

"""Run the firmware on the simulated host board as a child process (tests, demo, bench).

fw = HostBoard(config_dict, workdir)      # writes config.json (+ ca.der if given)
fw = HostBoard(cfg, workdir, romfs=romfs_image())  # code in place from a ROMFS image
fw.start()
fw.wait_log(r"online as (\\S+)")          # -> the match, or AssertionError with the log
fw.wait_exit()                            # a board that ends by itself: its exit code
fw.stop()                                 # SIGINT, then SIGKILL; never leaves a process
"""

import atexit
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_live = set()


def board_config(server, user="sensor", password=None, allow=("requester",), **xmpp):
    """A host-board config for an account on a localxmpp server."""
    x = {
        "jid": server.jid(user),
        "password": password or server.accounts[user],
        "host": "127.0.0.1",
        "port": server.port,
        "ca": str(server.ca_der_path),
        "ping_s": 30,
    }
    x.update(xmpp)
    return {
        "xmpp": x,
        "allow": [a if "@" in a else server.jid(a) for a in allow],
        "board": "host",
    }


class HostBoard:
    def __init__(self, config, workdir, heap="512k", mpy=False, romfs=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "config.json"
        self.config_path.write_text(json.dumps(config, indent=1, ensure_ascii=False))
        self.heap = heap
        self.mpy = mpy
        self.romfs = romfs  # an image of build/mpy (romfs_image): tools/run-host ROMFS=
        self.proc = None
        self.lines = []
        self._eof = False  # every line the process wrote is in self.lines
        self._cond = threading.Condition()

    def start(self):
        env = dict(os.environ, HEAP=self.heap, MPY="1" if self.mpy else "0")
        env.pop("ROMFS", None)
        if self.romfs:
            env["ROMFS"] = str(self.romfs)
        self.proc = subprocess.Popen(
            [str(ROOT / "tools" / "run-host"), str(self.config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        _live.add(self.proc)
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def log(self):
        with self._cond:
            return "\n".join(self.lines)

    def count(self, pattern):
        rx = re.compile(pattern)
        with self._cond:
            return sum(1 for line in self.lines if rx.search(line))

    def wait_log(self, pattern, timeout=20.0, after=0):
        """The first log line (from index `after`) matching `pattern`, as a re.Match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = after
        with self._cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self._eof and i >= len(self.lines)):
                    raise AssertionError(
                        "no log line matching %r within %.0f s; exit=%s; log:\n%s"
                        % (pattern, timeout, self.proc.poll(), "\n".join(self.lines[-60:]))
                    )
                self._cond.wait(min(left, 0.2))

    def wait_count(self, pattern, n, timeout=20.0):
        """Wait until `n` log lines match `pattern`. The log comes through a pipe,
        so it may trail what a peer of the board has already seen."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = sum(1 for line in self.lines if rx.search(line))
                left = deadline - time.monotonic()
                if seen >= n:
                    return seen
                if left <= 0 or self._eof:
                    raise AssertionError(
                        "%d of %d log lines matching %r within %.0f s; exit=%s; log:\n%s"
                        % (
                            seen,
                            n,
                            pattern,
                            timeout,
                            self.proc.poll(),
                            "\n".join(self.lines[-60:]),
                        )
                    )
                self._cond.wait(min(left, 0.2))

    def wait_exit(self, timeout=30.0):
        """The exit code of a process that ends by itself, once all it wrote is in the log
        (the process may be gone before the pipe's last lines reach `lines`)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "still running after %.0f s; log:\n%s" % (timeout, self.log[-6000:])
            ) from None
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._eof:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the log pipe stayed open after the exit")
                self._cond.wait(min(left, 0.2))
        return code

    def mark(self):
        with self._cond:
            return len(self.lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5.0):
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout)
        _live.discard(p)
        return p.returncode


def romfs_image(out=ROOT / "build" / "mpy.romfs", tree=ROOT / "build" / "mpy"):
    """A ROMFS image of the compiled tree (make compile), for tools/romfs_mp.py: mounted at
    /rom it stands for build/mpy, so /rom/lib, /rom/boards/host, /rom/firmware (and
    /rom/tools when the benchmarks compiled their scripts) hold what build/mpy holds.
    Returns its path."""
    mpremote = Path(sys.executable).parent / "mpremote"
    subprocess.run(
        [str(mpremote), "romfs", "--no-mpy", "-o", str(out), "build", str(tree)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def heap_blocks(size):
    """Bytes of heap that `size` bytes take on the x64 unix port (16-byte blocks)."""
    return -(-size // 16) * 16


@atexit.register
def _kill_all():
    for p in list(_live):
        if p.poll() is None:
            p.kill()

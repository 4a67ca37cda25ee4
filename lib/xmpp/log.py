"""One-line logs with a per-client tag, so several boards in one process stay apart.

Lines go to stderr on the host and to the USB console on a board. The last few lines are
kept in a small ring (`recent`, cut to a line's worth each: a peer can put a 3 KB JID in
one) for the status command; nothing grows with uptime.
"""

import sys
import time

from micropython import const

ERROR = const(40)
WARN = const(30)
INFO = const(20)
DEBUG = const(10)
_NAMES = {ERROR: "E", WARN: "W", INFO: "I", DEBUG: "D"}
_NO_MEMORY = "E out of memory for a log line"
_KEEP_CHARS = const(160)


class Log:
    def __init__(self, tag, level=INFO, keep=8, out=None):
        self.tag = tag
        self.level = level
        self.out = out or getattr(sys, "stderr", None) or sys.stdout
        self.recent = [None] * keep  # ring of the last `keep` lines at WARN and above
        self._next = 0

    def _emit(self, level, msg):
        if level < self.level:
            return
        t = time.ticks_ms() if hasattr(time, "ticks_ms") else 0
        try:
            line = "%s %d %s: %s" % (_NAMES.get(level, "?"), t, self.tag, msg)
        except MemoryError:
            # Logging is what the error paths do: it must not raise in their place.
            line = _NO_MEMORY
        self.out.write(line)
        self.out.write("\n")  # apart: joined, the line would be copied once more
        if level >= WARN and self.recent:
            self.recent[self._next] = line[:_KEEP_CHARS] if len(line) > _KEEP_CHARS else line
            self._next = (self._next + 1) % len(self.recent)

    def latest(self):
        """The last line kept (WARN or worse), or None."""
        r = self.recent
        return r[(self._next - 1) % len(r)] if r else None

    def error(self, msg):
        self._emit(ERROR, msg)

    def warn(self, msg):
        self._emit(WARN, msg)

    def info(self, msg):
        self._emit(INFO, msg)

    def debug(self, msg):
        self._emit(DEBUG, msg)

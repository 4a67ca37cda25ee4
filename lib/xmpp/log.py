"""One-line logs with a per-client tag, so several boards in one process stay apart.

Lines go to stderr on the host and to the USB console on a board. The latest line at WARN
or above is kept for the status command, cut to a line's worth (a peer can put a 3 KB JID
in one): what the log holds never grows with uptime, and never depends on how many lines
came before. What peers send reaches the log (a JID, a server's error text), so a console
line is cut at a bound too, and a line holding a control character is printed escaped (as
repr() does): a peer can neither start a line of its own nor drive the terminal.
"""

import re
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
_LINE_CHARS = const(400)
# C0 controls and DEL (XML refuses NUL; TAB, LF and CR it lets through) and C1 controls
# (U+0080-U+009F: CSI, NEL), in the line's UTF-8.
_CONTROL = re.compile(b"[\x01-\x1f\x7f]|\xc2[\x80-\x9f]")


class Log:
    def __init__(self, tag, level=INFO, out=None):
        self.tag = tag
        self.level = level
        self.out = out or getattr(sys, "stderr", None) or sys.stdout
        self._last = None  # the latest line at WARN and above

    def _emit(self, level, msg):
        if level < self.level:
            return
        try:
            line = "%s %d %s: %s" % (_NAMES.get(level, "?"), time.ticks_ms(), self.tag, msg)
            if len(line) > _LINE_CHARS:
                line = line[:_LINE_CHARS] + "..."
            if _CONTROL.search(line.encode()):  # encode(): the str's own bytes, not a copy
                line = repr(line)[1:-1]  # escaped, unquoted: the level still leads the line
        except MemoryError:
            # Logging is what the error paths do: it must not raise in their place.
            line = _NO_MEMORY
        self.out.write(line)
        self.out.write("\n")  # apart: joined, the line would be copied once more
        if level >= WARN:
            self._last = line[:_KEEP_CHARS] if len(line) > _KEEP_CHARS else line

    def latest(self):
        """The latest line at WARN or worse, or None."""
        return self._last

    def error(self, msg):
        self._emit(ERROR, msg)

    def warn(self, msg):
        self._emit(WARN, msg)

    def info(self, msg):
        self._emit(INFO, msg)

    def debug(self, msg):
        self._emit(DEBUG, msg)

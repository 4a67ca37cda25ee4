"""What the simulated Sensirion chips share: a command starts work that takes time, the reply
is a run of CRC-protected words, and the part NACKs while it is busy or has nothing to say.

A command is NACKed within 1 ms of the previous one: the SHT3x needs 1 ms between two commands
(SHT3x-DIS §4.3, Table 9), the SCD4x takes none while the previous one executes (SCD4x §3.3,
Table 9: 1 ms for most); the SHT4x is modelled alike.
"""

from sim_i2c import SimChip, nack, now_us, put_words, since_us

COMMAND_GAP_US = 1000


def word(value, lo, span, full=65535):
    """Physical value -> 16-bit word for value = lo + span * word / full."""
    w = int((value - lo) * full / span + 0.5)
    return 0 if w < 0 else 65535 if w > 65535 else w


class SimSensirion(SimChip):
    STALLS = True  # stuck_busy: the work a command starts (a conversion) never ends

    def power_on(self):
        self._reply = None  # a function returning the reply words
        self._start = None
        self._dur_us = 0
        self._command_at = None

    def busy(self):
        if self._start is None:
            return False
        if (self.stuck_busy and self.STALLS) or since_us(self._start) < self._dur_us:
            return True
        self._start = None
        return False

    def command(self):
        """Take a command now, or NACK it: still busy, or within 1 ms of the last command."""
        if self.busy():
            nack()
        if self._command_at is not None and since_us(self._command_at) < COMMAND_GAP_US:
            nack()
        self._command_at = now_us()

    def work(self, dur_us, reply):
        """Start a command that replies with reply() after dur_us."""
        self._reply = reply
        self._dur_us = dur_us
        self._start = now_us() if dur_us else None

    def read(self, buf):
        if self.busy() or self._reply is None:
            nack()
        put_words(self, buf, self._reply())
        self._reply = None

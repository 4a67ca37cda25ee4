"""What the simulated Sensirion chips share: a command starts work that takes time, the reply
is a run of CRC-protected words, and the part NACKs while it is busy or has nothing to say."""

from sim_i2c import SimChip, nack, now_us, put_words, since_us


def word(value, lo, span):
    """Physical value -> 16-bit word for value = lo + span * word / 65535."""
    w = int((value - lo) * 65535 / span + 0.5)
    return 0 if w < 0 else 65535 if w > 65535 else w


class SimSensirion(SimChip):
    def power_on(self):
        self._reply = None  # a function returning the reply words
        self._start = None
        self._dur_us = 0

    def busy(self):
        if self._start is None:
            return False
        if self.stuck_busy or since_us(self._start) < self._dur_us:
            return True
        self._start = None
        return False

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

# Shared by tests (MicroPython): time's ticks as on an ESP32, to stand in for a module's
# `time`. ticks_ms wraps every 2**30 ms (12.4 days), so ticks_diff answers in
# [-2**29, 2**29); the unix port's period is far longer.
import time

DAY_MS = 86_400_000


class Esp32Ticks:
    PERIOD = 1 << 30

    def __init__(self, now=0):
        self.now = now

    def ticks_ms(self):
        return self.now

    def ticks_add(self, t, d):
        # extmod/modtime.c: a delta of half the period or more is refused, not wrapped.
        if not -(self.PERIOD >> 1) <= d < self.PERIOD >> 1:
            raise OverflowError("ticks interval overflow")
        return (t + d) & (self.PERIOD - 1)

    def ticks_diff(self, a, b):
        half = self.PERIOD >> 1
        return ((a - b + half) & (self.PERIOD - 1)) - half

    def advance(self, ms):
        self.now = (self.now + ms) & (self.PERIOD - 1)

    def __getattr__(self, name):  # everything else (sleep, time, gmtime) as usual
        return getattr(time, name)


def install(*modules, now=0):
    """An Esp32Ticks as the `time` of each module, and of xmpp.ticks, whose since() they use."""
    from xmpp import ticks as shared

    t = Esp32Ticks(now)
    for m in modules + (shared,):
        m.time = t
    return t

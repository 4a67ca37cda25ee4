"""Simulated ROHM BH1750FVI: power and mode commands, one opcode per write, MTreg, one-time
measurements taking the maximum time for the mode and MTreg, after which the part powers down.
It has no busy flag: reading early returns the previous count, as the part does."""

from sim_i2c import SimChip, nack, now_us, since_us
from sim_physics import Environment

DEFAULTS = {"illuminance": 320.0}
# command -> (maximum µs at MTreg 69, p.2: H 180 ms, L 24 ms; count factor); the part may
# take that long, and a driver must wait for it. count = lx * 1.2 * MTreg / 69 (* 2 in H2)
_MODES = {0x10: (180_000, 1), 0x11: (180_000, 2), 0x13: (24_000, 1)}


class SimBH1750(SimChip):
    def __init__(self, address=0x23, spec=None):
        spec = spec or {}
        self.env = Environment(DEFAULTS, {k: spec[k] for k in DEFAULTS if k in spec})
        self.measurements = 0
        super().__init__(address)

    def power_on(self):
        self.powered = False
        self.mtreg = 69
        self.count = 0
        self._start = None
        self._mode = None
        self._one_time = False

    def _update(self):
        if self._start is None or self.stuck_busy:
            return
        dur, factor = _MODES[self._mode]
        if since_us(self._start) < dur * self.mtreg // 69:
            return
        self.measurements += 1
        count = int(self.env["illuminance"] * 1.2 * self.mtreg / 69 * factor + 0.5)
        if self._mode == 0x13:
            count &= ~3  # L-resolution: 4 lx steps
        self.count = min(max(count, 0), 0xFFFF)
        if self._one_time:
            self._start = None
            self.powered = False
        else:
            self._start = now_us()

    def write(self, data, stop):
        self._update()
        if len(data) > 1:
            nack()  # p.10: no plural commands without a stop condition, one opcode per write
        if not data:
            return
        cmd = data[0]
        if cmd == 0x00:
            self.powered = False
            self._start = None
        elif cmd == 0x01:
            self.powered = True
        elif cmd == 0x07:
            if self.powered:
                self.count = 0
        elif cmd & 0xF8 == 0x40:
            self.mtreg = ((cmd & 0x07) << 5) | (self.mtreg & 0x1F)
        elif cmd & 0xE0 == 0x60:
            self.mtreg = (self.mtreg & 0xE0) | (cmd & 0x1F)
        elif cmd & 0xF0 in (0x10, 0x20) and (cmd & 0x0F) in (0, 1, 3):
            self._mode = 0x10 | (cmd & 0x0F)
            self._one_time = cmd & 0xF0 == 0x20
            self.powered = True
            self._start = now_us()

    def read(self, buf):
        self._update()
        for i in range(len(buf)):
            buf[i] = (self.count >> 8) & 0xFF if i == 0 else self.count & 0xFF if i == 1 else 0xFF

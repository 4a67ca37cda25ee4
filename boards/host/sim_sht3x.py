"""Simulated Sensirion SHT3x: two-byte commands 1 ms apart, single-shot measurements without
clock stretching (reads NACK until done), status register, serial number, CRC-protected
replies."""

from sim_i2c import nack
from sim_physics import Environment
from sim_sensirion import SimSensirion, word

DEFAULTS = {"temperature": 22.0, "humidity": 40.0}
_MEASURE_US = {0x2400: 15000, 0x240B: 6000, 0x2416: 4000}  # Table 4, maximum
_STATUS_POWER_ON = 0x8010  # alert pending and reset detected (Table 17)


class SimSHT3x(SimSensirion):
    def __init__(self, address=0x44, spec=None):
        spec = spec or {}
        serial = spec.get("serial", 0x5EA5E3A1)
        # None: a part without the serial number command (some clones): it NACKs it.
        self.serial = None if serial is None else int(serial)
        self.env = Environment(DEFAULTS, {k: spec[k] for k in DEFAULTS if k in spec})
        self.measurements = 0
        super().__init__(address)

    def power_on(self):
        super().power_on()
        self.status = _STATUS_POWER_ON

    def write(self, data, stop):
        self.command()
        if len(data) < 2:
            self._reply = None  # an incomplete command is ignored
            return
        cmd = (data[0] << 8) | data[1]
        if cmd in _MEASURE_US:
            self.work(_MEASURE_US[cmd], self._measurement)
        elif cmd == 0xF32D:
            self.work(0, lambda: (self.status,))
        elif cmd == 0x3041:
            self.status &= ~0x8C10
            self._reply = None
        elif cmd == 0x30A2:
            self.power_on()
            self.work(1500, None)
        elif cmd == 0x3780 and self.serial is not None:
            self.work(0, lambda: (self.serial >> 16, self.serial & 0xFFFF))
        elif cmd == 0x306D:
            self.status |= 0x2000
        elif cmd == 0x3066:
            self.status &= ~0x2000
        else:
            nack()

    def _measurement(self):
        self.measurements += 1
        env = self.env
        return word(env["temperature"], -45, 175), word(env["humidity"], 0, 100)

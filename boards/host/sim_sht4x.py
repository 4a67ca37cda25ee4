"""Simulated Sensirion SHT4x: one-byte commands, measurements that take the datasheet's
maximum duration (reads NACK until then), a serial number read 10 ms after its command,
CRC-protected replies."""

from sim_i2c import nack
from sim_physics import Environment
from sim_sensirion import SimSensirion, word

DEFAULTS = {"temperature": 22.0, "humidity": 40.0}
_MEASURE_US = {0xFD: 8300, 0xF6: 4500, 0xE0: 1600}  # Table 4, maximum
# The datasheet gives no duration for the serial number; Sensirion's driver (embedded-i2c-sht4x,
# sht4x_serial_number) waits 10 ms before the read.
_SERIAL_US = 10_000


class SimSHT4x(SimSensirion):
    def __init__(self, address=0x44, spec=None):
        spec = spec or {}
        serial = spec.get("serial", 0x0BADCAFE)
        # None: a part without the serial number command (some clones): it NACKs it.
        self.serial = None if serial is None else int(serial)
        self.env = Environment(DEFAULTS, {k: spec[k] for k in DEFAULTS if k in spec})
        self.measurements = 0
        super().__init__(address)

    def write(self, data, stop):
        if len(data) != 1:
            nack()  # two-byte commands of other parts are not SHT4x commands
        self.command()
        cmd = data[0]
        if cmd in _MEASURE_US:
            self.work(_MEASURE_US[cmd], self._measurement)
        elif cmd == 0x89 and self.serial is not None:
            self.work(_SERIAL_US, lambda: (self.serial >> 16, self.serial & 0xFFFF))
        elif cmd == 0x94:
            self.power_on()
            self.work(1000, None)
        else:
            nack()

    def _measurement(self):
        self.measurements += 1
        env = self.env
        return word(env["temperature"], -45, 175), word(env["humidity"], -6, 125)

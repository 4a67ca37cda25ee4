"""Simulated Sensirion SCD4x in periodic mode: a sample every interval (5 s, configurable to
speed tests up), data-ready status, read_measurement NACKed when no new sample waits, only
the periodic-mode commands accepted while measuring, 500 ms to stop, a serial number."""

from sim_i2c import nack, now_us, since_us
from sim_physics import Environment
from sim_sensirion import SimSensirion, word

DEFAULTS = {"co2": 600, "temperature": 22.0, "humidity": 40.0}
_PERIODIC_OK = (0xEC05, 0xE4B8, 0x3F86, 0xE000)


class SimSCD4x(SimSensirion):
    def __init__(self, address=0x62, spec=None):
        spec = spec or {}
        self.serial = int(spec.get("serial", 0x1F2E3D4C5B6A))
        self.interval_ms = int(spec.get("interval_ms", 5000))
        self.env = Environment(DEFAULTS, {k: spec[k] for k in DEFAULTS if k in spec})
        super().__init__(address)

    def power_on(self):
        super().power_on()
        self.periodic = False
        self._since = None
        self._taken = 0

    def _available(self):
        if not self.periodic or self.stuck_busy:
            return 0
        return since_us(self._since) // (self.interval_ms * 1000)

    def write(self, data, stop):
        if self.busy() or len(data) < 2:
            nack()  # includes the 500 ms after stop_periodic_measurement
        cmd = (data[0] << 8) | data[1]
        if self.periodic and cmd not in _PERIODIC_OK:
            nack()
        if cmd in (0x21B1, 0x21AC):
            self.periodic = True
            self._since = now_us()
            self._taken = 0
            if cmd == 0x21AC:
                self.interval_ms = 30000
        elif cmd == 0x3F86:
            self.periodic = False
            self.work(500_000, None)
        elif cmd == 0xE4B8:
            ready = self._available() > self._taken
            self.work(0, lambda: (0x8006 if ready else 0x8000,))
        elif cmd == 0xEC05:
            n = self._available()
            if n > self._taken:
                self._taken = n
                self.work(0, self._measurement)
            else:
                self._reply = None
        elif cmd == 0x3682:
            s = self.serial
            self.work(0, lambda: ((s >> 32) & 0xFFFF, (s >> 16) & 0xFFFF, s & 0xFFFF))
        elif cmd in (0x3646, 0xE000):
            self._reply = None
        else:
            nack()

    def _measurement(self):
        env = self.env
        co2 = int(env["co2"] + 0.5)
        return co2, word(env["temperature"], -45, 175), word(env["humidity"], 0, 100)

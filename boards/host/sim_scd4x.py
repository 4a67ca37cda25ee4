"""Simulated Sensirion SCD4x in periodic mode: deaf for 1000 ms after power-up, a sample every
interval (5 s after start_periodic_measurement, 30 s after the low-power start; both
configurable to speed tests up), data-ready status, read_measurement NACKed when no new sample
waits, replies 1 ms after their command, only the periodic-mode commands accepted while
measuring, 500 ms to stop, a serial number.

spec: "interval_ms" (5000), "low_power_interval_ms" (30000), "power_up_ms" (1000), "serial",
and the physics ("co2" in ppm, "temperature", "humidity").

While it powers up the part NACKs every command and read (§3.1), but a scan, which only
addresses it, still finds it: detection then knows to wait for it.
"""

from sim_i2c import nack, now_us, since_us
from sim_physics import Environment
from sim_sensirion import SimSensirion, word

DEFAULTS = {"co2": 600, "temperature": 22.0, "humidity": 40.0}
_PERIODIC_OK = (0xEC05, 0xE4B8, 0x3F86, 0xE000)
_EXEC_US = 1000  # get_data_ready_status, read_measurement, get_serial_number: Table 9


class SimSCD4x(SimSensirion):
    STALLS = False  # stuck_busy stops the samples (_available), not the commands

    def __init__(self, address=0x62, spec=None):
        spec = spec or {}
        self.serial = int(spec.get("serial", 0x1F2E3D4C5B6A))
        self.interval_ms = int(spec.get("interval_ms", 5000))  # §3.5.1
        self.low_power_interval_ms = int(spec.get("low_power_interval_ms", 30000))  # §3.8.1
        self.power_up_us = int(spec.get("power_up_ms", 1000)) * 1000  # §3.1
        self.env = Environment(DEFAULTS, {k: spec[k] for k in DEFAULTS if k in spec})
        super().__init__(address)

    def power_on(self):
        super().power_on()
        self._powered_at = now_us()
        self.periodic = False
        self._period_ms = self.interval_ms
        self._since = None
        self._taken = 0

    def powering_up(self):
        return since_us(self._powered_at) < self.power_up_us

    def _available(self):
        if not self.periodic or self.stuck_busy:
            return 0
        return since_us(self._since) // (self._period_ms * 1000)

    def write(self, data, stop):
        if self.powering_up() or len(data) < 2:
            nack()
        cmd = (data[0] << 8) | data[1]
        if self.periodic and cmd not in _PERIODIC_OK:
            nack()
        self.command()  # NACKs during the 500 ms after stop_periodic_measurement, too
        if cmd in (0x21B1, 0x21AC):
            self.periodic = True
            self._period_ms = self.interval_ms if cmd == 0x21B1 else self.low_power_interval_ms
            self._since = now_us()
            self._taken = 0
        elif cmd == 0x3F86:
            self.periodic = False
            self.work(500_000, None)
        elif cmd == 0xE4B8:
            ready = self._available() > self._taken
            self.work(_EXEC_US, lambda: (0x8006 if ready else 0x8000,))
        elif cmd == 0xEC05:
            n = self._available()
            if n > self._taken:
                self._taken = n
                self.work(_EXEC_US, self._measurement)
            else:
                self._reply = None
        elif cmd == 0x3682:
            s = self.serial
            self.work(_EXEC_US, lambda: ((s >> 32) & 0xFFFF, (s >> 16) & 0xFFFF, s & 0xFFFF))
        elif cmd in (0x3646, 0xE000):
            self._reply = None
        else:
            nack()

    def read(self, buf):
        if self.powering_up():
            nack()
        super().read(buf)

    def _measurement(self):
        env = self.env
        co2 = int(env["co2"] + 0.5)
        # §3.5.2: T = -45 + 175 * word / 2^16, RH = 100 * word / 2^16.
        t = word(env["temperature"], -45, 175, 65536)
        return co2, t, word(env["humidity"], 0, 100, 65536)

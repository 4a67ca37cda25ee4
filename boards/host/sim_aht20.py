"""Simulated Aosong AHT20: status byte with busy and calibration flags (the first byte of every
read), 0xBE initialisation taking 10 ms (reads NACK until then), 0xAC measurement taking
75 ms (the busy flag stays set until then), CRC over the reply. Only the commands of §5.3,
Table 9 (0xBE, 0xAC, 0xBA) are taken; 0x71 is the read header, not a command."""

from sim_i2c import SimChip, crc8, nack, now_us, since_us
from sim_physics import Environment

DEFAULTS = {"temperature": 22.0, "humidity": 40.0}
_MEASURE_US = 75_000
_INIT_US = 10_000  # §5.4 step 1: wait 10 ms after 0xBE


class SimAHT20(SimChip):
    def __init__(self, address=0x38, spec=None):
        spec = spec or {}
        self.calibrated_at_power_on = bool(spec.get("calibrated", True))
        self.env = Environment(DEFAULTS, {k: spec[k] for k in DEFAULTS if k in spec})
        self.measurements = 0
        super().__init__(address)

    def power_on(self):
        self.calibrated = self.calibrated_at_power_on
        self._start = None
        self._init_at = None
        self.data = bytearray(5)

    def _status(self):
        busy = self._start is not None
        return (0x80 if busy else 0) | (0x08 if self.calibrated else 0) | 0x10

    def _initialising(self):
        if self._init_at is None:
            return False
        if since_us(self._init_at) < _INIT_US:
            return True
        self._init_at = None
        self.calibrated = True
        return False

    def _update(self):
        if self._start is None or self.stuck_busy or since_us(self._start) < _MEASURE_US:
            return
        self._start = None
        self.measurements += 1
        env = self.env
        h = int(min(max(env["humidity"], 0.0), 100.0) / 100 * (1 << 20) + 0.5)
        t = int((env["temperature"] + 50) / 200 * (1 << 20) + 0.5)
        h = min(h, 0xFFFFF)
        t = min(max(t, 0), 0xFFFFF)
        d = self.data
        d[0], d[1] = h >> 12, (h >> 4) & 0xFF
        d[2] = ((h & 0x0F) << 4) | (t >> 16)
        d[3], d[4] = (t >> 8) & 0xFF, t & 0xFF

    def write(self, data, stop):
        self._initialising()
        self._update()
        if not data:
            return
        if data[0] == 0xBE and len(data) == 3:
            self._init_at = now_us()
        elif data[0] == 0xAC and len(data) == 3:
            self._start = now_us()
        elif data[0] == 0xBA:
            self.power_on()
        else:
            nack()

    def read(self, buf):
        if self._initialising():
            nack()
        self._update()
        reply = bytes((self._status(),)) + bytes(self.data)
        for i in range(min(len(buf), 6)):
            buf[i] = reply[i]
        if len(buf) > 6:
            buf[6] = self.crc(crc8(reply))

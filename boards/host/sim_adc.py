"""Simulated ESP32 ADC channel, MCU temperature sensor and status LED.

`SimADC` has the `machine.ADC` methods the drivers use (`atten`, `read_uv`, `read_u16`,
`read`): the node voltage, divided by the board's divider, clipped to the attenuation's
range, quantised to 12 bits, with a deterministic ±1 LSB of noise that averaging removes.
"""

from sim_physics import Environment

FULL_SCALE_MV = (950, 1250, 1750, 2450)
_NOISE = (0, 1, 0, -1)


class SimADC:
    def __init__(self, spec=None, divider=(1, 1)):
        spec = spec or {}
        self.env = Environment({"voltage": 3.3}, {"voltage": spec.get("voltage", 3.3)})
        self._num, self._den = divider
        self._atten = None
        self._i = 0
        self.reads = 0

    def atten(self, atten):
        self._atten = atten

    def _code(self):
        if self._atten is None:
            raise RuntimeError("attenuation never set")  # the default changed in 1.26
        fs_uv = FULL_SCALE_MV[self._atten] * 1000
        uv = self.env["voltage"] * 1e6 * self._den / self._num
        code = int(uv * 4096 / fs_uv + 0.5) + _NOISE[self._i & 3]
        self._i += 1
        self.reads += 1
        return min(max(code, 0), 4095), fs_uv

    def read(self):
        return self._code()[0]

    def read_u16(self):
        code = self._code()[0]
        return (code << 4) | (code >> 8)

    def read_uv(self):
        code, fs_uv = self._code()
        return code * fs_uv // 4096


class SimMCU:
    """esp32.mcu_temperature() and esp32.raw_temperature() (°F) of a simulated chip."""

    def __init__(self, spec=None):
        spec = spec or {}
        self.env = Environment(
            {"temperature": 41.0}, {"temperature": spec.get("temperature", 41.0)}
        )
        self.stuck = bool(spec.get("stuck", False))

    def mcu_temperature(self):
        return self.env["temperature"]

    def raw_temperature(self):
        if self.stuck:
            return 128
        return int(self.env["temperature"] * 9 / 5 + 32 + 0.5)


class SimLED:
    """A status LED: `value()` like machine.Pin, and a count of changes."""

    def __init__(self):
        self.state = 0
        self.changes = 0

    def value(self, v=None):
        if v is None:
            return self.state
        v = 1 if v else 0
        if v != self.state:
            self.changes += 1
        self.state = v
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

"""ROHM BH1750FVI ambient light sensor on I2C, one-time measurements.

The part has no identification register and no busy flag: a readout waits the datasheet's
maximum measurement time for the mode, scaled by the measurement-time register MTreg
(BH1750FVI datasheet p.5, p.11). MTreg is rewritten before each measurement, 69 included: a
power glitch silently resets it to 69, and a part that stayed powered through an MCU reset
keeps the value of the previous configuration (Reset, 0x07, clears only the data register).

    sensor = BH1750(i2c, 0x23, mode="H", mtreg=69)
    count = await sensor.measure()
    illuminance, mode, chip, address = await sensor.read()
"""

import asyncio

from micropython import const

from drivers.errors import measured
from drivers.fixed import fixed

_POWER_ON = const(0x01)
_RESET = const(0x07)
_MTREG_HI = const(0x40)
_MTREG_LO = const(0x60)
_MTREG_DEFAULT = const(69)
# mode -> (one-time command, max ms at MTreg 69 (p.2: H 180, L 24), lux divisor factor);
# lx = count / 1.2 * 69 / MTreg, halved in H2 mode.
_MODES = {"H": (0x20, 180, 1), "H2": (0x21, 180, 2), "L": (0x23, 24, 1)}


def probe(i2c, address):
    """'bh1750' when the address takes the power-on and reset commands and a 2-byte read."""
    try:
        i2c.writeto(address, bytes((_POWER_ON,)))
        i2c.writeto(address, bytes((_RESET,)))
        i2c.readfrom(address, 2)
    except OSError:
        return None
    return "bh1750"


class BH1750:
    CHIP = "BH1750"
    FIELDS = (
        ("Illuminance", "numeric", "lx", "momentary"),
        ("Mode", "string", "", "status"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
    )

    def __init__(self, i2c, address=0x23, mode="H", mtreg=_MTREG_DEFAULT):
        if not 31 <= mtreg <= 254:
            raise ValueError("MTreg must be 31..254")
        self._i2c = i2c
        self.address = address
        self.mode = mode
        self._cmd, wait, self._half = _MODES[mode]
        self._mtreg = mtreg
        # The maximum time, scaled by MTreg, in whole ms, plus one: sleep_ms counts ticks and
        # may end 1 ms early, and with no busy flag an early read gets the previous count.
        self._wait_ms = (wait * mtreg + _MTREG_DEFAULT - 1) // _MTREG_DEFAULT + 1
        self._den = 6 * mtreg * self._half
        # Decimals: the digit where one count lies (L mode counts in steps of 4 lx).
        step_mlx = 4000 if mode == "L" else 1000 * 5 * _MTREG_DEFAULT // self._den
        self._places = 0 if step_mlx >= 1000 else 1 if step_mlx >= 100 else 2
        self._buf = bytearray(2)
        self._one = memoryview(self._buf)[:1]
        self._addr_str = "0x%02x" % address
        self._ready = False

    def _command(self, cmd):
        self._one[0] = cmd
        self._i2c.writeto(self.address, self._one)

    async def init(self):
        """Power on and clear the data register."""
        self._command(_POWER_ON)
        self._command(_RESET)
        self._ready = True

    async def measure(self):
        """The raw 16-bit count of one measurement."""
        self._command(_POWER_ON)
        self._command(_MTREG_HI | (self._mtreg >> 5))
        self._command(_MTREG_LO | (self._mtreg & 0x1F))
        self._command(self._cmd)
        await asyncio.sleep_ms(self._wait_ms)
        self._i2c.readfrom_into(self.address, self._buf)
        return (self._buf[0] << 8) | self._buf[1]

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        count = await measured(self)
        # lx = count * 5 * 69 / (6 * MTreg), halved in H2 mode.
        lux = fixed(count * 5 * _MTREG_DEFAULT, self._den, self._places)
        return lux, self.mode, self.CHIP, self._addr_str

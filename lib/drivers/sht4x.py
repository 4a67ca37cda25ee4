"""Sensirion SHT4x (SHT40/41/43/45) temperature and humidity sensor on I2C.

One-byte commands; a measurement replies with two CRC-protected words after the datasheet's
maximum duration (SHT4x datasheet §4.5, Table 4); reading earlier is NACKed by the part.

    sensor = SHT4x(i2c, 0x44)
    t_raw, rh_raw = await sensor.measure()
    temperature, humidity, chip, address, serial = await sensor.read()
"""

import asyncio
import time

from micropython import const

from drivers.crc8 import check_words
from drivers.errors import measured
from drivers.fixed import fixed
from drivers.sensirion import read_words

_CMD_SERIAL = const(0x89)
_CMD_RESET = const(0x94)
# The datasheet gives the serial number no duration; Sensirion's driver (embedded-i2c-sht4x,
# sht4x_serial_number) waits 10 ms before reading it.
_SERIAL_MS = const(10)
# precision -> (command, max duration ms, decimals of T, decimals of RH); the decimals follow
# the repeatability in Table 2 (T 0.01/0.015/0.025 °C, RH 0.08/0.15/0.25 %RH).
_MODES = {
    "high": (0xFD, 9, 2, 2),
    "medium": (0xF6, 5, 2, 1),
    "low": (0xE0, 2, 2, 1),
}


def probe(i2c, address):
    """'sht4x' when the serial number reads back with valid CRCs, else None."""
    buf = bytearray(6)
    try:
        i2c.writeto(address, bytes((_CMD_SERIAL,)))
        # Boot-time detection only, before the event loop runs; sleep_ms counts ticks: + 1.
        time.sleep_ms(_SERIAL_MS + 1)
        i2c.readfrom_into(address, buf)
        check_words(buf, 2, "SHT4x")
    except (OSError, ValueError):
        return None
    return "sht4x"


class SHT4x:
    CHIP = "SHT4x"
    FIELDS = (
        ("Temperature", "numeric", "°C", "momentary"),
        ("Humidity", "numeric", "%", "momentary"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
        ("Serial", "string", "", "identity"),
    )

    def __init__(self, i2c, address=0x44, precision="high"):
        self._i2c = i2c
        self.address = address
        self._cmd, self._wait_ms, self._tp, self._hp = _MODES[precision]
        self._buf = bytearray(6)
        self._one = memoryview(self._buf)[:1]
        self._addr_str = "0x%02x" % address
        self.serial = None
        self._ready = False

    def _command(self, cmd):
        self._one[0] = cmd
        self._i2c.writeto(self.address, self._one)

    async def init(self):
        """Soft reset, then read the serial number."""
        self._command(_CMD_RESET)
        await asyncio.sleep_ms(2)  # soft reset: 1 ms max, Table 4
        try:
            self._command(_CMD_SERIAL)
            await asyncio.sleep_ms(_SERIAL_MS)
            self.serial = "%04X%04X" % await read_words(
                self._i2c, self.address, self._buf, self.CHIP
            )
        except (OSError, ValueError):
            self.serial = None  # as in the SHT3x: the measurement says if the part is there
            await asyncio.sleep_ms(2)  # the command gap after the refused one
        self._ready = True

    async def measure(self):
        """Raw words (S_T, S_RH) of one measurement."""
        self._command(self._cmd)
        await asyncio.sleep_ms(self._wait_ms)
        return await read_words(self._i2c, self.address, self._buf, self.CHIP)

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        st, srh = await measured(self)
        # §4.6: T = -45 + 175 * S_T / 65535; RH = -6 + 125 * S_RH / 65535, clamped to 0..100.
        rh = -6 * 65535 + 125 * srh
        rh = 0 if rh < 0 else 100 * 65535 if rh > 100 * 65535 else rh
        return (
            fixed(-45 * 65535 + 175 * st, 65535, self._tp),
            fixed(rh, 65535, self._hp),
            self.CHIP,
            self._addr_str,
            self.serial,
        )

"""Sensirion SHT3x (SHT30/31/35) temperature and humidity sensor on I2C, single-shot mode.

Single shot without clock stretching: the part NACKs reads until the conversion is done
(SHT3x-DIS datasheet §4.3, Table 9), and a command less than 1 ms after the previous one.
Every reply word carries a CRC.

    sensor = SHT3x(i2c, 0x44)
    t_raw, rh_raw, status = await sensor.measure()
    temperature, humidity, heater, alert, chip, address, serial = await sensor.read()
"""

import asyncio
import struct
import time

from micropython import const

from drivers.crc8 import check_words
from drivers.errors import measured
from drivers.fixed import fixed
from drivers.sensirion import Commands, read_words

_CMD_STATUS = const(0xF32D)
_CMD_CLEAR_STATUS = const(0x3041)
_CMD_RESET = const(0x30A2)
_CMD_SERIAL = const(0x3780)  # serial number, no clock stretching (Sensirion application note)
_RESET_US = const(1500)  # soft reset time, Table 4
_STATUS_ALERT = const(0x8000)
_STATUS_HEATER = const(0x2000)
# repeatability -> (command, max duration ms, decimals of T, decimals of RH); the decimals
# follow the repeatability in Table 1/2 (T 0.04/0.08/0.15 °C, RH 0.08/0.15/0.21 %RH).
_MODES = {
    "high": (0x2400, 16, 2, 2),
    "medium": (0x240B, 7, 2, 1),
    "low": (0x2416, 5, 1, 1),
}


def probe(i2c, address):
    """'sht3x' when the status register reads back with a valid CRC, else None."""
    buf = bytearray(3)
    try:
        i2c.writeto(address, struct.pack(">H", _CMD_STATUS))
        i2c.readfrom_into(address, buf)
        check_words(buf, 1, "SHT3x")
    except (OSError, ValueError):
        return None
    time.sleep_ms(2)  # 1 ms before the driver's first command (§4.3); sleep_ms counts ticks
    return "sht3x"


class SHT3x(Commands):
    CHIP = "SHT3x"
    FIELDS = (
        ("Temperature", "numeric", "°C", "momentary"),
        ("Humidity", "numeric", "%", "momentary"),
        ("Heater", "boolean", "", "status"),
        ("Alert", "boolean", "", "status"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
        ("Serial", "string", "", "identity"),
    )

    def __init__(self, i2c, address=0x44, repeatability="high"):
        super().__init__(i2c, address, 6)
        self._cmd, self._wait_ms, self._tp, self._hp = _MODES[repeatability]
        self._addr_str = "0x%02x" % address
        self.serial = None
        self._ready = False

    async def init(self):
        """Soft reset, clear the status flags, read the serial number."""
        await self._settle()  # after a failed readout's last command
        self._command(_CMD_RESET, _RESET_US)
        await self._settle()
        self._command(_CMD_CLEAR_STATUS)  # the part needs 1 ms between commands (§4.3)
        await self._settle()
        try:
            self._command(_CMD_SERIAL)
            await asyncio.sleep_ms(1)
            self.serial = "%04X%04X" % await read_words(
                self._i2c, self.address, self._buf, self.CHIP
            )
        except (OSError, ValueError):
            # Some SHT3x clones (and parts sold as SHT30) have no serial number command: the
            # readout goes on without the field, and the measurement says if the part is there.
            self.serial = None
        self._ready = True

    async def measure(self):
        """Raw words (S_T, S_RH) of one single-shot measurement, and the status after it."""
        await self._settle()  # after the status command of a readout just before
        self._command(self._cmd)
        await asyncio.sleep_ms(self._wait_ms)
        st, srh = await read_words(self._i2c, self.address, self._buf, self.CHIP)
        self._command(_CMD_STATUS)  # the conversion is over: the part is idle
        self._i2c.readfrom_into(self.address, self._three)  # status register, Table 17
        check_words(self._buf, 1, self.CHIP)
        return st, srh, (self._buf[0] << 8) | self._buf[1]

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        st, srh, status = await measured(self)
        # §4.13: T = -45 + 175 * S_T / 65535; RH = 100 * S_RH / 65535.
        return (
            fixed(-45 * 65535 + 175 * st, 65535, self._tp),
            fixed(100 * srh, 65535, self._hp),
            bool(status & _STATUS_HEATER),
            bool(status & _STATUS_ALERT),
            self.CHIP,
            self._addr_str,
            self.serial,
        )

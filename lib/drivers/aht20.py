"""Aosong AHT20 temperature and humidity sensor on I2C.

A measurement is triggered, takes up to 80 ms, and is read back as a status byte, five data
bytes and a CRC (AHT20 datasheet §5.4). The status byte carries the busy flag (bit 7) and the
calibration flag (bit 3); an uncalibrated part is initialised with 0xBE, at its first readout.

    sensor = AHT20(i2c)
    t_raw, rh_raw = await sensor.measure()
    temperature, humidity, calibrated, chip, address = await sensor.read()
"""

import asyncio

from micropython import const

from drivers.crc8 import crc8
from drivers.errors import ETIMEDOUT, BusyError, CRCError, SensorError, measured
from drivers.fixed import fixed

_STATUS_BUSY = const(0x80)
_STATUS_CAL = const(0x08)
_INIT = b"\xbe\x08\x00"
_TRIGGER = b"\xac\x33\x00"
_INIT_MS = const(10)  # §5.4 step 1: wait 10 ms after 0xBE
_MEASURE_MS = const(80)
_BUSY_POLLS = const(5)
POWER_UP_MS = const(40)  # §5.4 step 1: wait 40 ms after power-on


def probe(i2c, address):
    """'aht20' when the status byte shows a calibrated, idle part, else None.

    Read-only: the first byte of any read is the status (§5.4), so detection writes nothing to
    a part it has not identified. A status byte with the calibration flag (bit 3) clear does
    not identify an AHT20: initialising it (0xBE) would write to whatever else sits at 0x38.
    Such a part needs a "sensors" entry; the driver then initialises it at its first readout.
    """
    buf = bytearray(1)
    try:
        i2c.readfrom_into(address, buf)
    except OSError:
        return None
    return "aht20" if buf[0] & (_STATUS_CAL | _STATUS_BUSY) == _STATUS_CAL else None


class AHT20:
    CHIP = "AHT20"
    FIELDS = (
        ("Temperature", "numeric", "°C", "momentary"),
        ("Humidity", "numeric", "%", "momentary"),
        ("Calibrated", "boolean", "", "status"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
    )

    def __init__(self, i2c, address=0x38):
        self._i2c = i2c
        self.address = address
        self._buf = bytearray(7)
        self._one = memoryview(self._buf)[:1]
        self._addr_str = "0x%02x" % address
        self._ready = False

    def _status(self):
        # The datasheet's "send 0x71" is the read header (0x38 << 1 | 1), not a command:
        # Table 9 has none; the first byte of any read is the status (§5.4).
        self._i2c.readfrom_into(self.address, self._one)
        return self._one[0]

    async def init(self):
        """Check the calibration flag; send the initialisation command when it is clear."""
        if not self._status() & _STATUS_CAL:
            self._i2c.writeto(self.address, _INIT)
            await asyncio.sleep_ms(_INIT_MS + 1)  # sleep_ms counts ticks: may end 1 ms early
            if not self._status() & _STATUS_CAL:
                raise SensorError(
                    19, "AHT20 at 0x%02x: calibration flag stays clear" % self.address
                )
        self._ready = True

    async def measure(self):
        """Raw 20-bit words (S_T, S_RH) of one measurement."""
        i2c, a, buf = self._i2c, self.address, self._buf
        i2c.writeto(a, _TRIGGER)
        await asyncio.sleep_ms(_MEASURE_MS)
        for _ in range(_BUSY_POLLS):
            i2c.readfrom_into(a, buf)
            if not buf[0] & _STATUS_BUSY:
                break
            await asyncio.sleep_ms(10)
        else:
            raise BusyError(ETIMEDOUT, "AHT20 at 0x%02x: busy flag never clears" % a)
        if crc8(buf, 0, 6) != buf[6]:
            raise CRCError("AHT20: bad CRC in reply")
        if not buf[0] & _STATUS_CAL:
            self._ready = False  # lost its calibration flag (power glitch): init next time
        srh = (buf[1] << 12) | (buf[2] << 4) | (buf[3] >> 4)
        st = ((buf[3] & 0x0F) << 16) | (buf[4] << 8) | buf[5]
        return st, srh

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        st, srh = await measured(self)
        # §6: T = S_T / 2^20 * 200 - 50 = (S_T * 625 - 5000 * 2^15) / (100 * 2^15);
        # RH = S_RH / 2^20 * 100 = S_RH * 125 / (10 * 2^17). fixed() divides the 100 and 10
        # out, so the products stay small ints on a 32-bit port and are rounded only once.
        return (
            fixed(st * 625 - 5000 * 32768, 3276800, 2),
            fixed(srh * 125, 1310720, 1),
            bool(self._buf[0] & _STATUS_CAL),
            self.CHIP,
            self._addr_str,
        )

"""Sensirion SCD4x (SCD40/SCD41) CO2, temperature and humidity sensor on I2C, periodic mode.

The part measures on its own every 5 s (30 s in low-power mode); a readout takes the newest
sample: fresh when `get_data_ready_status` says so, else the previous one while it is younger
than an interval and a second, else it waits for the next (SCD4x datasheet §3.5, §3.8).
Only read_measurement, get_data_ready_status and stop_periodic_measurement are accepted
while periodic measurement runs. The part takes no command for 1000 ms after power-up (§3.1):
detection waits for that at boot, and after a replug the readouts fail (NACK) until it is over.
A command's reply is read after its execution time, and the next command is sent only then
(§3.3, Table 9).

    sensor = SCD4x(i2c)
    co2_ppm, t_raw, rh_raw = await sensor.measure()
    co2, temperature, humidity, chip, address, serial = await sensor.read()
"""

import asyncio
import struct
import time

from micropython import const

from drivers.crc8 import check_words
from drivers.errors import ETIMEDOUT, BusyError, measured
from drivers.fixed import fixed
from drivers.sensirion import Commands

_START_PERIODIC = const(0x21B1)
_START_LOW_POWER = const(0x21AC)
_READ_MEASUREMENT = const(0xEC05)
_STOP_PERIODIC = const(0x3F86)
_DATA_READY = const(0xE4B8)
_SERIAL = const(0x3682)
# Execution times, Table 9: 500 ms to stop; 1 ms for get_data_ready_status, read_measurement
# and get_serial_number; start_periodic_measurement gives none: the 1 ms of the others.
_STOP_US = const(500_000)
_EXEC_US = const(1000)
_POLL_MS = const(100)
POWER_UP_MS = const(1000)  # §3.1


def probe(i2c, address):
    """'scd4x' when, after stopping periodic mode, the serial number reads back with CRCs."""
    buf = bytearray(9)
    try:
        # Boot-time detection only, before the event loop runs; sleep_ms counts ticks: + 1.
        i2c.writeto(address, struct.pack(">H", _STOP_PERIODIC))
        time.sleep_ms(_STOP_US // 1000 + 1)
        i2c.writeto(address, struct.pack(">H", _SERIAL))
        time.sleep_ms(_EXEC_US // 1000 + 1)
        i2c.readfrom_into(address, buf)
        check_words(buf, 3, "SCD4x")
    except (OSError, ValueError):
        return None
    return "scd4x"


class SCD4x(Commands):
    CHIP = "SCD4x"
    FIELDS = (
        ("CO2", "numeric", "ppm", "momentary"),
        ("Temperature", "numeric", "°C", "momentary"),
        ("Humidity", "numeric", "%", "momentary"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
        ("Serial", "string", "", "identity"),
    )

    def __init__(self, i2c, address=0x62, low_power=False):
        super().__init__(i2c, address, 9)
        self._start = _START_LOW_POWER if low_power else _START_PERIODIC
        self.interval_ms = 30_000 if low_power else 5_000
        # The longest a readout of a working part takes (sensordata.device): a restart
        # (stop, 500 ms), then up to an interval and a second of 100 ms polls, each with two
        # 1 ms commands; a tenth more for the polls' own overrun.
        self.read_ms = (self.interval_ms + 1000) * 11 // 10 + _STOP_US // 1000
        self._addr_str = "0x%02x" % address
        self.serial = None
        self._sample = None  # (co2, S_T, S_RH)
        self._sample_at = time.ticks_ms()
        self._ready = False

    def _reply(self, buf, words):
        """Read the command's reply of `words` CRC-checked words (after _settle())."""
        self._i2c.readfrom_into(self.address, buf)
        check_words(buf, words, self.CHIP)

    async def init(self):
        """Stop any periodic measurement, read the serial number, start periodic mode."""
        b = self._buf
        await self._settle()  # after a failed readout's last command
        self._command(_STOP_PERIODIC, _STOP_US)
        await self._settle()
        self._command(_SERIAL, _EXEC_US)
        await self._settle()
        self._reply(b, 3)
        self.serial = "%02X%02X%02X%02X%02X%02X" % (b[0], b[1], b[3], b[4], b[6], b[7])
        self._command(self._start)  # the serial command has executed
        self._sample = None
        self._ready = True

    async def data_ready(self):
        """True when a new sample waits in the sensor."""
        await self._settle()  # after start_periodic_measurement at init
        self._command(_DATA_READY, _EXEC_US)
        await self._settle()
        self._reply(self._three, 1)
        return bool(((self._buf[0] << 8) | self._buf[1]) & 0x07FF)

    async def _fetch(self):
        b = self._buf
        self._command(_READ_MEASUREMENT, _EXEC_US)  # data_ready's command has executed
        await self._settle()
        self._reply(b, 3)
        self._sample = ((b[0] << 8) | b[1], (b[3] << 8) | b[4], (b[6] << 8) | b[7])
        self._sample_at = time.ticks_ms()

    async def measure(self):
        """The newest sample: (CO2 ppm, S_T, S_RH)."""
        if await self.data_ready():
            await self._fetch()
        elif self._sample is None or not (
            # not 0 <=: on an ESP32 ticks wrap every 12.4 days, and a sample over 6.2 days
            # old reads as negative: it is old, not new.
            0 <= time.ticks_diff(time.ticks_ms(), self._sample_at) <= self.interval_ms + 1000
        ):
            for _ in range((self.interval_ms + 1000) // _POLL_MS):
                await asyncio.sleep_ms(_POLL_MS)
                if await self.data_ready():
                    await self._fetch()
                    break
            else:
                raise BusyError(ETIMEDOUT, "SCD4x at 0x%02x: no new sample" % self.address)
        return self._sample

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        co2, st, srh = await measured(self)
        # §3.5.2: T = -45 + 175 * S_T / 2^16; RH = 100 * S_RH / 2^16 (2^16, unlike the SHT3x
        # and SHT4x). Decimals follow the repeatability (0.1 °C, 0.4 %RH); CO2 0 marks an
        # invalid first sample.
        return (
            str(co2) if co2 else None,
            fixed(-45 * 65536 + 175 * st, 65536, 1),
            fixed(100 * srh, 65536, 1),
            self.CHIP,
            self._addr_str,
            self.serial,
        )

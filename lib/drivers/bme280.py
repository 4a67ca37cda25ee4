"""Bosch BME280 (temperature, humidity, pressure) and BMP280 (temperature, pressure) on I2C.

Forced mode: every readout triggers one conversion, waits the datasheet's maximum
measurement time, then reads the data registers. Compensation is Bosch's integer code
(BME280 datasheet §4.2.3 and §8.2; BMP280 datasheet §3.11.3), int64 variant for pressure.

    sensor = BME280(i2c, 0x76)
    t_centi, p_q24_8, h_q22_10 = await sensor.measure()
    temperature, humidity, pressure, chip, address = await sensor.read()
"""

import asyncio
import struct

from micropython import const

from drivers.errors import EIO, ENODEV, ETIMEDOUT, BusyError, SensorError, measured
from drivers.fixed import fixed

_REG_CALIB00 = const(0x88)  # 0x88..0xA1: dig_T1..dig_P9, then dig_H1 at 0xA1
_REG_ID = const(0xD0)
_REG_RESET = const(0xE0)
_REG_CALIB26 = const(0xE1)  # 0xE1..0xE7: dig_H2..dig_H6
_REG_CTRL_HUM = const(0xF2)
_REG_STATUS = const(0xF3)
_REG_CTRL_MEAS = const(0xF4)
_REG_CONFIG = const(0xF5)
_REG_DATA = const(0xF7)  # press[3], temp[3], hum[2]
_RESET_WORD = const(0xB6)
_STATUS_MEASURING = const(0x08)
_STATUS_IM_UPDATE = const(0x01)
_MODE_FORCED = const(0x01)
_SKIPPED = const(0x80000)  # T/P word when skipped, and its reset value (§5.4.5, §5.3)
_OSRS = const(0xFC)  # ctrl_meas osrs_t and osrs_p bits; 0 after a reset (§5.4.5)
_BUSY_POLLS = const(10)
POWER_UP_MS = const(2)  # start-up time, Table 1
_OS_FACTOR = (0, 1, 2, 4, 8, 16, 16, 16)  # osrs_x code -> factor; 101 and others: x16 (§5.4.5)


def probe(i2c, address):
    """'bme280', 'bmp280' or None, from the chip id register."""
    buf = bytearray(1)
    try:
        i2c.readfrom_mem_into(address, _REG_ID, buf)
    except OSError:
        return None
    if buf[0] == 0x60:
        return "bme280"
    if buf[0] in (0x56, 0x57, 0x58):  # 0x56/0x57 are BMP280 samples, 0x58 production parts
        return "bmp280"
    return None


class BME280:
    CHIP = "BME280"
    CHIP_IDS = b"\x60"
    FIELDS = (
        ("Temperature", "numeric", "°C", "momentary"),
        ("Humidity", "numeric", "%", "momentary"),
        ("Pressure", "numeric", "hPa", "momentary"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
    )
    HUMIDITY = True

    def __init__(self, i2c, address=0x76, osrs_t=1, osrs_p=1, osrs_h=1):
        # Codes 0..7, 0 skipping the measurement; temperature gives the t_fine that pressure
        # and humidity are compensated with (§4.2.3), so it cannot be skipped.
        if not (1 <= osrs_t <= 7 and 0 <= osrs_p <= 7 and 0 <= osrs_h <= 7):
            raise ValueError("osrs_t must be 1..7, osrs_p and osrs_h 0..7")
        self._i2c = i2c
        self.address = address
        self._buf = bytearray(26)
        mv = memoryview(self._buf)
        self._one = mv[:1]
        self._data = mv[: 8 if self.HUMIDITY else 6]
        self._osrs_h = osrs_h if self.HUMIDITY else 0
        self._osrs_p = osrs_p
        self._ctrl = (osrs_t << 5) | (osrs_p << 2) | _MODE_FORCED
        # Maximum measurement time, BME280 datasheet §9.1 (µs), rounded up to whole ms.
        us = 1250 + 2300 * _OS_FACTOR[osrs_t]
        if osrs_p:
            us += 2300 * _OS_FACTOR[osrs_p] + 575
        if self._osrs_h:
            us += 2300 * _OS_FACTOR[self._osrs_h] + 575
        self._wait_ms = (us + 999) // 1000
        self._addr_str = "0x%02x" % address
        self._ready = False
        self._t_fine = 0

    async def init(self):
        """Check the chip id, soft-reset, load the calibration words."""
        i2c, a, one = self._i2c, self.address, self._one
        i2c.readfrom_mem_into(a, _REG_ID, one)
        if one[0] not in self.CHIP_IDS:
            raise SensorError(
                ENODEV, "0x%02x: chip id 0x%02x is not a %s" % (a, one[0], self.CHIP)
            )
        one[0] = _RESET_WORD
        i2c.writeto_mem(a, _REG_RESET, one)
        # Start-up time after reset, Table 1; + 1: a sleep may end up to a tick early.
        await asyncio.sleep_ms(POWER_UP_MS + 1)
        await self._until_clear(_STATUS_IM_UPDATE, "NVM copy")  # status.im_update, §5.4.4
        buf = self._buf
        i2c.readfrom_mem_into(a, _REG_CALIB00, buf)
        # dig_T1..T3, dig_P1..P9 (Table 16) in one tuple: a name each would be interned.
        self._cal = c = struct.unpack_from("<HhhHhhhhhhhh", buf)
        if not (c[0] and c[3]):
            # Never 0 on a working part: an NVM that was not copied, whose zeros would give
            # 0.00 °C and 0.00 hPa as readings. The next readout tries the init again.
            raise SensorError(EIO, "0x%02x: %s calibration reads zero" % (a, self.CHIP))
        if self.HUMIDITY:
            h1 = buf[25]
            i2c.readfrom_mem_into(a, _REG_CALIB26, self._data[:7])
            h2, h3, e4, e5, e6, h6 = struct.unpack_from("<hBbBbb", buf)
            # dig_H1..H6; H4 and H5 share a byte (Table 16).
            self._hum = (h1, h2, h3, (e4 << 4) | (e5 & 0x0F), (e6 << 4) | (e5 >> 4), h6)
        one[0] = 0  # config: filter off, standby irrelevant in forced mode
        i2c.writeto_mem(a, _REG_CONFIG, one)
        self._ready = True

    async def _until_clear(self, bit, what):
        """Poll the status register, 1 ms apart, until `bit` clears; BusyError if it never does."""
        i2c, a, one = self._i2c, self.address, self._one
        for _ in range(_BUSY_POLLS):
            i2c.readfrom_mem_into(a, _REG_STATUS, one)
            if not one[0] & bit:
                return
            await asyncio.sleep_ms(1)
        raise BusyError(ETIMEDOUT, "%s at 0x%02x: %s never ends" % (self.CHIP, a, what))

    async def measure(self):
        """One forced conversion: (T in 0.01 °C, P in Pa/256 or None, RH in %/1024 or None)."""
        i2c, a, one = self._i2c, self.address, self._one
        if self._osrs_h:
            one[0] = self._osrs_h  # takes effect with the next ctrl_meas write (§5.4.3)
            i2c.writeto_mem(a, _REG_CTRL_HUM, one)
        one[0] = self._ctrl
        i2c.writeto_mem(a, _REG_CTRL_MEAS, one)
        await asyncio.sleep_ms(self._wait_ms)
        await self._until_clear(_STATUS_MEASURING, "conversion")
        d = self._data
        i2c.readfrom_mem_into(a, _REG_DATA, d)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        if adc_t == _SKIPPED:
            # Also a valid reading (26.46 °C with the datasheet's calibration): only a chip
            # reset since the trigger (ctrl_meas back to 0) makes it the reset value.
            i2c.readfrom_mem_into(a, _REG_CTRL_MEAS, one)
            if one[0] & _OSRS != self._ctrl & _OSRS:
                raise SensorError(ENODEV, "%s at 0x%02x: no conversion result" % (self.CHIP, a))
        t = self.compensate_t(adc_t)
        p = self.compensate_p(adc_p) if self._osrs_p else None
        h = self.compensate_h((d[6] << 8) | d[7]) if self._osrs_h else None
        return t, p, h

    def compensate_t(self, adc_t):
        """Temperature in 0.01 °C; sets t_fine (BME280_compensate_T_int32)."""
        c = self._cal
        t1 = c[0]
        var1 = (((adc_t >> 3) - (t1 << 1)) * c[1]) >> 11
        x = (adc_t >> 4) - t1
        var2 = (((x * x) >> 12) * c[2]) >> 14
        self._t_fine = var1 + var2
        return (self._t_fine * 5 + 128) >> 8

    def compensate_p(self, adc_p):
        """Pressure in Pa as Q24.8 (BME280_compensate_P_int64); call compensate_t first."""
        c = self._cal  # dig_P1 is c[3], ... dig_P9 c[11]
        var1 = self._t_fine - 128000
        var2 = var1 * var1 * c[8]
        var2 += (var1 * c[7]) << 17
        var2 += c[6] << 35
        var1 = ((var1 * var1 * c[5]) >> 8) + ((var1 * c[4]) << 12)
        var1 = (((1 << 47) + var1) * c[3]) >> 33
        if var1 == 0:
            # The reference code returns 0 here, which would go out as 0.00 hPa.
            raise SensorError(EIO, "%s: pressure cannot be compensated" % self.CHIP)
        p = 1048576 - adc_p
        n = ((p << 31) - var2) * 3125
        # C division truncates toward zero; Python's // floors.
        p = n // var1 if (n >= 0) == (var1 > 0) else -(-n // var1)
        var1 = (c[11] * (p >> 13) * (p >> 13)) >> 25
        var2 = (c[10] * p) >> 19
        return ((p + var1 + var2) >> 8) + (c[9] << 4)

    def compensate_h(self, adc_h):
        """Relative humidity in %/1024 (bme280_compensate_H_int32); call compensate_t first."""
        h1, h2, h3, h4, h5, h6 = self._hum
        v = self._t_fine - 76800
        a = (((adc_h << 14) - (h4 << 20) - (h5 * v)) + 16384) >> 15
        b = (((v * h6) >> 10) * (((v * h3) >> 11) + 32768)) >> 10
        v = a * (((b + 2097152) * h2 + 8192) >> 14)
        v -= ((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4
        v = 0 if v < 0 else v
        v = 419430400 if v > 419430400 else v
        return v >> 12

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        t, p, h = await measured(self)
        t = fixed(t, 100, 2)
        p = None if p is None else fixed(p, 25600, 2)  # None: skipped (osrs_p = 0)
        if self.HUMIDITY:
            h = None if h is None else fixed(h, 1024, 2)
            return t, h, p, self.CHIP, self._addr_str
        return t, p, self.CHIP, self._addr_str


class BMP280(BME280):
    CHIP = "BMP280"
    CHIP_IDS = b"\x56\x57\x58"
    FIELDS = (  # type: ignore[assignment]  # fewer fields than BME280's
        ("Temperature", "numeric", "°C", "momentary"),
        ("Pressure", "numeric", "hPa", "momentary"),
        ("Chip", "string", "", "identity"),
        ("Address", "string", "", "identity"),
    )
    HUMIDITY = False

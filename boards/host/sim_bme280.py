"""Simulated Bosch BME280 / BMP280: register map, calibration NVM, forced-mode conversions.

The simulator inverts the compensation: from the physical temperature, pressure and humidity
it finds the raw ADC words whose compensated values (the datasheet's floating-point formulas,
§8.1, written independently of the driver's integer code) come closest, at the resolution the
oversampling setting gives. A conversion takes the typical measurement time (§9.1); until
then `status.measuring` is set and the data registers hold the previous result. After power-on
or a soft reset the calibration words take 2 ms to appear, `status.im_update` set meanwhile.
"""

import struct

from sim_i2c import SimChip, now_us, since_us
from sim_physics import Environment

# Calibration words: T and P are the BMP280 datasheet's worked example (§3.12); the
# humidity words are those of a production BME280.
CAL_TP = (27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
CAL_H = (75, 362, 0, 313, 50, 30)
_OS = (0, 1, 2, 4, 8, 16)
NVM_COPY_US = 2000  # start-up time after power-on or soft reset, Table 1
DEFAULTS = {"temperature": 21.5, "humidity": 45.0, "pressure": 1013.25}


def _search(f, lo, hi, target, increasing):
    """Smallest k in [lo, hi) with f(k) at or past target (binary search), or its neighbour."""
    a, b = lo, hi - 1
    while a < b:
        m = (a + b) // 2
        v = f(m)
        if (v >= target) if increasing else (v <= target):
            b = m
        else:
            a = m + 1
    if a > lo and abs(f(a - 1) - target) < abs(f(a) - target):
        return a - 1
    return a


class SimBME280(SimChip):
    CHIP_ID = 0x60
    HUMIDITY = True

    def __init__(self, address=0x76, env=None):
        self.env = Environment(DEFAULTS, env)
        self.conversions = 0
        super().__init__(address)

    def power_on(self):
        r = self.regs = bytearray(256)
        r[0xD0] = self.CHIP_ID
        r[0xF7:0xFF] = b"\x80\x00\x00\x80\x00\x00\x80\x00"  # reset values: no result yet
        self.ptr = 0
        self._start = None
        # The calibration words reach the image registers by an NVM copy, with status.im_update
        # set meanwhile (§5.4.4); they read zero until it ends.
        r[0xF3] = 0x01
        self._nvm_at = now_us()

    def _copy_nvm(self):
        r = self.regs
        r[0x88:0xA0] = struct.pack("<HhhHhhhhhhhh", *CAL_TP)
        if self.HUMIDITY:
            h1, h2, h3, h4, h5, h6 = CAL_H
            r[0xA1] = h1
            r[0xE1:0xE4] = struct.pack("<hB", h2, h3)
            r[0xE4] = (h4 >> 4) & 0xFF
            r[0xE5] = (h4 & 0x0F) | ((h5 & 0x0F) << 4)
            r[0xE6] = (h5 >> 4) & 0xFF
            r[0xE7] = h6 & 0xFF
        r[0xF3] &= ~0x01

    # -- bus side --
    def write(self, data, stop):
        self._update()
        if not data:
            return
        # (register, value) pairs; a lone register byte sets the read pointer (§6.2.1).
        for i in range(0, len(data) - 1, 2):
            self._write_reg(data[i], data[i + 1])
        self.ptr = data[-1] if len(data) & 1 else data[-2]

    def read(self, buf):
        self._update()
        r = self.regs
        for i in range(len(buf)):
            buf[i] = r[self.ptr]
            self.ptr = (self.ptr + 1) & 0xFF

    def _write_reg(self, reg, value):
        if reg == 0xE0:
            if value == 0xB6:
                self.power_on()  # the complete power-on reset, NVM copy included (§5.4.2)
        elif reg in (0xF2, 0xF5):
            self.regs[reg] = value
        elif reg == 0xF4:
            self.regs[reg] = value
            if value & 0x03 in (1, 2):
                self._begin()

    # -- conversion --
    def _begin(self):
        r = self.regs
        self._osrs = ((r[0xF4] >> 5) & 7, (r[0xF4] >> 2) & 7, r[0xF2] & 7 if self.HUMIDITY else 0)
        t, p, h = (_OS[min(x, 5)] for x in self._osrs)
        us = 1000 + 2000 * t + (2000 * p + 500 if p else 0) + (2000 * h + 500 if h else 0)
        self._dur_us = us  # typical measurement time, §9.1
        self._start = now_us()
        r[0xF3] |= 0x08

    def _update(self):
        if self._nvm_at is not None and since_us(self._nvm_at) >= NVM_COPY_US:
            self._nvm_at = None
            self._copy_nvm()
        if self._start is None or self.stuck_busy or since_us(self._start) < self._dur_us:
            return
        self._start = None
        self.conversions += 1
        r = self.regs
        adc_t, adc_p, adc_h = self.raw_values(*self._osrs)
        r[0xFA], r[0xFB], r[0xFC] = adc_t >> 12, (adc_t >> 4) & 0xFF, (adc_t & 0xF) << 4
        r[0xF7], r[0xF8], r[0xF9] = adc_p >> 12, (adc_p >> 4) & 0xFF, (adc_p & 0xF) << 4
        if self.HUMIDITY:
            r[0xFD], r[0xFE] = adc_h >> 8, adc_h & 0xFF
        r[0xF3] &= ~0x08
        r[0xF4] &= ~0x03  # back to sleep mode after a forced conversion

    def raw_values(self, os_t=1, os_p=1, os_h=1):
        """Raw ADC words for the present environment: the compensation, inverted."""
        env = self.env
        adc_t = adc_p = 0x80000
        adc_h = 0x8000
        tf = 0.0
        if os_t:
            shift = 20 - (15 + min(os_t, 5))  # x1: 16 bits ... x16: 20 bits
            k = _search(
                lambda k: self.t_fine(k << shift) / 5120.0,
                0,
                1 << (20 - shift),
                env["temperature"],
                True,
            )
            adc_t = k << shift
            tf = self.t_fine(adc_t)
        if os_p:
            shift = 20 - (15 + min(os_p, 5))
            k = _search(
                lambda k: self.pressure(k << shift, tf),
                0,
                1 << (20 - shift),
                env["pressure"] * 100,
                False,
            )
            adc_p = k << shift
        if os_h and self.HUMIDITY:
            adc_h = _search(lambda k: self.humidity(k, tf), 0, 1 << 16, env["humidity"], True)
        return adc_t, adc_p, adc_h

    # Floating-point compensation, BME280 datasheet §8.1.
    def t_fine(self, adc_t):
        t1, t2, t3 = CAL_TP[:3]
        v1 = (adc_t / 16384.0 - t1 / 1024.0) * t2
        x = adc_t / 131072.0 - t1 / 8192.0
        return v1 + x * x * t3

    def pressure(self, adc_p, tf):
        p1, p2, p3, p4, p5, p6, p7, p8, p9 = CAL_TP[3:]
        v1 = tf / 2.0 - 64000.0
        v2 = v1 * v1 * p6 / 32768.0
        v2 = v2 + v1 * p5 * 2.0
        v2 = v2 / 4.0 + p4 * 65536.0
        v1 = (p3 * v1 * v1 / 524288.0 + p2 * v1) / 524288.0
        v1 = (1.0 + v1 / 32768.0) * p1
        if v1 == 0:
            return 0.0
        p = 1048576.0 - adc_p
        p = (p - v2 / 4096.0) * 6250.0 / v1
        v1 = p9 * p * p / 2147483648.0
        v2 = p * p8 / 32768.0
        return p + (v1 + v2 + p7) / 16.0

    def humidity(self, adc_h, tf):
        h1, h2, h3, h4, h5, h6 = CAL_H
        v = tf - 76800.0
        v = (adc_h - (h4 * 64.0 + h5 / 16384.0 * v)) * (
            h2 / 65536.0 * (1.0 + h6 / 67108864.0 * v * (1.0 + h3 / 67108864.0 * v))
        )
        v = v * (1.0 - h1 * v / 524288.0)
        return min(max(v, 0.0), 100.0)


class SimBMP280(SimBME280):
    CHIP_ID = 0x58
    HUMIDITY = False

    def __init__(self, address=0x76, env=None):
        super().__init__(address, env)

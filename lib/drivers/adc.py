"""One channel of the MCU's own ADC, as a voltage with the divider in front of the pin.

The board creates `machine.ADC(pin, atten=...)` with the attenuation passed explicitly (the
default changed in MicroPython 1.26) and passes the same attenuation here. Readouts average
`samples` calls of the port's calibrated `read_uv()`, scale by the divider ratio, and give
volts to the decimal place of one ADC step (12 bits over the attenuation's input range).

    channel = ADCChannel(machine.ADC(machine.Pin(34), atten=3), atten=3, divider=(2, 1))
    uv = channel.read_uv()
    voltage, pin, attenuation = await channel.read()
"""

import asyncio

from drivers.fixed import div_round, fixed

ATTENUATION = ("0dB", "2.5dB", "6dB", "11dB")
# Usable input range per attenuation in mV (ESP-IDF ADC docs, ESP32); only the decimals of the
# published value depend on it.
FULL_SCALE_MV = (950, 1250, 1750, 2450)
_POWERS = (1, 10, 100, 1000, 10000, 100000, 1000000)
MAX_SAMPLES = 64  # 64 * 3.3e6 µV * divider stays a small int on a 32-bit port


class ADCChannel:
    FIELDS = (
        ("Voltage", "numeric", "V", "momentary"),
        ("Pin", "string", "", "identity"),
        ("Attenuation", "string", "", "status"),
    )

    def __init__(self, adc, atten, pin=None, divider=(1, 1), samples=16, full_scale_mv=None):
        if not 1 <= samples <= MAX_SAMPLES:
            raise ValueError("samples must be 1..%d" % MAX_SAMPLES)
        self._adc = adc
        adc.atten(atten)
        self.atten = ATTENUATION[atten]
        self.pin = None if pin is None else "GPIO%d" % pin
        self._num, self._den = divider
        self._samples = samples
        fs = full_scale_mv or FULL_SCALE_MV[atten]
        step_uv = fs * 1000 * self._num // (4096 * self._den)
        p = 0
        while p < 4 and _POWERS[6 - p] > step_uv:
            p += 1
        self.places = p

    def read_uv(self):
        """Average of the calibrated pin voltage in µV (before the divider)."""
        total = 0
        adc = self._adc
        for _ in range(self._samples):
            total += adc.read_uv()
        return div_round(total, self._samples)

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        total = 0
        adc = self._adc
        n = self._samples
        for i in range(n):
            total += adc.read_uv()
            if i & 15 == 15:
                await asyncio.sleep_ms(0)  # let the loop run between bursts
        p = self.places
        units = div_round(total * self._num, n * self._den * _POWERS[6 - p])
        return fixed(units, _POWERS[p], p), self.pin, self.atten


def nodes(entries, make_adc):
    """[(node_id, ADCChannel)] for channel entries of a board or its config.

    An entry is {"pin": 34, "atten": 3 or "11dB", "divider": [2, 1], "samples": 16,
    "node": "vbat", "full_scale_mv": 3100}; only "pin" is required, the node id defaults to
    "adc-<pin>", the full scale to the original ESP32's range for the attenuation.
    make_adc(entry, atten) returns the port's ADC object, created with that attenuation.
    """
    result = []
    for entry in entries:
        pin = entry["pin"]
        atten = entry.get("atten", 3)
        if isinstance(atten, str):
            atten = ATTENUATION.index(atten)
        divider = entry.get("divider", (1, 1))
        channel = ADCChannel(
            make_adc(entry, atten),
            atten,
            pin,
            (divider[0], divider[1]),
            entry.get("samples", 16),
            entry.get("full_scale_mv"),
        )
        result.append((entry.get("node") or "adc-%d" % pin, channel))
    return result

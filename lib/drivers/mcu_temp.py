"""The MCU's internal temperature sensor.

Pass `esp32.mcu_temperature` where the port has it (ESP32-S2/S3/C3/C6: calibrated, °C), or
`esp32.raw_temperature` on the original ESP32 (uncalibrated, °F, and stuck at 128 on parts
without the sensor, which is reported as a missing value rather than as 53.3 °C).

    sensor = MCUTemperature(raw_temperature=esp32.raw_temperature, chip="ESP32")
    temperature, chip = await sensor.read()
"""

from micropython import const

from drivers.fixed import fixed

_RAW_STUCK = const(128)


class MCUTemperature:
    FIELDS = (
        ("Temperature", "numeric", "°C", "momentary"),
        ("Chip", "string", "", "identity"),
    )

    def __init__(self, mcu_temperature=None, raw_temperature=None, chip="ESP32"):
        if mcu_temperature is None and raw_temperature is None:
            raise ValueError("no temperature source")
        self._mcu = mcu_temperature
        self._raw = raw_temperature
        self.chip = chip

    async def read(self):
        """XEP-0323 readout: values in FIELDS order."""
        if self._mcu is not None:
            return fixed(round(self._mcu() * 10), 10, 1), self.chip
        raw = self._raw()
        if raw == _RAW_STUCK:
            return None, self.chip
        # 1 °F steps are 0.56 °C: one decimal.
        return fixed((raw - 32) * 5, 9, 1), self.chip

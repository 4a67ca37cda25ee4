"""Espressif ESP32-C3-DevKitM-1: the board interface of boards/host/board.py (NAME, CHIP,
nodes(config), led(config)).

I2C0 on SCL GPIO5 / SDA GPIO4 at 400 kHz (config "soft_i2c": true uses SoftI2C); one ADC
channel on GPIO3 (ADC1_CH3) at 11 dB (0-2.5 V on the C3) behind a 2:1 divider; the MCU
temperature from esp32.mcu_temperature() (calibrated, °C). The status LED is the WS2812 on
GPIO8, lit dim white.
Expected sensors: an SHT4x at 0x44 and an SCD4x at 0x62. ADC2 (GPIO5) is not used:
its readings are unreliable on the C3 (errata).
"""

from drivers import adc, detect
from drivers.mcu_temp import MCUTemperature

NAME = "ESP32-C3-DevKitM-1"
CHIP = "ESP32-C3"
SAFE_PIN = 9  # the BOOT button: held at reset, the firmware skips autostart
I2C_ID = 0
SCL = 5
SDA = 4
FREQ = 400_000
ADC_CHANNELS = ({"pin": 3, "atten": 3, "divider": (2, 1), "full_scale_mv": 2500},)
LED_PIN = 8
EXPECTED = ("sht4x-44", "scd4x-62")


def buses(config):
    import machine

    if config.get("soft_i2c"):
        return [machine.SoftI2C(scl=machine.Pin(SCL), sda=machine.Pin(SDA), freq=FREQ)]
    return [machine.I2C(I2C_ID, scl=machine.Pin(SCL), sda=machine.Pin(SDA), freq=FREQ)]


def nodes(config):
    import esp32
    import machine

    def make_adc(entry, atten):
        return machine.ADC(machine.Pin(entry["pin"]), atten=atten)

    result = detect.nodes(buses(config), config)
    result += adc.nodes(config.get("adc") or ADC_CHANNELS, make_adc)
    if config.get("mcu", True):
        # Looked up by name: the function is missing from firmware built without it (and
        # from the original ESP32's stubs); then the raw °F reading is used.
        read = getattr(esp32, "mcu_temperature", None)
        if read is None:
            device = MCUTemperature(raw_temperature=esp32.raw_temperature, chip=CHIP)
        else:
            device = MCUTemperature(mcu_temperature=read, chip=CHIP)
        result.append(("mcu", device))
    return result


class RGBStatus:
    """The addressable LED as an on/off status light with a Pin-like value()."""

    def __init__(self, pin):
        import machine
        import neopixel

        self._np = neopixel.NeoPixel(machine.Pin(pin), 1)
        self._on = 0
        self.value(0)

    def value(self, v=None):
        if v is None:
            return self._on
        self._on = 1 if v else 0
        self._np[0] = (16, 16, 16) if self._on else (0, 0, 0)
        self._np.write()
        return None


def led(config):
    return RGBStatus(config.get("led_pin", LED_PIN))

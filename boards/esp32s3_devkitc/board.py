"""Espressif ESP32-S3-DevKitC-1: the board interface of boards/host/board.py (NAME, CHIP,
nodes(config), led(config)).

I2C0 on SCL GPIO9 / SDA GPIO8 at 400 kHz (config "soft_i2c": true uses SoftI2C); one ADC
channel on GPIO1 (ADC1_CH0) at 11 dB (0-3.1 V on the S3) behind a 2:1 divider; the MCU
temperature from esp32.mcu_temperature() (calibrated, °C). The status LED is the WS2812 on
GPIO48 (v1.0 boards; v1.1 moved it to GPIO38: config "led_pin": 38), lit dim white.
Expected sensors: a BME280 at 0x76, an SHT4x at 0x44, a BH1750 at 0x23.
"""

from drivers import adc, detect
from drivers.mcu_temp import MCUTemperature

NAME = "ESP32-S3-DevKitC-1"
CHIP = "ESP32-S3"
SAFE_PIN = 0  # the BOOT button: held at reset, the firmware skips autostart
I2C_ID = 0
SCL = 9
SDA = 8
FREQ = 400_000
ADC_CHANNELS = ({"pin": 1, "atten": 3, "divider": (2, 1), "full_scale_mv": 3100},)
LED_PIN = 48
EXPECTED = ("bme280-76", "sht4x-44", "bh1750-23")


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

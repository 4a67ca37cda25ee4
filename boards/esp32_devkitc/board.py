"""Espressif ESP32-DevKitC V4 (original ESP32, WROOM-32): the board interface of
boards/host/board.py (NAME, CHIP, nodes(config), led(config)).

I2C0 on SCL GPIO22 / SDA GPIO21 at 400 kHz (config "soft_i2c": true uses SoftI2C on the same
pins); one ADC channel on GPIO34 (ADC1) at 11 dB behind a 2:1 divider; the MCU temperature
through esp32.raw_temperature() (°F, uncalibrated). The DevKitC has only a power LED:
config "led_pin" names a GPIO with a LED. Expected sensors: a BME280 at 0x76 and an SHT4x at
0x44, found by detection. ADC2 (GPIO 0, 2, 4, 12-15, 25-27) cannot be read while WiFi is on,
and the firmware always runs WiFi: an ADC entry on those pins raises ConfigError.
"""

from micropython import const

from drivers.errors import ConfigError
from thing import esp32board

NAME = "ESP32-DevKitC"
CHIP = "ESP32"
SAFE_PIN = 0  # the BOOT button: held from just after reset, autostart is skipped
_I2C_ID = const(0)
_SCL = const(22)
_SDA = const(21)
_FREQ = const(400_000)  # Hz
ADC_CHANNELS = ({"pin": 34, "atten": 3, "divider": (2, 1)},)
LED_PIN = None
ADC1_GPIOS = (32, 33, 34, 35, 36, 39)  # GPIO37/38 are not brought out on a WROOM-32
ADC2_GPIOS = (0, 2, 4, 12, 13, 14, 15, 25, 26, 27)
I2C_PINS = esp32board.i2c_pins(_SCL, _SDA)
# Pins a status LED must not take: GPIO6-11 run the module's SPI flash (ESP32-WROOM-32
# datasheet, pin definitions: driving one crashes the chip), GPIO34-39 are input only (ESP32
# datasheet, table "Pin Description"), GPIO1/3 are UART0 with the REPL.
RESERVED = dict(I2C_PINS)
RESERVED.update({0: "the BOOT button", 1: "the REPL's UART", 3: "the REPL's UART"})
RESERVED.update((g, "the SPI flash") for g in range(6, 12))
RESERVED.update((g, "input only") for g in range(34, 40))


def check_adc_pin(pin):
    """Refuse a pin the ESP32 cannot sample while WiFi is on (the firmware always runs it)."""
    if pin in ADC2_GPIOS:
        raise ConfigError(
            "GPIO%d is on ADC2, which the ESP32 cannot read while WiFi is on; "
            "use an ADC1 pin (GPIO32-36, 39)" % pin
        )
    esp32board.require_adc1(pin, ADC1_GPIOS, CHIP)
    esp32board.require_free(pin, I2C_PINS, "adc")


def buses(config):
    return esp32board.i2c_buses(config, _I2C_ID, _SCL, _SDA, _FREQ)


def check(config):
    """The pins nodes() and led() would refuse, checked without hardware (tools/deploy.py)."""
    esp32board.check(config, ADC_CHANNELS, check_adc_pin, LED_PIN, RESERVED)


def nodes(config):
    return esp32board.nodes(config, buses, ADC_CHANNELS, CHIP, check_adc_pin, raw_mcu=True)


def led(config):
    return esp32board.pin_led(esp32board.led_pin(config, LED_PIN, ADC_CHANNELS, RESERVED))

"""Espressif ESP32-S3-DevKitC-1: the board interface of boards/host/board.py (NAME, CHIP,
nodes(config), led(config)).

I2C0 on SCL GPIO9 / SDA GPIO8 at 400 kHz (config "soft_i2c": true uses SoftI2C); one ADC
channel on GPIO1 (ADC1_CH0) at 11 dB (0-3.1 V on the S3) behind a 2:1 divider; the MCU
temperature from esp32.mcu_temperature() (calibrated, °C). The status LED is the WS2812 on
GPIO48 (v1.0 boards; v1.1 moved it to GPIO38: config "led_pin": 38), lit dim white.
Expected sensors: a BME280 at 0x76, an SHT4x at 0x44, a BH1750 at 0x23. ADC entries must
be on ADC1 (GPIO1-10): ADC2 cannot be read while WiFi is on.
"""

from micropython import const

from thing import esp32board

NAME = "ESP32-S3-DevKitC-1"
CHIP = "ESP32-S3"
SAFE_PIN = 0  # the BOOT button: held from just after reset, autostart is skipped
_I2C_ID = const(0)
_SCL = const(9)
_SDA = const(8)
_FREQ = const(400_000)  # Hz
ADC_CHANNELS = ({"pin": 1, "atten": 3, "divider": (2, 1), "full_scale_mv": 3100},)
LED_PIN = 48
ADC1_GPIOS = tuple(range(1, 11))  # ADC1_CH0-9; ADC2 is GPIO11-20
I2C_PINS = esp32board.i2c_pins(_SCL, _SDA)
# Pins a status LED must not take: GPIO26-32 run the module's SPI flash and PSRAM
# (ESP32-S3-WROOM-1 datasheet, pin definitions), and GPIO33-37 (SPIIO4-7 and SPIDQS) the octal
# PSRAM or flash of R8 and WROOM-2 modules (ESP32-S3-DevKitC-1 user guide, note on GPIO35-37);
# GPIO43/44 are UART0 and GPIO19/20 USB, the two ports the REPL is on.
RESERVED = dict(I2C_PINS)
RESERVED.update({0: "the BOOT button", 19: "USB", 20: "USB"})
RESERVED.update({43: "the REPL's UART", 44: "the REPL's UART"})
RESERVED.update((g, "the SPI flash") for g in range(26, 33))
RESERVED.update((g, "the octal PSRAM/flash of R8 and WROOM-2 modules") for g in range(33, 38))


def buses(config):
    return esp32board.i2c_buses(config, _I2C_ID, _SCL, _SDA, _FREQ)


def check_adc_pin(pin):
    esp32board.require_adc1(pin, ADC1_GPIOS, CHIP)
    esp32board.require_free(pin, I2C_PINS, "adc")


def check(config):
    """The pins nodes() and led() would refuse, checked without hardware (tools/deploy.py)."""
    esp32board.check(config, ADC_CHANNELS, check_adc_pin, LED_PIN, RESERVED)


def nodes(config):
    return esp32board.nodes(config, buses, ADC_CHANNELS, CHIP, check_adc_pin)


def led(config):
    return esp32board.RGBStatus(esp32board.led_pin(config, LED_PIN, ADC_CHANNELS, RESERVED))

"""Espressif ESP32-C3-DevKitM-1: the board interface of boards/host/board.py (NAME, CHIP,
nodes(config), led(config)).

I2C0 on SCL GPIO5 / SDA GPIO4 at 400 kHz (config "soft_i2c": true uses SoftI2C); one ADC
channel on GPIO3 (ADC1_CH3) at 11 dB (0-2.5 V on the C3) behind a 2:1 divider; the MCU
temperature from esp32.mcu_temperature() (calibrated, °C). The status LED is the WS2812 on
GPIO8, lit dim white.
Expected sensors: an SHT4x at 0x44 and an SCD4x at 0x62. ADC entries must be on ADC1
(GPIO0-4): ADC2 (GPIO5) gives unreliable readings on the C3 (errata).
"""

from micropython import const

from thing import esp32board

NAME = "ESP32-C3-DevKitM-1"
CHIP = "ESP32-C3"
SAFE_PIN = 9  # the BOOT button: held from just after reset, autostart is skipped
_I2C_ID = const(0)
_SCL = const(5)
_SDA = const(4)
_FREQ = const(400_000)  # Hz
ADC_CHANNELS = ({"pin": 3, "atten": 3, "divider": (2, 1), "full_scale_mv": 2500},)
LED_PIN = 8
ADC1_GPIOS = (0, 1, 2, 3, 4)  # ADC1_CH0-4 (GPIO4 is SDA here); ADC2 (GPIO5) is unusable (errata)
I2C_PINS = esp32board.i2c_pins(_SCL, _SDA)
# Pins a status LED must not take: GPIO12-17 run the SPI flash (ESP32-C3 datasheet, pin
# overview), GPIO20/21 are UART0 and GPIO18/19 USB, the two ports the REPL is on.
RESERVED = dict(I2C_PINS)
RESERVED.update({9: "the BOOT button", 18: "USB", 19: "USB"})
RESERVED.update({20: "the REPL's UART", 21: "the REPL's UART"})
RESERVED.update((g, "the SPI flash") for g in range(12, 18))


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

"""What the ESP32 board definitions share: the I2C bus, ADC channels, the MCU temperature
node, and the status LED. `machine`, `esp32` and `neopixel` are imported inside the
functions: only a real board calls them. So is `drivers.detect`, needed only at boot
(thing.startup.forget drops it once the nodes are made)."""

from drivers import adc
from drivers.errors import ConfigError
from drivers.mcu_temp import MCUTemperature


def i2c_buses(config, i2c_id, scl, sda, freq):
    """The board's I2C bus: hardware I2C, or SoftI2C on the same pins ("soft_i2c": true)."""
    import machine

    if config.get("soft_i2c"):
        return [machine.SoftI2C(scl=machine.Pin(scl), sda=machine.Pin(sda), freq=freq)]
    return [machine.I2C(i2c_id, scl=machine.Pin(scl), sda=machine.Pin(sda), freq=freq)]


def nodes(config, buses, adc_channels, chip, check_adc_pin=None, raw_mcu=False):
    """Detected I2C sensors, then the ADC channels, then the MCU temperature.

    `buses(config)` makes the I2C buses; it is called only after the ADC pins passed
    `check_adc_pin`, so a bad config is refused before any hardware is touched. `raw_mcu`:
    the chip has only esp32.raw_temperature() (the original ESP32).
    """
    import esp32
    import machine

    channels = checked_adc(config, adc_channels, check_adc_pin)

    from drivers import detect

    def make_adc(entry, atten):
        return machine.ADC(machine.Pin(entry["pin"]), atten=atten)

    result = detect.nodes(buses(config), config)
    result += adc.nodes(channels, make_adc)
    if config.get("mcu", True):
        # Looked up by name: a firmware without mcu_temperature() falls back to the raw °F
        # reading, as the original ESP32 always does; raw_temperature() exists only in
        # builds for the original ESP32, so an S2/S3/C3 build with neither has no MCU node.
        read = None if raw_mcu else getattr(esp32, "mcu_temperature", None)
        raw = getattr(esp32, "raw_temperature", None)
        if read is not None:
            result.append(("mcu", MCUTemperature(mcu_temperature=read, chip=chip)))
        elif raw is not None:
            result.append(("mcu", MCUTemperature(raw_temperature=raw, chip=chip)))
    return result


def checked_adc(config, default, check_adc_pin=None):
    """The ADC channels of `config` (`adc`, else the board's `default`), each pin passed to
    `check_adc_pin`, which raises ConfigError for one the board cannot sample; one
    ConfigError, a refusal an argument, for them all."""
    channels = config.get("adc")
    if channels is None:
        channels = default  # an empty list is no channel, not the board's
    if check_adc_pin is not None:
        found = _refusals(check_adc_pin, _pins(channels))
        if found:
            raise ConfigError(*found)
    return channels


def check(config, adc_channels, check_adc_pin, led_default, reserved):
    """Raise one ConfigError, a sentence an argument, for every pin of `config` that nodes()
    and led_pin() refuse, touching no hardware: a board's check(config), which
    tools/deploy.py runs before it writes a config to a board, beside thing.config.check."""
    channels = config.get("adc")
    pins = _pins(adc_channels if channels is None else channels)
    found = _refusals(check_adc_pin, pins)
    led = config.get("led_pin")
    if led is None:
        led = led_default  # a null is absent: thing.config.load drops it on the board
    if type(led) is int:
        try:
            require_free(led, _used(reserved, pins), "led_pin")
        except ConfigError as e:
            found.append(str(e))
    if found:
        raise ConfigError(*found)


def _pins(channels):
    """The GPIOs of ADC `channels`. An entry without a whole-number pin is thing.config's to
    report; skipped here, so that a config with problems of its own is checked too."""
    if not isinstance(channels, (list, tuple)):
        return []
    return [e["pin"] for e in channels if isinstance(e, dict) and type(e.get("pin")) is int]


def _refusals(test, pins):
    """What `test(pin)` refuses of `pins`, as sentences: every refusal, not the first."""
    found = []
    for pin in pins:
        try:
            test(pin)
        except ConfigError as e:
            found.append(str(e))
    return found


def _used(reserved, adc_pins):
    used = dict(reserved)
    for pin in adc_pins:
        used[pin] = "an ADC channel"
    return used


def require_adc1(pin, adc1_gpios, chip):
    """Refuse an ADC channel outside ADC1: the ESP32 family reads ADC2 through the WiFi
    driver's arbiter, so with WiFi on every ADC2 read fails (and the C3's ADC2 is unusable)."""
    if pin not in adc1_gpios:
        raise ConfigError(
            "GPIO%d is not an ADC1 pin of the %s; use one of GPIO%s"
            % (pin, chip, ", ".join(str(g) for g in adc1_gpios))
        )


def i2c_pins(scl, sda):
    """{GPIO: role} of the I2C bus: pins no ADC channel or LED may take."""
    return {scl: "the I2C SCL", sda: "the I2C SDA"}


def led_pin(config, default, adc_channels, reserved):
    """The status LED's GPIO (`led_pin`, else the board's `default`), refused when the board
    uses it already: `reserved` ({GPIO: role}: flash, UART, BOOT, I2C) or an ADC channel."""
    pin = config.get("led_pin", default)
    if pin is not None:
        channels = config.get("adc")
        require_free(
            pin, _used(reserved, _pins(adc_channels if channels is None else channels)), "led_pin"
        )
    return pin


def require_free(pin, used, what):
    """Refuse `pin` for `what` when `used` ({GPIO: role}) gives it a role already."""
    role = used.get(pin)
    if role is not None:
        raise ConfigError("%s: GPIO%d is %s on this board; use another pin" % (what, pin, role))


def pin_led(pin):
    """A plain LED on `pin`, or None when the board has none."""
    if pin is None:
        return None
    import machine

    return machine.Pin(pin, machine.Pin.OUT, value=0)


class RGBStatus:
    """An addressable WS2812 as an on/off status light with a Pin-like value()."""

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
        self._np[0] = (16, 16, 16) if self._on else (0, 0, 0)  # dim white: easy on the eye
        self._np.write()
        return None

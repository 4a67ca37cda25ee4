# The ESP32 boards, built on the unix port with stand-ins for machine, esp32 and neopixel.
import sys

from sim_adc import SimADC
from sim_bme280 import SimBME280
from sim_i2c import SimI2C
from sim_sht4x import SimSHT4x

from drivers.errors import ConfigError

HEAPSIZE = "160k"  # the board and its drivers compiled from source, with margin

CALLS = []


class FakeMachine:
    class Pin:
        OUT = 1

        def __init__(self, n, mode=None, value=None):
            self.n = n
            CALLS.append(("Pin", n))

        def value(self, v=None):
            return 0

    class I2C:
        def __new__(cls, ident, scl=None, sda=None, freq=None):
            CALLS.append(("I2C", ident, scl.n, sda.n, freq))
            return SimI2C(SimBME280(0x76), SimSHT4x(0x44))

    class SoftI2C:
        def __new__(cls, scl=None, sda=None, freq=None):
            CALLS.append(("SoftI2C", scl.n, sda.n, freq))
            return SimI2C()

    class ADC:
        ATTN_11DB = 3

        def __new__(cls, pin, atten=None):
            CALLS.append(("ADC", pin.n, atten))
            return SimADC({"voltage": 4.1}, (2, 1))


class FakeEsp32:
    @staticmethod
    def raw_temperature():
        return 106

    @staticmethod
    def mcu_temperature():
        return 38.5


class FakeNeoPixel:
    class NeoPixel:
        def __init__(self, pin, n):
            self.px = [None] * n

        def __setitem__(self, i, v):
            self.px[i] = v

        def write(self):
            CALLS.append(("np", self.px[0]))


def load(name):
    sys.modules["machine"] = FakeMachine
    sys.modules["esp32"] = FakeEsp32
    sys.modules["neopixel"] = FakeNeoPixel
    sys.path.insert(0, "boards/" + name)
    import board

    return board


async def test_devkitc_builds_i2c_adc_and_raw_mcu_nodes():
    board = load("esp32_devkitc")
    pairs = board.nodes({})
    assert [nid for nid, _ in pairs] == ["sht4x-44", "bme280-76", "adc-34", "mcu"]
    assert ("I2C", 0, 22, 21, 400_000) in CALLS
    assert ("ADC", 34, 3) in CALLS  # attenuation passed explicitly
    assert (await pairs[-1][1].read()) == ("41.1", "ESP32")
    assert abs(float((await pairs[2][1].read())[0]) - 4.1) <= 0.0015


def test_devkitc_refuses_adc2_pins_which_wifi_keeps_busy():
    board = load("esp32_devkitc")
    try:
        board.nodes({"adc": [{"pin": 25}]})
    except ConfigError as e:
        assert "ADC2" in str(e) and "GPIO25" in str(e)
    else:
        raise AssertionError("ADC2 accepted with WiFi on")
    assert not [c for c in CALLS if c[0] == "I2C"]  # refused before touching hardware


def test_devkitc_refuses_pins_without_adc():
    board = load("esp32_devkitc")
    try:
        board.check_adc_pin(5)
    except ConfigError:
        return
    raise AssertionError("accepted")


def test_mcu_false_leaves_out_the_mcu_node():
    board = load("esp32_devkitc")
    assert [nid for nid, _ in board.nodes({"mcu": False})] == ["sht4x-44", "bme280-76", "adc-34"]


def test_devkitc_has_no_status_led_unless_configured():
    board = load("esp32_devkitc")
    assert board.led({}) is None
    assert board.led({"led_pin": 2}) is not None


async def test_s3_uses_the_calibrated_mcu_sensor_and_rgb_led():
    board = load("esp32s3_devkitc")
    pairs = board.nodes({"soft_i2c": True})
    assert ("SoftI2C", 9, 8, 400_000) in CALLS
    assert [nid for nid, _ in pairs] == ["adc-1", "mcu"]
    assert (await pairs[-1][1].read()) == ("38.5", "ESP32-S3")
    board.led({}).value(1)
    assert CALLS[-1] == ("np", (16, 16, 16))


def test_s3_and_c3_refuse_adc_pins_outside_adc1_before_touching_hardware():
    for name, good, bad in (("esp32s3_devkitc", 10, 11), ("esp32c3", 3, 5)):
        board = load(name)
        del CALLS[:]
        try:
            board.nodes({"adc": [{"pin": bad}]})
        except ConfigError as e:
            assert "GPIO%d is not an ADC1 pin" % bad in str(e), e
        else:
            raise AssertionError("%s accepted ADC2 pin %d" % (name, bad))
        assert not CALLS
        board.nodes({"adc": [{"pin": good}]})
        assert ("ADC", good, 3) in CALLS
        del sys.modules["board"]
        sys.path.pop(0)


def test_devkitc_refuses_gpio37_and_38_which_a_wroom_32_does_not_bring_out():
    board = load("esp32_devkitc")
    for pin in (37, 38):
        try:
            board.check_adc_pin(pin)
        except ConfigError:
            continue
        raise AssertionError("GPIO%d accepted" % pin)


async def test_a_firmware_without_either_temperature_function_has_no_mcu_node():
    class Bare:
        pass

    board = load("esp32s3_devkitc")
    sys.modules["esp32"] = Bare
    assert [nid for nid, _ in board.nodes({"soft_i2c": True})] == ["adc-1"]
    sys.modules["esp32"] = type("OnlyRaw", (), {"raw_temperature": FakeEsp32.raw_temperature})
    pairs = board.nodes({"soft_i2c": True})
    assert [nid for nid, _ in pairs] == ["adc-1", "mcu"]
    assert (await pairs[-1][1].read())[0] == "41.1"


def test_c3_board_pins():
    board = load("esp32c3")
    assert [nid for nid, _ in board.nodes({})] == ["sht4x-44", "bme280-76", "adc-3", "mcu"]
    assert ("I2C", 0, 5, 4, 400_000) in CALLS
    assert board.CHIP == "ESP32-C3"


def test_an_adc_channel_on_an_i2c_pin_is_refused_before_touching_hardware():
    # Making an ADC on SDA or SCL would take the pin from the I2C bus.
    for name, pin in (("esp32c3", 4), ("esp32s3_devkitc", 8), ("esp32s3_devkitc", 9)):
        board = load(name)
        del CALLS[:]
        try:
            board.nodes({"adc": [{"pin": pin}]})
        except ConfigError as e:
            assert "GPIO%d" % pin in str(e) and "I2C" in str(e), e
        else:
            raise AssertionError("%s accepted an ADC on its I2C pin GPIO%d" % (name, pin))
        assert not CALLS
        del sys.modules["board"]
        sys.path.pop(0)


def test_a_status_led_on_a_pin_the_board_already_uses_is_refused():
    # Flash pins crash the chip (on the S3 also GPIO33-37, the octal flash/PSRAM of R8 and
    # WROOM-2 modules); the REPL's UART, the BOOT button, the I2C bus and the ADC channels
    # would stop doing their job.
    cases = (
        ("esp32_devkitc", (6, 11, 1, 3, 0, 21, 22, 34, 36)),
        ("esp32s3_devkitc", (26, 32, 33, 35, 37, 43, 44, 19, 0, 8, 9, 1)),
        ("esp32c3", (12, 17, 20, 21, 18, 9, 4, 5, 3)),
    )
    for name, pins in cases:
        board = load(name)
        for pin in pins:
            del CALLS[:]
            try:
                board.led({"led_pin": pin})
            except ConfigError as e:
                assert "GPIO%d" % pin in str(e), e
            else:
                raise AssertionError("%s accepted led_pin %d" % (name, pin))
            assert not CALLS
        del sys.modules["board"]
        sys.path.pop(0)


def test_a_status_led_on_a_free_pin_is_made():
    for name, pin in (("esp32_devkitc", 2), ("esp32s3_devkitc", 38), ("esp32c3", 8)):
        board = load(name)
        del CALLS[:]
        assert board.led({"led_pin": pin}) is not None
        assert ("Pin", pin) in CALLS
        del sys.modules["board"]
        sys.path.pop(0)


def test_an_empty_adc_list_means_no_adc_channel():
    # "adc" replaces the board's channels; [] must not bring the board's defaults back.
    for name in ("esp32_devkitc", "esp32s3_devkitc", "esp32c3"):
        board = load(name)
        del CALLS[:]
        assert not [nid for nid, _ in board.nodes({"adc": []}) if nid.startswith("adc")]
        assert not [c for c in CALLS if c[0] == "ADC"]
        del sys.modules["board"]
        sys.path.pop(0)


def test_check_refuses_what_nodes_and_led_refuse_and_touches_no_hardware():
    # tools/deploy.py runs check() before it writes a config: it must refuse what the board
    # will, and accept what it will, with nothing but the config.
    cases = (
        ("esp32_devkitc", {"adc": [{"pin": 25}]}, {"led_pin": 2}),
        ("esp32_devkitc", {"led_pin": 34}, {"adc": [], "led_pin": 32}),
        ("esp32s3_devkitc", {"led_pin": 1}, {"led_pin": 38, "adc": [{"pin": 2}]}),
        ("esp32c3", {"adc": [{"pin": 4}]}, {"adc": [{"pin": 2}]}),
    )
    for name, refused, taken in cases:
        board = load(name)
        del CALLS[:]
        for cfg, ok in ((refused, False), (taken, True)):
            try:
                board.check(cfg)
            except ConfigError:
                assert not ok, (name, cfg)
            else:
                assert ok, (name, cfg)
        assert not CALLS
        del sys.modules["board"]
        sys.path.pop(0)

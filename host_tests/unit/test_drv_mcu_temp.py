# The MCU temperature driver with injected esp32 functions.
from drivers.mcu_temp import MCUTemperature


async def test_mcu_temperature_is_published_with_one_decimal():
    assert await MCUTemperature(mcu_temperature=lambda: 41.27, chip="ESP32-S3").read() == (
        "41.3",
        "ESP32-S3",
    )


async def test_raw_fahrenheit_reading_is_converted():
    assert (await MCUTemperature(raw_temperature=lambda: 106).read())[0] == "41.1"
    assert (await MCUTemperature(raw_temperature=lambda: 32).read())[0] == "0.0"


async def test_stuck_raw_value_128_is_missing_not_53_degrees():
    assert (await MCUTemperature(raw_temperature=lambda: 128).read())[0] is None


def test_a_source_is_required():
    try:
        MCUTemperature()
    except ValueError:
        return
    raise AssertionError("accepted")

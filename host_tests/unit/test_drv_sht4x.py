# Sensirion SHT4x driver against the simulated chip.
import time

from drvtest import EarlySleeps, expect, nacked, recording
from sim_i2c import SimI2C
from sim_sht4x import SimSHT4x

from drivers import sht4x
from drivers.errors import CRCError, SensorError
from drivers.sht4x import SHT4x, probe


def setup(**spec):
    chip = SimSHT4x(0x44, spec)
    return SimI2C(chip), chip


async def test_configured_values_and_serial_come_back():
    bus, _ = setup(temperature=19.25, humidity=55.5, serial=0x12345678)
    values = await SHT4x(bus).read()
    assert values == ("19.25", "55.50", "SHT4x", "0x44", "12345678")


async def test_a_part_without_the_serial_number_command_still_measures():
    bus, chip = setup(temperature=19.25, humidity=55.5, serial=None)
    d = SHT4x(bus)
    for _ in range(2):
        assert await d.read() == ("19.25", "55.50", "SHT4x", "0x44", None)
    assert chip.measurements == 2
    chip.unplug()
    await expect(SensorError, d.read())


async def test_humidity_is_clamped_to_0_and_100():
    bus, chip = setup(humidity=110.0)
    d = SHT4x(bus)
    assert (await d.read())[1] == "100.00"
    chip.env.set(humidity=-4.0)
    assert (await d.read())[1] == "0.00"


async def test_medium_precision_publishes_one_humidity_decimal():
    bus, _ = setup(humidity=40.04)
    assert (await SHT4x(bus, precision="medium").read())[1] == "40.0"


def test_reading_before_the_measurement_time_is_nacked():
    bus, _ = setup()
    t0 = time.ticks_us()
    bus.writeto(0x44, b"\xfd")
    assert nacked(bus, 0x44, n=6), "read during conversion was ACKed"
    # Poll as a driver would: the first read that is ACKed comes no sooner than the
    # datasheet's 8.3 ms (a fixed sleep would make the test depend on the host's load).
    while True:
        try:
            data = bus.readfrom(0x44, 6)
            break
        except OSError:
            assert time.ticks_diff(time.ticks_us(), t0) < 5_000_000, "never ready"
            time.sleep_ms(1)
    assert len(data) == 6
    assert time.ticks_diff(time.ticks_us(), t0) >= 8300


def test_serial_number_is_nacked_for_its_10_ms():
    # 0x89 has no duration in the datasheet's tables; Sensirion's own driver waits 10 ms.
    bus, _ = setup()
    bus.writeto(0x44, b"\x89")
    t0 = time.ticks_us()
    assert nacked(bus, 0x44, n=6), "serial number ACKed at once"
    # Poll: the first ACKed read comes no sooner than 10 ms (a fixed sleep would make the
    # test depend on the host's load).
    while nacked(bus, 0x44, n=6):
        assert time.ticks_diff(time.ticks_us(), t0) < 5_000_000, "never ready"
        time.sleep_ms(1)
    assert time.ticks_diff(time.ticks_us(), t0) >= 10_000


async def test_init_waits_for_the_serial_number_even_when_sleeps_end_early():
    bus, _ = setup(serial=0x0A0B0C0D)
    with EarlySleeps(sht4x):
        assert (await SHT4x(bus).read())[4] == "0A0B0C0D"


async def test_corrupt_crc_raises_crc_error():
    bus, chip = setup()
    d = SHT4x(bus)
    await d.read()
    chip.corrupt_crc = True
    await expect(CRCError, d.read())


async def test_unplugged_raises_enodev_and_timeout_raises_etimedout():
    bus, chip = setup()
    d = SHT4x(bus)
    chip.unplug()
    await expect(SensorError, d.read(), 19)
    chip.plug()
    chip.timeout = True
    await expect(SensorError, d.read(), 116)


async def test_stuck_busy_shows_as_a_nack():
    bus, chip = setup()
    d = SHT4x(bus)
    await d.read()
    chip.stuck_busy = True
    await expect(SensorError, d.read(), 19)


async def test_recovers_after_the_chip_comes_back():
    bus, chip = setup(temperature=25.0)
    d = SHT4x(bus)
    await d.read()
    chip.unplug()
    await expect(SensorError, d.read())
    chip.plug()
    assert (await d.read())[0] == "25.00"


def test_probe_identifies_by_serial_number_with_crc():
    bus, chip = setup()
    assert probe(bus, 0x44) == "sht4x"
    chip.corrupt_crc = True
    assert probe(bus, 0x44) is None
    assert probe(bus, 0x45) is None


async def test_a_conversion_ending_just_after_the_wait_still_gives_a_reading():
    # sleep_ms counts whole ticks, so the driver's 9 ms wait may last barely 8 ms: the part
    # then NACKs the read. Model a wait that ends 1.5 ms early: a conversion 1.5 ms longer.
    import sim_sht4x

    saved = sim_sht4x._MEASURE_US[0xFD]
    sim_sht4x._MEASURE_US[0xFD] = 9000 + 1500
    try:
        bus, chip = setup(temperature=21.5)
        values = await SHT4x(bus).read()
    finally:
        sim_sht4x._MEASURE_US[0xFD] = saved
    assert values[0] == "21.50"
    assert chip.measurements == 1  # read again, not measured again


class BadSecondCRC(SimSHT4x):
    """Replies with a good CRC on the first word and a wrong one on the second."""

    def read(self, buf):
        super().read(buf)
        buf[5] ^= 0xFF


async def test_a_bad_crc_on_the_second_word_raises_crc_error():
    await expect(CRCError, SHT4x(SimI2C(BadSecondCRC(0x44))).read())


RecordedSHT4x = recording(SimSHT4x)


async def test_after_a_crc_error_the_next_readout_resets_the_part_first():
    chip = RecordedSHT4x(0x44)
    d = SHT4x(SimI2C(chip))
    await d.read()
    chip.corrupt_crc = True
    await expect(CRCError, d.read())
    chip.corrupt_crc = False
    chip.sent = []
    await d.read()
    assert chip.sent[0] == b"\x94", chip.sent  # soft reset, then serial and measurement

# Sensirion SHT3x driver against the simulated chip.
import time

import sim_sensirion
from drvtest import EarlySleeps, SimClock, expect, nacked
from sim_i2c import SimI2C
from sim_sht3x import SimSHT3x
from sim_sht4x import SimSHT4x

from drivers import sensirion, sht3x
from drivers.errors import CRCError, SensorError
from drivers.sht3x import SHT3x, probe


def setup(**spec):
    chip = SimSHT3x(0x44, spec)
    return SimI2C(chip), chip


async def test_configured_values_status_and_serial_come_back():
    bus, _ = setup(temperature=-10.5, humidity=80.25, serial=0xCAFE0001)
    values = await SHT3x(bus).read()
    assert values == ("-10.50", "80.25", False, False, "SHT3x", "0x44", "CAFE0001")


async def test_a_part_without_the_serial_number_command_still_measures():
    # Some clones (parts sold as SHT30) NACK 0x3780: the serial is left out, not every reading.
    bus, chip = setup(temperature=21.0, humidity=50.0, serial=None)
    d = SHT3x(bus)
    for _ in range(2):
        assert await d.read() == ("21.00", "50.00", False, False, "SHT3x", "0x44", None)
    assert chip.measurements == 2
    chip.unplug()
    await expect(SensorError, d.read())  # absent, the measurement says so


async def test_heater_bit_of_the_status_register_is_reported():
    bus, _ = setup()
    d = SHT3x(bus)
    await d.read()
    time.sleep_us(1000)  # 1 ms after the driver's last command (§4.3), and before its next
    bus.writeto(0x44, b"\x30\x6d")  # heater on
    time.sleep_us(1000)
    assert (await d.read())[2] is True


def test_a_command_within_1_ms_of_the_previous_one_is_nacked():
    # §4.3, Table 9: the part needs at least 1 ms between two commands. The part's time is
    # the test's: on a loaded host more than 1 ms may pass between two lines.
    with SimClock(sim_sensirion) as clock:
        bus, chip = setup()
        bus.writeto(0x44, b"\x30\x41")  # clear status
        clock.us += 999
        assert nacked(bus, 0x44, b"\x37\x80"), "serial number ACKed within 1 ms of a command"
        clock.us += 1
        bus.writeto(0x44, b"\x37\x80")
        assert len(bus.readfrom(0x44, 6)) == 6


async def test_init_and_back_to_back_readouts_keep_commands_1_ms_apart():
    # Reset, clear-status and serial at init; status then the next readout's measurement:
    # each pair 1 ms apart (§4.3), even when every sleep ends a tick early.
    bus, _ = setup(temperature=21.0)
    d = SHT3x(bus)
    with EarlySleeps(sht3x, sensirion):  # the waits between commands live in sensirion
        for _ in range(3):
            assert (await d.read())[0] == "21.00"


def test_single_shot_read_is_nacked_until_done():
    bus, _ = setup()
    bus.writeto(0x44, b"\x24\x00")
    assert nacked(bus, 0x44, n=6), "read during conversion was ACKed"
    time.sleep_ms(16)
    assert len(bus.readfrom(0x44, 6)) == 6


async def test_faults_raise_and_the_driver_recovers():
    bus, chip = setup(temperature=20.0)
    d = SHT3x(bus)
    await d.read()
    chip.corrupt_crc = True
    await expect(CRCError, d.read())
    chip.corrupt_crc = False
    chip.timeout = True
    await expect(SensorError, d.read(), 116)
    chip.timeout = False
    chip.unplug()
    await expect(SensorError, d.read(), 19)
    chip.plug()
    assert (await d.read())[0] == "20.00"


def test_probe_tells_sht3x_from_sht4x_at_the_same_address():
    sht3 = SimI2C(SimSHT3x(0x44))
    sht4 = SimI2C(SimSHT4x(0x44))
    assert probe(sht3, 0x44) == "sht3x"
    assert probe(sht4, 0x44) is None


async def test_the_driver_may_start_right_after_detection_probed_the_part():
    bus, _ = setup(temperature=18.5)
    assert probe(bus, 0x44) == "sht3x"
    assert (await SHT3x(bus).read())[0] == "18.50"  # its reset comes 1 ms after the probe's


async def test_a_conversion_ending_just_after_the_wait_still_gives_a_reading():
    # sleep_ms counts whole ticks, so the driver's wait may end up to 1 ms short: the part
    # then NACKs the read. Model a wait that ends 1.5 ms early: a conversion 1.5 ms longer.
    import sim_sht3x

    saved = sim_sht3x._MEASURE_US[0x2400]
    sim_sht3x._MEASURE_US[0x2400] = 16000 + 1500
    try:
        bus, chip = setup(temperature=21.5)
        values = await SHT3x(bus).read()
    finally:
        sim_sht3x._MEASURE_US[0x2400] = saved
    assert values[0] == "21.50"
    assert chip.measurements == 1  # read again, not measured again


async def test_temperature_divides_by_2_to_the_16_minus_1():
    # §4.13: T = -45 + 175 * S_T / (2^16 - 1): S_T 46356 is 78.78576 °C, "78.79"; over 2^16
    # it would be 78.78454 °C, "78.78".
    bus, _ = setup(temperature=-45 + 175 * 46356 / 65535)
    assert (await SHT3x(bus).read())[0] == "78.79"


class BadStatusCRC(SimSHT3x):
    """Replies to the status command with a wrong CRC; every other reply is good."""

    def read(self, buf):
        super().read(buf)
        if len(buf) == 3:
            buf[2] ^= 0xFF


async def test_a_bad_crc_on_the_status_register_raises_crc_error():
    d = SHT3x(SimI2C(BadStatusCRC(0x44)))
    await expect(CRCError, d.read())


async def test_a_command_sent_over_half_the_tick_period_ago_is_not_waited_for():
    # ticks_diff() reads a send time over half the microsecond period old as in the future;
    # the part is long idle then, and a wait of that span (up to minutes) would stall reads.
    bus, _ = setup()
    d = SHT3x(bus)
    await d.read()
    d._sent_us = time.ticks_add(time.ticks_us(), 60_000_000)
    with SimClock(sim_sensirion, sensirion) as clock:
        await d._settle()
    assert clock.us == 0

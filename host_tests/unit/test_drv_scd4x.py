# Sensirion SCD4x driver against the simulated chip (sample interval shortened where noted).
import time

from drvtest import expect
from sim_i2c import SimI2C
from sim_scd4x import SimSCD4x

from drivers.errors import BusyError, CRCError, SensorError
from drivers.scd4x import SCD4x, probe


def setup(**spec):
    spec.setdefault("interval_ms", 300)
    chip = SimSCD4x(0x62, spec)
    return SimI2C(chip), chip


async def test_first_readout_waits_for_the_real_5_second_sample():
    bus, _ = setup(co2=812, temperature=21.3, humidity=48.2, interval_ms=5000)
    t0 = time.ticks_ms()
    values = await SCD4x(bus).read()
    assert time.ticks_diff(time.ticks_ms(), t0) >= 5000
    assert values[:3] == ("812", "21.3", "48.2")
    assert values[3:5] == ("SCD4x", "0x62")


async def test_serial_number_is_read_with_crc():
    bus, _ = setup(serial=0x0102030405AB)
    assert (await SCD4x(bus).read())[5] == "0102030405AB"


async def test_between_samples_the_newest_sample_is_returned_at_once():
    bus, chip = setup(co2=700)
    d = SCD4x(bus)
    await d.read()
    chip.env.set(co2=900)
    t0 = time.ticks_ms()
    assert (await d.read())[0] == "700"
    assert time.ticks_diff(time.ticks_ms(), t0) < 50
    time.sleep_ms(320)
    assert (await d.read())[0] == "900"


def test_read_measurement_without_new_data_is_nacked():
    bus, _ = setup()
    bus.writeto(0x62, b"\x21\xb1")
    bus.writeto(0x62, b"\xec\x05")
    try:
        bus.readfrom(0x62, 9)
    except OSError as e:
        assert e.errno == 19
    else:
        raise AssertionError("ACKed")


def test_other_commands_are_refused_during_periodic_measurement():
    bus, _ = setup()
    bus.writeto(0x62, b"\x21\xb1")
    try:
        bus.writeto(0x62, b"\x36\x82")
    except OSError as e:
        assert e.errno == 19
    else:
        raise AssertionError("ACKed")


async def test_no_sample_within_an_interval_raises_busy_error():
    bus, chip = setup()
    d = SCD4x(bus)
    d.interval_ms = 300
    await d.read()
    chip.stuck_busy = True
    time.sleep_ms(1400)  # the cached sample is too old now
    await expect(BusyError, d.read(), 116)


async def test_faults_raise_and_periodic_mode_restarts_after_replug():
    bus, chip = setup(co2=650)
    d = SCD4x(bus)
    await d.read()
    chip.corrupt_crc = True
    time.sleep_ms(320)
    await expect(CRCError, d.read())
    chip.corrupt_crc = False
    chip.unplug()
    await expect(SensorError, d.read(), 19)
    chip.plug()
    assert not chip.periodic
    assert (await d.read())[0] == "650"
    assert chip.periodic


def test_probe_stops_periodic_mode_then_reads_the_serial():
    bus, chip = setup()
    bus.writeto(0x62, b"\x21\xb1")
    assert probe(bus, 0x62) == "scd4x"
    assert not chip.periodic

# Sensirion SCD4x driver against the simulated chip (sample interval and power-up time
# shortened where noted).
import time

import sim_scd4x
import sim_sensirion
from drvtest import EarlySleeps, SimClock, expect, nacked
from sim_i2c import SimI2C
from sim_scd4x import SimSCD4x

from drivers import scd4x, sensirion
from drivers.errors import BusyError, CRCError, SensorError
from drivers.scd4x import SCD4x, probe


def setup(**spec):
    """A bus with an SCD4x that has finished powering up, as detection at boot makes sure."""
    spec.setdefault("interval_ms", 300)
    spec.setdefault("power_up_ms", 20)
    chip = SimSCD4x(0x62, spec)
    time.sleep_us(spec["power_up_ms"] * 1000)
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
    with EarlySleeps(scd4x) as sleeps:
        assert (await d.read())[0] == "700"
    assert sleeps.slept == []  # no poll for a new sample
    time.sleep_ms(320)
    assert (await d.read())[0] == "900"


def test_read_measurement_without_new_data_is_nacked():
    bus, _ = setup()
    bus.writeto(0x62, b"\x21\xb1")
    time.sleep_us(1000)
    bus.writeto(0x62, b"\xec\x05")
    time.sleep_us(1000)
    assert nacked(bus, 0x62, n=9)


def test_other_commands_are_refused_during_periodic_measurement():
    bus, _ = setup()
    bus.writeto(0x62, b"\x21\xb1")
    time.sleep_us(1000)
    assert nacked(bus, 0x62, b"\x36\x82")


def test_nothing_is_answered_for_1000_ms_after_power_up():
    # §3.1: the part needs 1000 ms after power-up before it takes commands. The part's time
    # is the test's: a slept 900 ms would be more on a loaded host.
    with SimClock((sim_scd4x, sim_sensirion)) as clock:
        chip = SimSCD4x(0x62)
        bus = SimI2C(chip)
        assert nacked(bus, 0x62, b"\x36\x82") and nacked(bus, 0x62, n=9)
        clock.us += 999_000
        assert nacked(bus, 0x62, b"\x36\x82")
        clock.us += 1000
        assert not nacked(bus, 0x62, b"\x36\x82")
        chip.unplug()
        chip.plug()  # powered again: another 1000 ms
        assert nacked(bus, 0x62, b"\x36\x82")


def test_replies_come_after_the_1_ms_execution_time():
    # Table 9: get_data_ready_status, read_measurement and get_serial_number execute in 1 ms;
    # the part NACKs the read header until then (§3.3). The part's time is the test's: on a
    # loaded host more than 1 ms may pass between a command and the read right after it.
    with SimClock((sim_scd4x, sim_sensirion)) as clock:
        bus = SimI2C(SimSCD4x(0x62, {"interval_ms": 50, "power_up_ms": 20}))
        clock.us += 20_000
        bus.writeto(0x62, b"\x36\x82")
        assert nacked(bus, 0x62, n=9)
        clock.us += 1000
        assert not nacked(bus, 0x62, n=9)
        bus.writeto(0x62, b"\x21\xb1")
        clock.us += 60_000  # a sample waits
        for command, n in ((b"\xe4\xb8", 3), (b"\xec\x05", 9)):
            bus.writeto(0x62, command)
            assert nacked(bus, 0x62, n=n), command
            clock.us += 1000
            assert not nacked(bus, 0x62, n=n), command


async def test_the_driver_waits_the_execution_times_even_when_sleeps_end_early():
    bus, _ = setup(co2=640, interval_ms=100)
    d = SCD4x(bus)
    with EarlySleeps(scd4x, sensirion):  # the waits between commands live in sensirion
        assert (await d.read())[0] == "640"
        time.sleep_ms(110)
        assert (await d.read())[0] == "640"  # data ready, then read_measurement


def test_start_periodic_measurement_after_low_power_mode_samples_every_interval_again():
    # §3.5.1 and §3.8.1: 0x21b1 measures every 5 s (here 100 ms), 0x21ac every 30 s.
    bus, _ = setup(interval_ms=100)
    bus.writeto(0x62, b"\x21\xac")  # low power periodic
    time.sleep_us(1000)
    bus.writeto(0x62, b"\x3f\x86")  # stop: 500 ms
    time.sleep_us(500_000)
    bus.writeto(0x62, b"\x21\xb1")
    time.sleep_us(120_000)
    bus.writeto(0x62, b"\xe4\xb8")
    time.sleep_us(1000)
    status = bus.readfrom(0x62, 3)
    assert (status[0] << 8 | status[1]) & 0x07FF, "no sample after one normal interval"


async def test_no_sample_within_an_interval_raises_busy_error():
    bus, chip = setup()
    d = SCD4x(bus)
    d.interval_ms = 300
    await d.read()
    chip.stuck_busy = True
    time.sleep_ms(1400)  # the cached sample is too old now
    await expect(BusyError, d.read(), 116)


async def test_faults_raise_and_periodic_mode_restarts_after_replug():
    bus, chip = setup(co2=650, power_up_ms=50)
    d = SCD4x(bus)
    await d.read()
    chip.corrupt_crc = True
    time.sleep_ms(320)
    await expect(CRCError, d.read())
    chip.corrupt_crc = False
    chip.unplug()
    await expect(SensorError, d.read(), 19)
    chip.plug()
    await expect(SensorError, d.read(), 19)  # still powering up (§3.1): NACKs everything
    assert not chip.periodic
    time.sleep_us(50_000)
    assert (await d.read())[0] == "650"
    assert chip.periodic


def test_probe_stops_periodic_mode_then_reads_the_serial():
    bus, chip = setup()
    bus.writeto(0x62, b"\x21\xb1")
    time.sleep_us(1000)
    assert probe(bus, 0x62) == "scd4x"
    assert not chip.periodic


async def test_the_driver_may_start_right_after_detection_probed_the_part():
    bus, _ = setup(co2=555, interval_ms=100)
    assert probe(bus, 0x62) == "scd4x"
    assert (await SCD4x(bus).read())[0] == "555"


async def test_a_sample_a_week_old_is_not_returned_as_the_newest():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative, hence "recent".
    from esp32ticks import DAY_MS, Esp32Ticks

    bus, chip = setup()
    d = SCD4x(bus)
    d.interval_ms = 300
    ticks = scd4x.time = Esp32Ticks(1_000)
    await d.read()
    chip.stuck_busy = True
    ticks.advance(7 * DAY_MS)
    await expect(BusyError, d.read(), 116)


async def test_temperature_and_humidity_words_are_scaled_by_2_to_the_16():
    # §3.5.2 (read_measurement): T = -45 + 175 * word[1] / 2^16, RH = 100 * word[2] / 2^16,
    # not 2^16 - 1 as on the SHT3x/SHT4x (Sensirion's driver: (21875 * t) >> 13, 12500 * rh).
    bus, chip = setup(interval_ms=100)
    chip._measurement = lambda: (600, 24810, 26378)
    t = -45 + 175 * 24810 / 65536  # 21.24985 °C
    rh = 100 * 26378 / 65536  # 40.24963 %RH
    assert (await SCD4x(bus).read())[1:3] == ("%.1f" % t, "%.1f" % rh) == ("21.2", "40.2")


def test_simulated_words_follow_the_2_to_the_16_scale():
    # The simulator inverts the same §3.5.2 formulas: 85 °C is word 130 * 2^16 / 175 =
    # 48683.9 -> 48684, 99 %RH 64880.6 -> 64881 (with 2^16 - 1: 48683 and 64880).
    chip = SimSCD4x(0x62, {"temperature": 85.0, "humidity": 99.0})
    assert chip._measurement()[1:] == (48684, 64881)


async def test_co2_0_of_an_invalid_first_sample_is_missing():
    bus, chip = setup(interval_ms=100)
    chip._measurement = lambda: (0, 24810, 26378)
    assert (await SCD4x(bus).read())[0] is None


async def test_after_a_fault_the_sample_from_before_it_is_not_returned():
    # A fault re-initialises the part (stop, start): the next readout waits for a new sample.
    bus, chip = setup(co2=650)
    d = SCD4x(bus)
    await d.read()
    chip.env.set(co2=900)
    chip.timeout = True
    await expect(SensorError, d.read(), 116)
    chip.timeout = False
    assert (await d.read())[0] == "900"


def test_its_readout_time_covers_the_first_sample_and_the_start():
    # A readout may restart the part (stop: 500 ms) and wait an interval and a second for a
    # sample, polled every 100 ms (each poll a command of its own): the node's timeout
    # must cover that, or the first readouts after boot time out at the 2 s default.
    from sensordata.clock import Clock
    from sensordata.node import Node

    bus, _ = setup()
    for low_power, interval in ((False, 5000), (True, 30000)):
        d = SCD4x(bus, low_power=low_power)
        assert d.interval_ms == interval
        assert d.read_ms >= interval + 1000 + 500 + (interval + 1000) // 100 * 2
        assert Node("scd4x-62", d, 2000, Clock(), None).comm_timeout == d.read_ms

# ROHM BH1750 driver against the simulated chip.
import time

import sim_bh1750
from drvtest import SimClock, nacked
from sim_bh1750 import SimBH1750
from sim_i2c import SimI2C

from drivers import bh1750
from drivers.bh1750 import BH1750, probe
from drivers.errors import SensorError


def setup(lux=320.0):
    chip = SimBH1750(0x23, {"illuminance": lux})
    return SimI2C(chip), chip


async def test_h_mode_recovers_the_illuminance_to_one_count():
    bus, _ = setup(320.0)
    lux, mode, chip, addr = await BH1750(bus).read()
    assert abs(float(lux) - 320.0) <= 0.84
    assert (mode, chip, addr) == ("H", "BH1750", "0x23")


async def test_h2_mode_and_a_long_mtreg_resolve_finer():
    bus, sim = setup(12.3)
    d = BH1750(bus, mode="H2", mtreg=254)
    lux = (await d.read())[0]
    assert sim.mtreg == 254
    assert abs(float(lux) - 12.3) <= 0.12
    assert lux.index(".") == len(lux) - 2  # 0.11 lx per count: one decimal


async def test_l_mode_publishes_whole_lux():
    bus, _ = setup(1000.0)
    lux = (await BH1750(bus, mode="L").read())[0]
    assert "." not in lux
    assert abs(int(lux) - 1000) <= 4


async def test_mtreg_is_restored_after_a_silent_power_cycle():
    bus, sim = setup(500.0)
    d = BH1750(bus, mtreg=138)
    await d.read()
    sim.power_on()  # a glitch: MTreg back to 69 without any failed transaction
    lux = (await d.read())[0]
    assert sim.mtreg == 138
    assert abs(float(lux) - 500.0) <= 0.5


async def test_unplugged_raises_and_the_driver_recovers():
    bus, sim = setup(100.0)
    d = BH1750(bus)
    sim.unplug()
    try:
        await d.read()
    except SensorError as e:
        assert e.errno == 19
    else:
        raise AssertionError("no error")
    sim.plug()
    assert abs(float((await d.read())[0]) - 100.0) <= 0.84


def test_two_opcodes_in_one_write_are_refused():
    # p.10: the part takes no plural commands without a stop condition, one opcode per write.
    bus, sim = setup()
    # power on + one-time H mode, no stop between
    assert nacked(bus, 0x23, b"\x01\x20"), "two opcodes ACKed in one write"
    assert not sim.powered and sim.measurements == 0


async def test_the_driver_sends_one_opcode_per_write():
    bus, _ = setup(250.0)
    assert abs(float((await BH1750(bus, mtreg=100).read())[0]) - 250.0) <= 0.84


def test_mtreg_out_of_range_is_refused():
    try:
        BH1750(None, mtreg=20)
    except ValueError:
        return
    raise AssertionError("accepted")


def test_probe_needs_an_answer():
    bus, _ = setup()
    assert probe(bus, 0x23) == "bh1750"
    assert probe(bus, 0x5C) is None


def test_a_one_time_measurement_may_take_the_maximum_180_ms():
    # p.2, measurement time: H-resolution 120 ms typ., 180 ms max. (at MTreg 69); the part
    # has no busy flag, so a read before the end gives the previous count (0 after power-on).
    bus, sim = setup(100.0)
    bus.writeto(0x23, b"\x01")
    bus.writeto(0x23, b"\x20")
    t0 = time.ticks_us()
    # Poll as a driver would: the new count shows no sooner than 180 ms (a fixed sleep would
    # make the test depend on the host's load).
    while bus.readfrom(0x23, 2) == b"\x00\x00":
        assert time.ticks_diff(time.ticks_us(), t0) < 1_000_000, "never ready"
        time.sleep_ms(1)
    assert time.ticks_diff(time.ticks_us(), t0) >= 180_000
    assert bus.readfrom(0x23, 2) == b"\x00\x78"  # 100 lx * 1.2 = 120 counts


async def test_the_driver_waits_the_maximum_time_even_when_sleeps_end_early():
    for mode, mtreg in (("H", 69), ("H2", 254), ("L", 31)):
        with SimClock(sim_bh1750, bh1750):
            bus, sim = setup(100.0)
            d = BH1750(bus, mode=mode, mtreg=mtreg)
            await d.read()
            sim.env.set(illuminance=200.0)
            lux = (await d.read())[0]
        assert abs(float(lux) - 200.0) <= 4, (mode, lux)


async def test_an_mtreg_left_by_an_earlier_configuration_is_replaced_by_the_default():
    # p.11: MTreg keeps its value while the part is powered, and Reset (0x07) clears only the
    # data register (p.5): a part still powered from a run configured with MTreg 138 (an MCU
    # reset with a new configuration) must measure with the 69 this driver computes with.
    bus, sim = setup(500.0)
    sim.powered = True
    sim.mtreg = 138
    lux = (await BH1750(bus).read())[0]
    assert sim.mtreg == 69
    assert abs(float(lux) - 500.0) <= 0.84, lux

# Aosong AHT20 driver against the simulated chip.
from drvtest import expect
from sim_aht20 import SimAHT20
from sim_i2c import SimI2C

from drivers.aht20 import AHT20, probe
from drivers.crc8 import crc8
from drivers.errors import BusyError, CRCError, SensorError


def setup(**spec):
    chip = SimAHT20(0x38, spec)
    return SimI2C(chip), chip


def test_reply_crc_covers_status_and_data_bytes():
    bus, _ = setup()
    buf = bytearray(7)
    bus.readfrom_into(0x38, buf)
    assert crc8(buf, 0, 6) == buf[6]


async def test_configured_values_come_back():
    bus, _ = setup(temperature=23.45, humidity=61.3)
    assert await AHT20(bus).read() == ("23.45", "61.3", True, "AHT20", "0x38")


async def test_uncalibrated_part_is_initialised_with_0xbe():
    bus, chip = setup(calibrated=False)
    assert not chip.calibrated
    values = await AHT20(bus).read()
    assert chip.calibrated and values[2] is True


async def test_stuck_busy_flag_raises_busy_error_etimedout():
    bus, chip = setup()
    chip.stuck_busy = True
    await expect(BusyError, AHT20(bus).read(), 116)


async def test_bad_crc_raises_and_recovery_follows():
    bus, chip = setup(temperature=10.0)
    d = AHT20(bus)
    chip.corrupt_crc = True
    await expect(CRCError, d.read())
    chip.corrupt_crc = False
    chip.unplug()
    await expect(SensorError, d.read(), 19)
    chip.plug()
    assert (await d.read())[0] == "10.00"


def test_probe_reads_the_status_byte():
    bus, _ = setup(calibrated=False)
    assert probe(bus, 0x38) == "aht20"
    assert probe(bus, 0x39) is None

# Aosong AHT20 driver against the simulated chip.
import time

from drvtest import EarlySleeps, expect, nacked
from sim_aht20 import SimAHT20
from sim_i2c import SimI2C

from drivers import aht20, detect
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
    with EarlySleeps(aht20):  # the 10 ms wait after 0xBE must hold even when sleeps end early
        values = await AHT20(bus).read()
    assert chip.calibrated and values[2] is True


def test_initialisation_takes_10_ms_before_the_part_answers_calibrated():
    # §5.4 step 1: after 0xBE 0x08 0x00, wait 10 ms.
    bus, chip = setup(calibrated=False)
    bus.writeto(0x38, b"\xbe\x08\x00")
    t0 = time.ticks_us()
    assert nacked(bus, 0x38, n=1), "read ACKed during initialisation"
    assert not chip.calibrated
    # Poll: the first ACKed read comes no sooner than 10 ms (a fixed sleep would make the
    # test depend on the host's load).
    while nacked(bus, 0x38, n=1):
        assert time.ticks_diff(time.ticks_us(), t0) < 5_000_000, "never ready"
        time.sleep_ms(1)
    assert time.ticks_diff(time.ticks_us(), t0) >= 10_000
    assert bus.readfrom(0x38, 1)[0] & 0x08


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


class WatchedAHT20(SimAHT20):
    """Counts the writes it receives."""

    writes = 0

    def write(self, data, stop):
        self.writes += 1
        super().write(data, stop)


def test_probe_identifies_a_calibrated_part_from_its_status_byte_without_writing():
    chip = WatchedAHT20(0x38)
    bus = SimI2C(chip)
    assert probe(bus, 0x38) == "aht20"
    assert probe(bus, 0x39) is None
    assert chip.writes == 0


def test_probe_does_not_take_an_uncalibrated_status_byte_for_an_aht20():
    # Bit 3 clear could be any part at 0x38; initialising it (0xBE) would write to it.
    chip = WatchedAHT20(0x38, {"calibrated": False})
    assert probe(SimI2C(chip), 0x38) is None
    assert chip.writes == 0 and not chip.calibrated


async def test_a_configured_uncalibrated_part_is_initialised_at_its_first_readout():
    chip = SimAHT20(0x38, {"calibrated": False, "temperature": 24.0})
    bus = SimI2C(chip)
    config = {"sensors": [{"type": "aht20", "address": "0x38"}]}
    ((nid, device),) = detect.nodes([bus], config, powered_ms=100)
    assert nid == "aht20-38"
    assert (await device.read())[0] == "24.00"
    assert chip.calibrated


def test_0x71_is_the_read_header_not_a_command():
    # §5.3, Table 9: the commands are 0xBE, 0xAC and 0xBA; "sending 0x71" (§5.4) is the
    # address byte of a read (0x38 << 1 | 1), whose first byte is the status.
    bus, _ = setup()
    assert nacked(bus, 0x38, b"\x71"), "0x71 accepted as a command"
    assert bus.readfrom(0x38, 1)[0] & 0x18 == 0x18


class RecordedAHT20(SimAHT20):
    """Keeps the first byte of every write."""

    def __init__(self, *args):
        self.sent = []
        super().__init__(*args)

    def write(self, data, stop):
        self.sent.append(data[0])
        super().write(data, stop)


async def test_a_calibrated_part_is_sent_only_the_trigger_command():
    chip = RecordedAHT20(0x38, {"temperature": 21.0})
    assert (await AHT20(SimI2C(chip)).read())[0] == "21.00"
    assert chip.sent == [0xAC], chip.sent


async def test_printed_values_are_the_20_bit_words_rounded_once():
    # §6: T = S_T / 2^20 * 200 - 50, RH = S_RH / 2^20 * 100, rounded to the published
    # decimals only once: 25.00458 °C is "25.00" and 37.54959 %RH is "37.5".
    st, srh = 393240, 393736
    t = st / 2**20 * 200 - 50
    rh = srh / 2**20 * 100
    bus, _ = setup(temperature=t, humidity=rh)
    d = AHT20(bus)
    await d.init()
    assert await d.measure() == (st, srh)
    assert (await d.read())[:2] == ("%.2f" % t, "%.1f" % rh) == ("25.00", "37.5")


def test_probe_does_not_take_a_busy_status_byte_for_an_aht20():
    # 0xFF (a part that answers all ones) has bit 3 set too; an idle AHT20 has bit 7 clear.
    class AllOnes(SimAHT20):
        def read(self, buf):
            for i in range(len(buf)):
                buf[i] = 0xFF

    assert probe(SimI2C(AllOnes(0x38)), 0x38) is None


async def test_a_part_that_lost_its_calibration_flag_is_initialised_at_the_next_readout():
    chip = RecordedAHT20(0x38, {"temperature": 21.0})
    d = AHT20(SimI2C(chip))
    await d.read()
    chip.calibrated = False  # a power glitch
    assert (await d.read())[2] is False
    await d.read()
    assert chip.sent == [0xAC, 0xAC, 0xBE, 0xAC], chip.sent


class NeverCalibrated(SimAHT20):
    """Takes 0xBE but never sets its calibration flag."""

    def _initialising(self):
        busy = super()._initialising()
        self.calibrated = False
        return busy


async def test_a_calibration_flag_that_stays_clear_after_0xbe_raises_enodev():
    chip = NeverCalibrated(0x38, {"calibrated": False})
    await expect(SensorError, AHT20(SimI2C(chip)).read(), 19)

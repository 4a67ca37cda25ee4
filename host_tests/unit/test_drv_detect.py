# Bus scan and identification of known chips.
import time

from drvtest import recording
from sim_aht20 import SimAHT20
from sim_bh1750 import SimBH1750
from sim_bme280 import SimBME280, SimBMP280
from sim_i2c import SimChip, SimI2C
from sim_scd4x import SimSCD4x
from sim_sht3x import SimSHT3x
from sim_sht4x import SimSHT4x

from drivers import detect
from drivers.errors import ConfigError

HEAPSIZE = "160k"  # the drivers compiled from source, with margin

LONG_POWERED = 60_000  # ms the parts have had power: every one has started up


class Impostor(SimChip):
    """A part that ACKs everything and answers zeros: nothing we know."""

    def write(self, data, stop):
        pass

    def read(self, buf):
        for i in range(len(buf)):
            buf[i] = 0


def full_bus():
    return SimI2C(
        SimBH1750(0x23),
        SimAHT20(0x38),
        SimSHT4x(0x44),
        SimSHT3x(0x45),
        SimSCD4x(0x62, {"power_up_ms": 0}),
        SimBME280(0x76),
        SimBMP280(0x77),
    )


def test_every_known_chip_is_identified():
    found = [(a, k) for _, a, k in detect.scan([full_bus()], LONG_POWERED)]
    assert found == [
        (0x23, "bh1750"),
        (0x38, "aht20"),
        (0x44, "sht4x"),
        (0x45, "sht3x"),
        (0x62, "scd4x"),
        (0x76, "bme280"),
        (0x77, "bmp280"),
    ]


def test_node_ids_name_type_and_address():
    ids = [nid for nid, _ in detect.nodes([full_bus()], powered_ms=LONG_POWERED)]
    assert ids == [
        "bh1750-23",
        "aht20-38",
        "sht4x-44",
        "sht3x-45",
        "scd4x-62",
        "bme280-76",
        "bmp280-77",
    ]


def test_an_unknown_part_at_a_known_address_is_not_taken_for_a_sensor():
    bus = SimI2C(Impostor(0x38), Impostor(0x44), Impostor(0x76), Impostor(0x62))
    assert detect.scan([bus], LONG_POWERED) == []


def test_an_unplugged_chip_is_not_detected():
    bus = full_bus()
    bus.chip(0x44).unplug()
    assert 0x44 not in [a for _, a, _ in detect.scan([bus], LONG_POWERED)]


def test_detection_waits_until_a_just_powered_scd4x_takes_commands():
    # SCD4x §3.1: 1000 ms after power-up. Powered 700 ms ago: 300 ms are left.
    bus = SimI2C(SimSCD4x(0x62, {"power_up_ms": 300}))
    t0 = time.ticks_ms()
    assert detect.scan([bus], 700) == [(0, 0x62, "scd4x")]
    assert time.ticks_diff(time.ticks_ms(), t0) >= 300


class SleepLog:
    """detect's clock, recording its sleeps: what it waits is counted, not timed (a loaded
    host would make any elapsed-time bound flaky)."""

    def __init__(self):
        self.slept = []

    def sleep_ms(self, ms):
        self.slept.append(ms)
        time.sleep_ms(ms)

    def ticks_ms(self):
        return time.ticks_ms()


def test_detection_waits_only_as_long_as_the_parts_it_found_need():
    # The AHT20's 40 ms (§5.4) and the BME280's 2 ms, not an absent SCD4x's 1000 ms.
    bus = SimI2C(SimAHT20(0x38), SimBME280(0x76))
    log, saved = SleepLog(), detect.time
    detect.time = log
    try:
        assert [k for _, _, k in detect.scan([bus], 0)] == ["aht20", "bme280"]
    finally:
        detect.time = saved
    assert log.slept == [41]  # 40 ms, + 1: sleep_ms counts ticks


def test_parts_powered_long_enough_are_probed_at_once():
    bus = SimI2C(SimAHT20(0x38), SimBME280(0x76))
    log, saved = SleepLog(), detect.time
    detect.time = log
    try:
        assert len(detect.scan([bus], 40)) == 2
    finally:
        detect.time = saved
    assert log.slept == []


def test_second_bus_gets_a_suffix():
    ids = [nid for nid, _ in detect.nodes([SimI2C(), SimI2C(SimSHT4x(0x44))])]
    assert ids == ["sht4x-44-1"]


def test_explicit_entries_override_add_and_drop():
    bus = SimI2C(SimBH1750(0x23), SimSHT4x(0x44), SimBME280(0x76))
    config = {
        "sensors": [
            {"address": "0x23", "node": "desk", "mode": "H2"},
            {"type": "aht20", "address": 0x38},
            {"address": "0x76", "disabled": True},
        ]
    }
    pairs = detect.nodes([bus], config)
    assert [nid for nid, _ in pairs] == ["desk", "aht20-38", "sht4x-44"]
    assert pairs[0][1].mode == "H2"


def test_detection_can_be_turned_off():
    config = {"detect": False, "sensors": [{"type": "sht4x", "address": "0x44"}]}
    assert [nid for nid, _ in detect.nodes([full_bus()], config)] == ["sht4x-44"]


def test_configuration_errors_are_clear():
    for config in (
        {"sensors": [{"type": "dht22", "address": 0x40}]},
        {"sensors": [{"type": "sht4x", "address": 0x44, "bus": 3}]},
        {
            "sensors": [
                {"type": "sht4x", "address": 0x44, "node": "x"},
                {"type": "aht20", "address": 0x38, "node": "x"},
            ]
        },
    ):
        try:
            detect.nodes([SimI2C()], config)
        except ConfigError:
            continue
        raise AssertionError("accepted %r" % config)


def test_a_sensor_entry_on_the_bus_after_the_last_is_refused():
    config = {"sensors": [{"type": "sht4x", "address": 0x44, "bus": 1}]}
    try:
        detect.nodes([SimI2C()], config)
    except ConfigError:
        return
    raise AssertionError("accepted")


class HeldLow(SimI2C):
    """A bus a faulty part holds low: the scan times out."""

    def scan(self):
        raise OSError(116)


def test_a_bus_whose_scan_fails_is_skipped():
    found = detect.scan([HeldLow(), SimI2C(SimSHT4x(0x44))], LONG_POWERED)
    assert found == [(1, 0x44, "sht4x")]


def test_a_decimal_address_string_is_read_as_decimal():
    config = {"detect": False, "sensors": [{"type": "bh1750", "address": "35"}]}
    assert [nid for nid, _ in detect.nodes([SimI2C()], config)] == ["bh1750-23"]


RecordedSHT4x = recording(SimSHT4x)


def test_an_sht4x_is_sent_only_its_own_command_during_detection():
    # The SHT4x probe goes first at 0x44: the part never sees the SHT3x's two-byte command.
    chip = RecordedSHT4x(0x44)
    assert detect.scan([SimI2C(chip)], LONG_POWERED) == [(0, 0x44, "sht4x")]
    assert chip.sent == [b"\x89"], chip.sent


def test_an_entry_without_a_type_where_nothing_was_found_is_left_out_not_fatal():
    # {"address": "0x44", "node": "desk"} names a detected chip; unplugged at boot, there is
    # no driver to make: the board starts with its other nodes (it used to stop at boot).
    bus = full_bus()
    bus.chip(0x44).unplug()
    cfg = {"sensors": [{"address": "0x44", "node": "desk"}, {"address": "0x45", "node": "wall"}]}
    ids = [nid for nid, _ in detect.nodes([bus], cfg, powered_ms=LONG_POWERED)]
    assert "desk" not in ids and "sht4x-44" not in ids
    assert "wall" in ids and "bh1750-23" in ids

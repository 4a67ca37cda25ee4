# The simulated host board: its nodes, its physics from the config, its faults.
import time

import board
from sim_i2c import SimI2C

from drivers import detect

HEAPSIZE = "160k"  # the board and its drivers compiled from source, with margin

CONFIG = {
    "board": "host",
    "sim": {
        "bme280-76": {"temperature": 21.5, "humidity": 45.0, "pressure": 1013.25},
        "sht4x-44": {"temperature": 19.75, "humidity": 52.5},
        "bh1750-23": {"illuminance": 320},
        "adc": {"voltage": 3.3},
        "mcu": {"temperature": 41.0},
    },
}


def test_board_interface():
    assert board.NAME == "host" and board.CHIP
    assert callable(board.nodes) and callable(board.led)
    assert board.led({}).value() == 0


def test_default_board_has_five_nodes():
    ids = [nid for nid, _ in board.nodes({})]
    assert ids == ["bh1750-23", "sht4x-44", "bme280-76", "adc-34", "mcu"]


def test_every_device_follows_the_device_protocol():
    for _, device in board.nodes({}):
        assert isinstance(device.FIELDS, tuple)
        for field in device.FIELDS:
            assert len(field) in (4, 5)
            assert field[3] in ("momentary", "identity", "status", "computed", "peak")
        assert hasattr(device, "read")


async def test_configured_physics_travels_through_the_real_drivers():
    values = {}
    for nid, device in board.nodes(CONFIG):
        values[nid] = await device.read()
        assert len(values[nid]) == len(device.FIELDS)
    t, h, p = values["bme280-76"][:3]
    assert t == "21.50" and abs(float(h) - 45.0) <= 0.02 and abs(float(p) - 1013.25) <= 0.03
    assert values["sht4x-44"][:2] == ("19.75", "52.50")
    assert abs(float(values["bh1750-23"][0]) - 320) <= 0.84
    assert abs(float(values["adc-34"][0]) - 3.3) <= 0.0015
    assert values["mcu"][0] == "41.0"


async def test_drifting_quantity_moves_within_its_amplitude():
    hb = board.build(
        {"sim": {"sht4x-44": {"temperature": {"value": 20.0, "drift": 2.0, "period_s": 1}}}}
    )
    device = dict(hb.nodes)["sht4x-44"]
    seen = set()
    for _ in range(5):
        seen.add((await device.read())[0])
        time.sleep_ms(130)
    assert len(seen) > 1
    assert all(17.99 <= float(v) <= 22.01 for v in seen)


def test_removed_chip_is_not_detected():
    ids = [nid for nid, _ in board.nodes({"sim": {"sht4x-44": None}})]
    assert "sht4x-44" not in ids and len(ids) == 4


def test_unplugged_chip_is_not_detected_and_can_be_plugged_in_later():
    hb = board.build({"sim": {"bh1750-23": {"present": False}}})
    assert "bh1750-23" not in dict(hb.nodes)
    hb.chip("bh1750-23").plug()
    assert [nid for nid, _ in detect.nodes([hb.i2c])][0] == "bh1750-23"


def test_extra_chips_are_added_by_key():
    # The SCD4x is found although it takes no command for 1000 ms after the board powered it
    # (SCD4x §3.1): detection waits for it.
    config = {"sim": {"aht20-38": {}, "bmp280-77": {}, "scd4x-62": {"interval_ms": 200}}}
    ids = [nid for nid, _ in board.nodes(config)]
    assert ids == [
        "bh1750-23",
        "aht20-38",
        "sht4x-44",
        "scd4x-62",
        "bme280-76",
        "bmp280-77",
        "adc-34",
        "mcu",
    ]


def test_a_board_without_slow_parts_is_not_held_up_by_detection():
    slept, saved = [], detect.time

    class Clock:  # detect's clock, its sleeps recorded: counted, not timed
        sleep_ms = slept.append
        ticks_ms = time.ticks_ms

    detect.time = Clock
    try:
        assert len(board.nodes({})) == 5
    finally:
        detect.time = saved
    assert max(slept, default=0) < 1000  # no wait for an SCD4x it lacks (1000 ms)


async def test_a_failing_node_does_not_disturb_the_others():
    hb = board.build(CONFIG)
    hb.chip("sht4x-44").unplug()
    results = {}
    for nid, device in hb.nodes:
        try:
            results[nid] = await device.read()
        except OSError as e:
            results[nid] = e
    assert isinstance(results["sht4x-44"], OSError)
    assert sum(isinstance(v, tuple) for v in results.values()) == 4


async def test_mcu_raw_path_reports_the_stuck_value_as_missing():
    hb = board.build({"sim": {"mcu": {"raw": True, "stuck": True}}})
    assert (await dict(hb.nodes)["mcu"].read())[0] is None
    hb = board.build({"sim": {"mcu": {"raw": True, "temperature": 41.0}}})
    assert (await dict(hb.nodes)["mcu"].read())[0] == "41.1"  # 106 °F


def test_two_boards_in_one_process_are_independent():
    a = board.build(CONFIG)
    b = board.build({})
    a.chip("sht4x-44").unplug()
    assert b.chip("sht4x-44").present
    assert isinstance(a.i2c, SimI2C) and a.i2c is not b.i2c

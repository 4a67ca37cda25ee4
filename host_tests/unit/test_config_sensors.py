# The "sensors" and "adc" entries of the config: config.check refuses, all at once and before
# anything starts, what drivers/detect.py and drivers/adc.py would refuse one at a time at boot.
import scratch
from sim_adc import SimADC
from sim_i2c import SimI2C
from sim_sht4x import SimSHT4x

from drivers import adc, detect
from drivers.errors import ConfigError
from thing import parts
from thing.config import check, load

HEAPSIZE = "160k"  # the checker, detection and every driver compiled from source

BASE = {
    "xmpp": {"jid": "dev@example.org", "password": "pw", "ca": "ca.der"},
    "allow": ["owner@example.org"],
    "board": "host",
}


def _with(**changes):
    cfg = dict(BASE)
    cfg.update(changes)
    return cfg


def _one(problems, *fragments):
    for fragment in fragments:
        assert any(fragment in p for p in problems), (fragment, problems)


def _sensor(**entry):
    return check(_with(sensors=[entry]))


def _channel(**entry):
    return check(_with(adc=[entry]))


def _board_refuses(cfg):
    """Does the board (detection on an empty bus, the ADC setup) refuse `cfg` at boot?"""
    try:
        detect.nodes([SimI2C()], cfg, powered_ms=60_000)
        adc.nodes(cfg.get("adc", ()), lambda entry, atten: SimADC({"voltage": 1.0}, (1, 1)))
    except (ConfigError, KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return True
    return False


# -- sensors -------------------------------------------------------------------------------


def test_an_unknown_sensor_type_is_named_with_the_known_ones():
    problems = _sensor(type="bh1751", address="0x23")
    _one(problems, "sensors: entry 1, type: 'bh1751' is not a known type", "bh1750", "scd4x")


def test_an_address_is_a_number_or_a_hex_or_decimal_string_as_detection_reads_it():
    for good in (0x23, "0x23", "0X23", "35"):
        assert _sensor(type="bh1750", address=good) == [], good
    for bad in ("zz", "0xzz", "", True, 35.0, [0x23], {"a": 1}):
        _one(_sensor(type="bh1750", address=bad), "sensors: entry 1, address: must be")
    _one(_sensor(type="bh1750"), "sensors: entry 1, address: missing")


def test_an_address_is_a_7_bit_address_outside_the_reserved_ones():
    # I2C-bus specification UM10204, Table 4: 0x00-0x07 and 0x78-0x7F are reserved.
    assert _sensor(type="bh1750", address=0x08) == []
    assert _sensor(type="bh1750", address="0x77") == []
    for bad in (0x07, 0x78, 0x123, -1, "0x200"):
        _one(_sensor(type="bh1750", address=bad), "sensors: entry 1, address: must be")


def test_the_bus_is_the_boards_one_i2c_bus():
    assert _sensor(type="sht4x", address="0x44", bus=0) == []
    for bad in ("0", 1, -1, True, 0.0):
        _one(_sensor(type="sht4x", address="0x44", bus=bad), "sensors: entry 1, bus: ")


def test_a_driver_option_the_driver_does_not_take_is_refused():
    _one(_sensor(type="bh1750", address="0x23", foo=1), "sensors: entry 1, foo: not an option")
    # An SHT3x's option is "repeatability"; "precision" is the SHT4x's.
    _one(_sensor(type="sht3x", address="0x44", precision="low"), "entry 1, precision: not an")
    _one(_sensor(type="aht20", address="0x38", mode="H"), "entry 1, mode: not an option")


def test_driver_option_values_are_those_the_driver_takes():
    for good in (
        {"type": "bh1750", "mode": "H2", "mtreg": 31},
        {"type": "bh1750", "mode": "L", "mtreg": 254},
        {"type": "sht3x", "repeatability": "medium"},
        {"type": "sht4x", "precision": "low"},
        {"type": "bme280", "osrs_t": 7, "osrs_p": 0, "osrs_h": 5},
        {"type": "scd4x", "low_power": True},
    ):
        assert _sensor(address="0x44", **good) == [], good
    for bad, fragment in (
        ({"type": "bh1750", "mode": "X"}, "mode: must be one of H/H2/L, not 'X'"),
        ({"type": "bh1750", "mtreg": 300}, "mtreg: 300 is outside 31..254"),
        ({"type": "bh1750", "mtreg": "69"}, "mtreg: must be a whole number, not '69'"),
        ({"type": "sht4x", "precision": "HIGH"}, "precision: must be one of high/medium/low"),
        ({"type": "bme280", "osrs_t": 0}, "osrs_t: 0 is outside 1..7"),
        ({"type": "bme280", "osrs_h": True}, "osrs_h: must be a whole number"),
        ({"type": "scd4x", "low_power": "yes"}, "low_power: must be true or false"),
    ):
        _one(_sensor(address="0x44", **bad), "sensors: entry 1, " + fragment)


def test_an_entry_without_a_type_needs_detection_to_find_one_at_its_address():
    # Detection off, or an address no known chip has, leaves the entry without a driver.
    _one(check(_with(detect=False, sensors=[{"address": "0x23"}])), "entry 1, type: missing")
    _one(_sensor(address="0x50"), "sensors: entry 1, type: missing")
    # At 0x44 detection finds an SHT4x or an SHT3x: an option of one of them only needs the
    # type (the other's driver would refuse it at boot).
    assert _sensor(address="0x44", node="desk") == []
    _one(_sensor(address="0x44", precision="low"), "entry 1, precision: not every chip")
    _one(_sensor(address="0x44", repeatability="low"), "entry 1, repeatability: not every")
    _one(_sensor(address="0x44", mode="H"), "sensors: entry 1, mode: not an option")
    _one(_sensor(type="sht4x", address="0x44", precision="max"), "entry 1, precision: must be")


def test_a_disabled_entry_needs_only_its_address():
    assert _sensor(address="0x76", disabled=True) == []
    assert check(_with(detect=False, sensors=[{"address": "0x76", "disabled": True}])) == []
    _one(_sensor(address="0x76", disabled="yes"), "sensors: entry 1, disabled: must be true")
    _one(_sensor(disabled=True), "sensors: entry 1, address: missing")


def test_a_node_id_is_a_string_used_once():
    assert _sensor(type="sht4x", address="0x44", node="desk") == []
    for bad in (5, "", "a\nb"):
        _one(_sensor(type="sht4x", address="0x44", node=bad), "sensors: entry 1, node: ")
    twice = [
        {"type": "sht4x", "address": 0x44, "node": "x"},
        {"type": "aht20", "address": 0x38, "node": "x"},
    ]
    _one(check(_with(sensors=twice)), "sensors: node id 'x' used twice")
    # A later entry at the same address replaces the earlier one, as detection has it.
    again = [{"type": "sht4x", "address": 0x44}, {"type": "sht4x", "address": "0x44"}]
    assert check(_with(sensors=again)) == []


def test_entries_that_are_not_objects_and_sensors_that_is_not_a_list_are_refused():
    _one(check(_with(sensors={"address": "0x44"})), "sensors: must be a list")
    _one(check(_with(sensors=["0x44"])), "sensors: entry 1: must be an object")


# -- adc -----------------------------------------------------------------------------------


def test_an_attenuation_is_an_index_or_a_name_of_the_drivers():
    for good in (0, 3, "0dB", "2.5dB", "6dB", "11dB"):
        assert _channel(pin=34, atten=good) == [], good
    for bad in ("12dB", 4, -1, True, "11db", 3.0):
        _one(_channel(pin=34, atten=bad), "adc: entry 1, atten: must be 0..3 or one of")


def test_a_divider_is_a_ratio_of_two_positive_whole_numbers():
    assert _channel(pin=34, divider=[2, 1]) == []
    assert _channel(pin=34, divider=[147, 100]) == []
    for bad in (2, [2], [2, 1, 1], [2, 0], [0, 1], [-2, 1], [2.5, 1], ["2", "1"], [True, 1]):
        _one(_channel(pin=34, divider=bad), "adc: entry 1, divider: must be a ratio")


def test_the_other_channel_keys_are_checked():
    assert _channel(pin=34, samples=64, node="vbat", full_scale_mv=3100) == []
    _one(_channel(pin=34, samples=65), "adc: entry 1, samples: 65 is outside 1..64")
    _one(_channel(pin=34, samples=0), "adc: entry 1, samples: 0 is outside 1..64")
    _one(_channel(pin=34, node=3), "adc: entry 1, node: must be a string")
    _one(_channel(pin=34, full_scale_mv="3100"), "adc: entry 1, full_scale_mv: must be")
    _one(_channel(pin=34, attenuation=3), "adc: entry 1, attenuation: unknown key")
    _one(_channel(atten=3), "adc: entry 1, pin: missing")
    _one(_channel(pin="34"), "adc: entry 1, pin: must be a whole number")
    _one(_channel(pin=49), "adc: entry 1, pin: 49 is outside 0..48")
    _one(check(_with(adc=[3])), "adc: entry 1: must be an object")
    _one(check(_with(adc={"pin": 3})), "adc: must be a list")


# -- all at once, as the board reads them ---------------------------------------------------


def test_every_entry_problem_is_listed_with_the_other_problems():
    cfg = _with(
        sensors=[
            {"type": "bh1751", "address": "0x23"},
            {"address": "zz", "type": "sht4x"},
            {"type": "sht4x", "address": "0x44", "bus": "0"},
            {"type": "bh1750", "address": "0x5c", "foo": 1},
        ],
        adc=[{"pin": 34, "atten": "12dB"}, {"pin": 35, "divider": 2}],
        log="loud",
    )
    cfg["xmpp"] = dict(cfg["xmpp"], port=0)
    problems = check(cfg)
    _one(problems, "entry 1, type", "entry 2, address", "entry 3, bus", "entry 4, foo")
    _one(problems, "adc: entry 1, atten", "adc: entry 2, divider", "xmpp.port", "log:")
    assert len(problems) == 8, problems


def test_what_the_review_found_the_board_refusing_at_boot_the_check_refuses():
    for cfg in (
        _with(sensors=[{"type": "bh1751", "address": "0x23"}]),
        _with(sensors=[{"address": "zz"}]),
        _with(sensors=[{"type": "sht4x", "address": "0x44", "bus": "0"}]),
        _with(sensors=[{"type": "sht4x", "address": "0x44", "foo": 1}]),
        _with(detect=False, sensors=[{"address": "0x23"}]),
        _with(adc=[{"pin": 34, "atten": "12dB"}]),
        _with(adc=[{"pin": 34, "divider": 2}]),
    ):
        assert _board_refuses(cfg), cfg
        assert check(cfg), cfg


def test_what_the_check_takes_the_board_builds():
    for cfg in (
        _with(detect=False, sensors=[{"type": "bh1750", "address": "35", "mode": "L"}]),
        _with(sensors=[{"type": "bme280", "address": 0x76, "osrs_p": 0, "node": "room"}]),
        _with(sensors=[{"type": "scd4x", "address": "0x62", "bus": 0, "low_power": True}]),
        _with(sensors=[{"address": "0x76", "disabled": True}]),
        _with(adc=[{"pin": 34, "atten": "6dB", "divider": [3, 2], "samples": 1}]),
        _with(adc=[{"pin": 3, "atten": 0, "full_scale_mv": 950, "node": "vbat"}]),
    ):
        assert check(cfg) == [], cfg
        assert not _board_refuses(cfg), cfg


def test_a_null_in_an_entry_is_absent_for_the_check_and_the_board():
    # detection reads entry.pop("bus", 0): a null bus would be compared with 0 at boot.
    with open(scratch.path("nulls.json"), "w") as f:
        f.write(
            '{"xmpp": {"jid": "dev@example.org", "password": "pw", "tls": "plain"},'
            ' "board": "host", "sensors": [{"type": "sht4x", "address": "0x44", "bus": null,'
            ' "precision": null, "node": null}], "adc": [{"pin": 34, "samples": null}]}'
        )
    cfg = load(scratch.path("nulls.json"), on_board=False)
    assert cfg["sensors"] == [{"type": "sht4x", "address": "0x44"}]
    assert cfg["adc"] == [{"pin": 34}]
    pairs = detect.nodes([SimI2C(SimSHT4x(0x44))], dict(cfg, detect=False))
    assert [nid for nid, _ in pairs] == ["sht4x-44"]
    _one(_channel(pin=None), "adc: entry 1, pin: missing")


# -- the check's tables are the drivers' ----------------------------------------------------


def test_the_sensor_types_and_their_addresses_are_detections():
    assert sorted(parts.SENSOR_TYPES) == sorted(detect.DRIVERS)
    for address, modules in detect.CANDIDATES.items():
        found = sorted(t for t, (m, _) in detect.DRIVERS.items() if m in modules)
        listed = sorted(t for t, (at, _) in parts.SENSOR_TYPES.items() if address in at)
        assert found == listed, (address, found, listed)
    for kind, (addresses, _) in parts.SENSOR_TYPES.items():
        for address in addresses:
            assert address in detect.CANDIDATES, (kind, address)


def test_every_option_value_the_check_takes_the_driver_takes_and_those_past_it_not():
    def made(kind, options):
        try:
            detect.create(kind, SimI2C(), 0x44, options)
        except (KeyError, TypeError, ValueError):
            return False
        return True

    for kind, (_, options) in parts.SENSOR_TYPES.items():
        assert made(kind, {})
        assert not made(kind, {"foo": 1})
        for name, allowed in options.items():
            if allowed is bool:
                assert made(kind, {name: True}) and made(kind, {name: False}), (kind, name)
            elif isinstance(allowed[0], str):
                for v in allowed:
                    assert made(kind, {name: v}), (kind, name, v)
                assert not made(kind, {name: "nonsense"}), (kind, name)
            else:
                low, high = allowed
                assert made(kind, {name: low}) and made(kind, {name: high}), (kind, name)
                assert not made(kind, {name: low - 1}), (kind, name)
                assert not made(kind, {name: high + 1}), (kind, name)


def test_the_adc_tables_are_the_drivers():
    assert parts.ATTENUATION == adc.ATTENUATION
    assert parts.ADC_SAMPLES_MAX == adc.MAX_SAMPLES


def test_an_option_not_every_chip_at_a_detected_address_takes_is_refused():
    # At 0x44 detection may find an SHT4x or an SHT3x: "precision" is the SHT4x's only, and
    # would stop the board at boot if an SHT3x answered there.
    _one(_sensor(address="0x44", precision="high"), "precision: not every chip", "give a type")
    assert _sensor(type="sht4x", address="0x44", precision="high") == []

"""A config's "sensors" and "adc" entries, checked as the boards read them (drivers/detect.py,
drivers/adc.py): every problem listed with the config's others, before anything starts,
instead of a board that stops at boot on the first bad entry. Loaded by config.check only
when a config has such entries.
"""

from thing.config import _fields, _has_controls

# What drivers/detect.py makes of a "sensors" entry: type -> (the addresses detection finds
# the chip at, {option: allowed}), as detect's DRIVERS and CANDIDATES and each driver's
# constructor have them (host_tests/unit/test_config_sensors.py keeps them alike). Kept here,
# not imported: the checker must not load detection and every driver onto a board's heap.
# allowed: (low, high) whole numbers, a tuple of names, or bool.
_BME = {"osrs_t": (1, 7), "osrs_p": (0, 7), "osrs_h": (0, 7)}  # a BMP280 ignores osrs_h
_LEVELS = ("high", "medium", "low")
SENSOR_TYPES = {
    "aht20": ((0x38,), {}),
    "bh1750": ((0x23, 0x5C), {"mode": ("H", "H2", "L"), "mtreg": (31, 254)}),
    "bme280": ((0x76, 0x77), _BME),
    "bmp280": ((0x76, 0x77), _BME),
    "scd4x": ((0x62,), {"low_power": bool}),
    "sht3x": ((0x44, 0x45), {"repeatability": _LEVELS}),
    "sht4x": ((0x44, 0x45, 0x46), {"precision": _LEVELS}),
}
_ENTRY = ("address", "bus", "type", "node", "disabled")  # the rest are the driver's options
_LIKE = '{"type": "sht4x", "address": "0x44"}'
ATTENUATION = ("0dB", "2.5dB", "6dB", "11dB")  # drivers/adc.py, index = the port's atten
ADC_SAMPLES_MAX = 64  # drivers/adc.py MAX_SAMPLES
# What drivers/adc.py reads of a channel; "atten" and "divider" are checked on their own.
_ADC = {
    "pin": (int, True, 0, 48),
    "atten": (None, False, None, None),
    "divider": (None, False, None, None),
    "samples": (int, False, 1, ADC_SAMPLES_MAX),
    "node": (str, False, None, None),
    # Only the decimals published depend on it; no ESP32 ADC reads above 5 V at its pin.
    "full_scale_mv": (int, False, 1, 5000),
}


def _whole(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _i2c_address(v):
    """`v` read as drivers/detect.py reads an address (a number, a "0x.." or a decimal
    string), or None when it cannot be a 7-bit address: 0x00-0x07 and 0x78-0x7F are reserved
    (I2C-bus specification UM10204, Table 4)."""
    if isinstance(v, str):
        try:
            v = int(v, 16) if v[:2] in ("0x", "0X") else int(v)
        except ValueError:
            return None
    return v if _whole(v) and 0x08 <= v <= 0x77 else None


def _option(where, allowed, v, problems):
    if allowed is bool:
        if not isinstance(v, bool):
            problems.append("%s: must be true or false, not %r" % (where, v))
    elif isinstance(allowed[0], str):
        if v not in allowed:
            problems.append("%s: must be one of %s, not %r" % (where, "/".join(allowed), v))
    elif not _whole(v):
        problems.append("%s: must be a whole number, not %r" % (where, v))
    elif not allowed[0] <= v <= allowed[1]:
        problems.append("%s: %d is outside %d..%d" % (where, v, allowed[0], allowed[1]))


def _check_sensor(e, where, detect, problems):
    """The problems of one "sensors" entry; its ((bus, address), node id or None)."""
    address = _i2c_address(e.get("address"))
    if "address" not in e:
        problems.append("%saddress: missing" % where)
    elif address is None:
        problems.append(
            '%saddress: must be an I2C address from 0x08 to 0x77, like "0x44" or 68, not %r'
            % (where, e["address"])
        )
    bus = e.get("bus", 0)
    if not (_whole(bus) and bus == 0):  # every board makes one bus (esp32board, boards/host)
        problems.append("%sbus: the boards have one I2C bus, 0; not %r" % (where, bus))
    disabled = e.get("disabled", False)
    if not isinstance(disabled, bool):
        problems.append("%sdisabled: must be true or false, not %r" % (where, disabled))
    if disabled:
        return (0, address), None  # dropped: nothing else of it is read
    kind = e.get("type")
    if kind is None or kind == "":
        # Detection supplies the type of a chip it finds at the address, if any can be there.
        kinds = [t for t, (at, _) in SENSOR_TYPES.items() if address in at]
        if not detect:
            problems.append("%stype: missing (detection is off)" % where)
        elif not kinds and address is not None:
            problems.append(
                "%stype: missing (no known chip is detected at 0x%02x)" % (where, address)
            )
    elif isinstance(kind, str) and kind in SENSOR_TYPES:
        kinds = [kind]
    else:
        known = "/".join(sorted(SENSOR_TYPES))
        problems.append("%stype: %r is not a known type (%s)" % (where, kind, known))
        kinds = []
    for key, v in e.items():
        if key in _ENTRY or not kinds:
            continue
        allowed = [SENSOR_TYPES[k][1][key] for k in kinds if key in SENSOR_TYPES[k][1]]
        what = "/".join(kinds)
        if len(allowed) == len(kinds):
            _option(where + key, allowed[0], v, problems)
        elif allowed:
            # Detection decides the chip at boot: an option one of them does not take
            # would stop the board then (its driver refuses the keyword).
            problems.append(
                "%s%s: not every chip found at this address (%s) takes it; give a type"
                % (where, key, what)
            )
        else:
            problems.append("%s%s: not an option of the %s driver" % (where, key, what))
    node = e.get("node")
    if node is not None and (not isinstance(node, str) or not node or _has_controls(node)):
        problems.append("%snode: must be a node id (a non-empty string), not %r" % (where, node))
        node = None
    if node is None and len(kinds) == 1 and address is not None:
        node = "%s-%02x" % (kinds[0], address)  # drivers/detect.py node_id() on bus 0
    return (0, address), node


def check(cfg, problems):
    """Add the problems of `cfg`'s "adc" and "sensors" entries to `problems`."""
    if cfg.get("adc") is not None:
        _check_adc(cfg["adc"], problems)
    if cfg.get("sensors") is not None:
        _check_sensors(cfg["sensors"], cfg.get("detect", True), problems)


def _check_sensors(sensors, detect, problems):
    if not isinstance(sensors, list):
        problems.append("sensors: must be a list of entries like " + _LIKE)
        return
    nodes = {}  # (bus, address) -> node id: a later entry replaces an earlier one, as in detect
    for i, e in enumerate(sensors):
        where = "sensors: entry %d" % (i + 1)
        if not isinstance(e, dict):
            problems.append("%s: must be an object like %s, not %r" % (where, _LIKE, e))
            continue
        slot, node = _check_sensor(e, where + ", ", detect, problems)
        nodes[slot] = node
    seen = []
    for node in nodes.values():
        if node is not None and node in seen:
            problems.append("sensors: node id %r used twice" % node)
        seen.append(node)


def _check_adc(adc, problems):
    if not isinstance(adc, list):
        problems.append('adc: must be a list of channels like {"pin": 34}')
        return
    for i, e in enumerate(adc):
        where = "adc: entry %d" % (i + 1)
        if not isinstance(e, dict):
            problems.append('%s: must be an object like {"pin": 34}, not %r' % (where, e))
            continue
        _fields(e, where + ", ", _ADC, problems)
        atten = e.get("atten", 3)
        if not (atten in ATTENUATION or (_whole(atten) and 0 <= atten <= 3)):
            problems.append(
                "%s, atten: must be 0..3 or one of %s, not %r"
                % (where, "/".join(ATTENUATION), atten)
            )
        d = e.get("divider", (1, 1))
        if not (
            isinstance(d, (list, tuple)) and len(d) == 2 and all(_whole(n) and n > 0 for n in d)
        ):
            problems.append(
                "%s, divider: must be a ratio of two positive whole numbers like [2, 1], "
                "not %r" % (where, d)
            )

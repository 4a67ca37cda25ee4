"""Find the known I2C chips on a board's buses and make their drivers.

Each address a known chip can have is probed by the chip's own identification (chip id
register, CRC-checked serial number or status read), never by the address alone, so an
unknown part at 0x44 is not taken for an SHT4x. Two parts have no identification to read:
a BH1750 is any part that takes its power-on and mode opcodes and gives two bytes, and an
AHT20 any part at 0x38 whose status byte looks calibrated and idle; another part at 0x23,
0x5C or 0x38 (a PCF8574A port expander at 0x38, say) is best listed in "sensors" with
"disabled": true, or detection turned off. Detection runs once at boot, before the event
loop, so its waits block.

A part takes no commands for a while after power-up (its driver's POWER_UP_MS: SCD4x
1000 ms, AHT20 40 ms, BME280 2 ms; none given: 0). Before probing, detection sleeps once for
what is left of the longest POWER_UP_MS among the drivers it will try at the addresses that
answered the scan, counted from `powered_ms`, how long the parts have had power. The default
is time.ticks_ms(), the time since boot: right on a board that powers its sensors with the
MCU, where a soft reset keeps both the parts powered and the tick counter running, so it
waits only after power-up. The scan must find a part that is still starting up (it ACKs its
address); one that does not is not waited for.

    for node_id, device in detect.nodes([i2c], config, powered_ms=None):
        ...

Config keys (all optional):
    "detect":  false turns scanning off: only "sensors" entries are created.
    "sensors": a list of explicit entries, e.g. {"type": "bh1750", "address": "0x23",
               "bus": 0, "node": "desk-light", "mode": "H2"}: `type` and `address` (int or
               "0x.." string) name the chip; `bus` (default 0) indexes the board's buses;
               `node` replaces the default node id; other keys are driver options. An entry
               at an address where a chip was detected overrides it; any other entry adds a
               node whether or not the chip answers yet (its readouts fail until it does);
               an entry without `type` where no chip was identified is left out, and said so.
               {"address": "0x23", "disabled": true} drops a detected chip.
Node ids are `<type>-<address in hex>` ("bme280-76"), with "-<bus>" appended on buses after
the first.
"""

import gc
import time

from drivers.errors import ConfigError

# type -> (module, class)
DRIVERS = {
    "bme280": ("bme280", "BME280"),
    "bmp280": ("bme280", "BMP280"),
    "sht3x": ("sht3x", "SHT3x"),
    "sht4x": ("sht4x", "SHT4x"),
    "aht20": ("aht20", "AHT20"),
    "bh1750": ("bh1750", "BH1750"),
    "scd4x": ("scd4x", "SCD4x"),
}
# address -> modules whose probe() is tried, in order; bme280's probe also reports bmp280.
# SHT4x before SHT3x at 0x44/0x45: its one-byte serial command is ignored by an SHT3x.
CANDIDATES = {
    0x23: ("bh1750",),
    0x38: ("aht20",),
    0x44: ("sht4x", "sht3x"),
    0x45: ("sht4x", "sht3x"),
    0x46: ("sht4x",),
    0x5C: ("bh1750",),
    0x62: ("scd4x",),
    0x76: ("bme280",),
    0x77: ("bme280",),
}


def _module(name):
    gc.collect()  # a boot-time quiet point: room for the driver module being loaded
    return __import__("drivers." + name, None, None, (name,))


def identify(i2c, address):
    """The chip type answering at `address`, or None."""
    for name in CANDIDATES.get(address, ()):
        kind = _module(name).probe(i2c, address)
        if kind:
            return kind
    return None


def create(kind, i2c, address, options=None):
    """A driver object for chip type `kind`."""
    try:
        mod, cls = DRIVERS[kind]
    except KeyError:
        raise ConfigError("unknown sensor type %r" % kind)
    return getattr(_module(mod), cls)(i2c, address, **(options or {}))


def node_id(kind, address, bus=0):
    return "%s-%02x" % (kind, address) + ("-%d" % bus if bus else "")


def _address(value):
    if isinstance(value, str):
        return int(value, 16) if value[:2] in ("0x", "0X") else int(value)
    return int(value)


def _await_power_up(answered, powered_ms):
    """Sleep for what is left of the longest power-up time of the drivers to be tried."""
    names = set()  # type: set
    for _, _, addresses in answered:
        for address in addresses:
            names.update(CANDIDATES.get(address, ()))
    need = 0
    for name in names:
        need = max(need, getattr(_module(name), "POWER_UP_MS", 0))
    if powered_ms is None:
        powered_ms = time.ticks_ms()
    if need > powered_ms:
        time.sleep_ms(need - powered_ms + 1)  # sleep_ms counts ticks: may end 1 ms early


def scan(buses, powered_ms=None):
    """[(bus index, address, type)] of every identified chip; powered_ms: see above."""
    answered = []
    for b, i2c in enumerate(buses):
        try:
            answered.append((b, i2c, i2c.scan()))
        except OSError:
            continue  # a bus held low by a faulty part: nothing on it can be found
    _await_power_up(answered, powered_ms)
    found = []
    for b, i2c, addresses in answered:
        for address in addresses:
            kind = identify(i2c, address)
            if kind:
                found.append((b, address, kind))
    return found


def nodes(buses, config=None, powered_ms=None):
    """[(node_id, device)] for the detected chips, with the configured entries applied."""
    config = config or {}
    slots = {}  # type: dict  # (bus, address) -> (node id, type, options)
    detecting = config.get("detect", True)
    if detecting:
        for b, address, kind in scan(buses, powered_ms):
            slots[(b, address)] = (node_id(kind, address, b), kind, {})
    for entry in config.get("sensors", ()):
        entry = dict(entry)
        b = entry.pop("bus", 0)
        if not 0 <= b < len(buses):
            raise ConfigError("sensor entry %r: no I2C bus %d" % (entry, b))
        address = _address(entry.pop("address"))
        if entry.pop("disabled", False):
            slots.pop((b, address), None)
            continue
        kind = entry.pop("type", None) or (slots.get((b, address)) or (0, None))[1]
        if kind is None and detecting:
            # No type, and nothing identified there: no driver to make. Left out, not a
            # board that cannot start over a part unplugged or still starting up.
            print("sensor entry at 0x%02x: no type, and no known chip found there" % address)
            continue
        if kind not in DRIVERS:
            raise ConfigError("sensor entry at 0x%02x: unknown type %r" % (address, kind))
        nid = entry.pop("node", None) or node_id(kind, address, b)
        slots[(b, address)] = (nid, kind, entry)
    result = []
    seen = set()
    for key in sorted(slots):
        nid, kind, options = slots[key]
        if nid in seen:
            raise ConfigError("node id %r used twice" % nid)
        seen.add(nid)
        result.append((nid, create(kind, buses[key[0]], key[1], options)))
    return result

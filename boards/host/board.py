"""The host board: a simulated ESP32 for tests and the demo, on the unix port.

The board interface (every board's `board.py`, deployed to a device as /lib/board.py):
    NAME            the board's name, e.g. "ESP32-DevKitC"
    CHIP            the MCU, e.g. "ESP32", "ESP32-S3"
    SAFE_PIN        optional: the GPIO (the BOOT button) that, held at boot, keeps the
                    firmware from starting (thing/startup.py); else the chip's BOOT pin
    nodes(config)   [(node_id, device)]: the detected and configured I2C sensors
                    (drivers.detect: node ids like "bme280-76"), the ADC channels
                    ("adc-<gpio>") and the MCU temperature ("mcu"), in that order. Devices
                    follow sensordata/device.py (FIELDS + async read()).
    led(config)     the status LED, an object with value(0/1) like machine.Pin, or None
    check(config)   optional: raises drivers.errors.ConfigError for the pins of config that
                    nodes() and led() refuse, touching no hardware (tools/deploy.py runs it
                    on the computer before it writes a config; this board has none)
Config keys read by every board: "detect", "sensors" (see drivers/detect.py), "adc" (a list
of channel entries replacing the board's, see drivers/adc.py), "mcu" (false: no MCU node).

This board carries a BME280 at 0x76, an SHT4x at 0x44 and a BH1750 at 0x23 on a simulated
I2C bus, one ADC channel (GPIO34, 11 dB, divider 2:1) and the MCU sensor: five nodes. Its
physics comes from config["sim"], keyed by node id:
    "bme280-76": {"temperature": 21.5, "humidity": 45.0, "pressure": 1013.25}   (°C, %, hPa)
    "sht4x-44":  {"temperature": 22.0, "humidity": 40.0, "serial": 0x0BADCAFE}
    "bh1750-23": {"illuminance": 320}                                          (lx)
    "adc-34" (or "adc"): {"voltage": 3.3}     the node voltage, before the divider (V)
    "mcu":       {"temperature": 41.0, "raw": false, "stuck": false}
                 raw: read through esp32.raw_temperature (°F) as on an original ESP32;
                 stuck: that reading is the stuck value 128
Any quantity may drift: {"value": 21.5, "drift": 0.5, "period_s": 600} (sim_physics.py).
Other chips are added by key: "bmp280-77", "sht3x-45", "aht20-38", "scd4x-62" (with
"co2" in ppm, "interval_ms", "low_power_interval_ms", "power_up_ms"), "bme280-77", ... A
chip's entry may say "present": false (on the bus but unplugged; `plug()` it later); null
removes a default chip. The chips are powered as the board is built: detection waits for
them to start up (a board with an SCD4x takes a second).

    hb = board.build(config)      # HostBoard: .i2c, .chip(node_id), .adc, .mcu, .led
    pairs = hb.nodes              # what board.nodes(config) returns
"""

from sim_adc import SimADC, SimLED, SimMCU
from sim_i2c import SimI2C

from drivers import adc as adc_driver
from drivers.mcu_temp import MCUTemperature

NAME = "host"
CHIP = "host"
DEFAULT_CHIPS = ("bme280-76", "sht4x-44", "bh1750-23")
ADC_CHANNELS = ({"pin": 34, "atten": 3, "divider": (2, 1)},)
# type -> (module, class); imported only when the board carries one (RAM on small heaps).
SIM_CHIPS = {
    "bme280": ("sim_bme280", "SimBME280"),
    "bmp280": ("sim_bme280", "SimBMP280"),
    "sht3x": ("sim_sht3x", "SimSHT3x"),
    "sht4x": ("sim_sht4x", "SimSHT4x"),
    "aht20": ("sim_aht20", "SimAHT20"),
    "bh1750": ("sim_bh1750", "SimBH1750"),
    "scd4x": ("sim_scd4x", "SimSCD4x"),
}


def _sim_class(kind):
    module, cls = SIM_CHIPS[kind]
    return getattr(__import__(module), cls)


def _chip_key(key):
    kind, _, addr = key.partition("-")
    if kind in SIM_CHIPS and addr:
        try:
            return kind, int(addr, 16)
        except ValueError:
            pass
    return None


class HostBoard:
    def __init__(self, config=None):
        config = config or {}
        sim = config.get("sim") or {}
        self.i2c = SimI2C()
        self._chips = {}
        keys = list(DEFAULT_CHIPS) + [k for k in sim if k not in DEFAULT_CHIPS]
        for key in keys:
            parsed = _chip_key(key)
            if parsed is None or (key in sim and sim[key] is None):
                continue
            kind, address = parsed
            spec = sim.get(key) or {}
            chip = _sim_class(kind)(address, spec)
            if spec.get("present", True) is False:
                chip.unplug()
            self.i2c.add(chip)
            self._chips[key] = chip
        self.adc = {}
        # The chips were powered just now, as they were made: detection waits for the slow
        # starters among them (an SCD4x: 1000 ms). Imported here: needed only at boot.
        from drivers import detect

        pairs = detect.nodes([self.i2c], config, powered_ms=0)

        def make_adc(entry, atten):
            node = entry.get("node") or "adc-%d" % entry["pin"]
            spec = sim.get(node) or (sim.get("adc") if not self.adc else None)
            a = SimADC(spec, entry.get("divider", (1, 1)))
            self.adc[node] = a
            return a

        channels = config.get("adc")
        pairs += adc_driver.nodes(ADC_CHANNELS if channels is None else channels, make_adc)
        if config.get("mcu", True):
            spec = sim.get("mcu") or {}
            self.mcu = SimMCU(spec)
            if spec.get("raw"):
                device = MCUTemperature(raw_temperature=self.mcu.raw_temperature, chip="ESP32")
            else:
                device = MCUTemperature(mcu_temperature=self.mcu.mcu_temperature, chip="host")
            pairs.append(("mcu", device))
        self.nodes = pairs
        self.led = SimLED()

    def chip(self, key):
        """The simulated chip behind node id `key` ("bme280-76")."""
        return self._chips[key]


def build(config=None):
    """A fresh simulated board (its buses, chips, ADC, MCU, LED) and its nodes."""
    return HostBoard(config)


def nodes(config=None):
    return HostBoard(config).nodes


def led(config=None):
    return SimLED()

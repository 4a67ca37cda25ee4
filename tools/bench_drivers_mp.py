# Driver readout cost under MicroPython: run by tools/bench_drivers.py (or standalone:
# micropython tools/bench_drivers_mp.py). Prints one JSON object per node.
#
# "real": readouts against the simulated chip with the conversion times slept for real.
# "cpu":  the same readout replayed from a recording of the bus replies, with every sleep
#         made zero: the driver's own time and allocations, without the chip and simulator.
import sys

_root = (__file__.rpartition("/")[0] or ".") + "/.."
sys.path.insert(0, _root + "/boards/host")
sys.path.insert(0, _root + "/lib")

import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import micropython  # noqa: E402

REAL_RUNS = 3
CPU_RUNS = 50


class ReplayBus:
    """Records a SimI2C's replies, then plays them back into the driver's buffers."""

    def __init__(self, bus):
        self.bus = bus
        self.replies = []
        self.i = 0
        self.replaying = False

    def _fill(self, buf):
        rec = self.replies[self.i]
        self.i += 1
        for k in range(len(buf)):
            buf[k] = rec[k]

    def writeto(self, addr, buf, stop=True):
        if self.replaying:
            return len(buf)
        return self.bus.writeto(addr, buf, stop)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        if not self.replaying:
            self.bus.writeto_mem(addr, memaddr, buf)

    def readfrom_into(self, addr, buf, stop=True):
        if self.replaying:
            return self._fill(buf)
        self.bus.readfrom_into(addr, buf, stop)
        self.replies.append(bytes(buf))

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        if self.replaying:
            return self._fill(buf)
        self.bus.readfrom_mem_into(addr, memaddr, buf)
        self.replies.append(bytes(buf))


def nodes():
    from sim_adc import SimADC, SimMCU
    from sim_aht20 import SimAHT20
    from sim_bh1750 import SimBH1750
    from sim_bme280 import SimBME280, SimBMP280
    from sim_i2c import SimI2C
    from sim_scd4x import SimSCD4x
    from sim_sht3x import SimSHT3x
    from sim_sht4x import SimSHT4x

    from drivers.adc import ADCChannel
    from drivers.aht20 import AHT20
    from drivers.bh1750 import BH1750
    from drivers.bme280 import BME280, BMP280
    from drivers.mcu_temp import MCUTemperature
    from drivers.scd4x import SCD4x
    from drivers.sht3x import SHT3x
    from drivers.sht4x import SHT4x

    def i2c(driver, sim, address):
        # An SCD4x sampling every 200 ms, already past its 1 s power-up.
        spec = {"interval_ms": 200, "power_up_ms": 0} if sim is SimSCD4x else {}
        bus = ReplayBus(SimI2C(sim(address, spec)))
        return bus, driver(bus, address)

    yield ("bme280-76",) + i2c(BME280, SimBME280, 0x76)
    yield ("bmp280-77",) + i2c(BMP280, SimBMP280, 0x77)
    yield ("sht3x-44",) + i2c(SHT3x, SimSHT3x, 0x44)
    yield ("sht4x-44",) + i2c(SHT4x, SimSHT4x, 0x44)
    yield ("aht20-38",) + i2c(AHT20, SimAHT20, 0x38)
    yield ("bh1750-23",) + i2c(BH1750, SimBH1750, 0x23)
    yield ("scd4x-62",) + i2c(SCD4x, SimSCD4x, 0x62)
    yield "adc-34", None, ADCChannel(SimADC({"voltage": 3.3}, (2, 1)), 3, 34, (2, 1), 16)
    yield "mcu", None, MCUTemperature(raw_temperature=SimMCU().raw_temperature)


async def bench(name, bus, device):
    await device.read()  # initialisation, not measured
    if name.startswith("scd4x"):
        await asyncio.sleep_ms(250)  # a fresh sample waits: measure the full readout
    t0 = time.ticks_us()
    for _ in range(REAL_RUNS):
        await device.read()
        if name.startswith("scd4x"):
            await asyncio.sleep_ms(250)
    real_us = time.ticks_diff(time.ticks_us(), t0) // REAL_RUNS
    if name.startswith("scd4x"):
        real_us -= 250_000
    if bus is not None:
        bus.replies = []
        await device.read()  # the readout to replay
        bus.replaying = True
    sleep_ms = asyncio.sleep_ms
    asyncio.sleep_ms = lambda ms: sleep_ms(0)  # conversion times excluded
    try:
        gc.collect()
        m0 = micropython.mem_total()
        t0 = time.ticks_us()
        for _ in range(CPU_RUNS):
            if bus is not None:
                bus.i = 0
            await device.read()
        cpu_us = time.ticks_diff(time.ticks_us(), t0) / CPU_RUNS
        alloc = (micropython.mem_total() - m0) / CPU_RUNS
    finally:
        asyncio.sleep_ms = sleep_ms
    return {"node": name, "real_ms": real_us / 1000, "cpu_us": cpu_us, "alloc_bytes": alloc}


async def main():
    for name, bus, device in nodes():
        print(json.dumps(await bench(name, bus, device)))


asyncio.run(main())

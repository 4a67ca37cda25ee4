# Bosch BME280/BMP280 driver against the simulated chip; the datasheet's worked example first.
import sim_bme280
from drvtest import SimClock
from sim_bme280 import CAL_TP, SimBME280, SimBMP280
from sim_i2c import SimI2C

from drivers.bme280 import BME280, BMP280, probe
from drivers.errors import BusyError, SensorError


def datasheet_driver():
    # BMP280 datasheet §3.12: calibration words of the worked example.
    d = BMP280(None)
    d._cal = (  # dig_T1..T3, dig_P1..P9
        27504,
        26435,
        -1000,
        36477,
        -10685,
        3024,
        2855,
        140,
        -7,
        15500,
        -14600,
        6000,
    )
    return d


def test_datasheet_example_temperature_is_25_08_degrees():
    d = datasheet_driver()
    assert d.compensate_t(519888) == 2508
    assert d._t_fine == 128422


def test_datasheet_example_pressure_int64_is_100653_pascal():
    d = datasheet_driver()
    d.compensate_t(519888)
    p = d.compensate_p(415148)
    # The int64 code as printed, with t_fine = 128422, gives 25767233 (100653.25 Pa); the
    # datasheet's 100653.27 Pa is the floating-point formula's result (next test).
    assert p == 25767233
    assert p // 256 == 100653
    assert abs(p / 256 - 100653.27) < 0.03


def test_simulator_float_formulas_reproduce_the_datasheet_example():
    sim = SimBMP280(0x76)
    tf = sim.t_fine(519888)
    assert abs(tf / 5120.0 - 25.08) < 0.005
    assert abs(sim.pressure(415148, tf) - 100653.27) < 0.01


def test_simulator_holds_the_datasheet_calibration():
    assert CAL_TP[:3] == (27504, 26435, -1000)


def bus_with(chip):
    return SimI2C(chip), chip


async def test_configured_values_come_back_through_the_integer_compensation():
    bus, chip = bus_with(
        SimBME280(0x76, {"temperature": 21.5, "humidity": 45.0, "pressure": 1013.25})
    )
    t, h, p, name, addr = await BME280(bus, 0x76).read()
    assert t == "21.50"
    assert abs(float(h) - 45.0) <= 0.02  # 16-bit humidity word
    assert abs(float(p) - 1013.25) <= 0.03  # 2.6 Pa at oversampling x1
    assert (name, addr) == ("BME280", "0x76")


async def test_values_across_the_operating_range_are_recovered():
    bus, chip = bus_with(SimBME280(0x76))
    d = BME280(bus, 0x76, osrs_t=5, osrs_p=5)
    for t, h, p in ((-40.0, 0.0, 300.0), (0.0, 50.0, 900.0), (85.0, 100.0, 1100.0)):
        chip.env.set(temperature=t, humidity=h, pressure=p)
        rt, rh, rp, _, _ = await d.read()
        assert abs(float(rt) - t) <= 0.01, rt
        assert abs(float(rh) - h) <= 0.05, rh
        assert abs(float(rp) - p) <= 0.01, rp


async def test_bmp280_reports_temperature_and_pressure_only():
    bus, _ = bus_with(SimBMP280(0x77, {"temperature": -3.25, "pressure": 980.0}))
    d = BMP280(bus, 0x77)
    values = await d.read()
    assert len(values) == len(BMP280.FIELDS) == 4
    assert values[0] == "-3.25"
    assert abs(float(values[1]) - 980.0) <= 0.03


def test_probe_tells_bme280_from_bmp280_by_chip_id():
    bus = SimI2C(SimBME280(0x76), SimBMP280(0x77))
    assert probe(bus, 0x76) == "bme280"
    assert probe(bus, 0x77) == "bmp280"
    assert probe(bus, 0x40) is None


async def test_bme280_driver_refuses_a_bmp280():
    bus, _ = bus_with(SimBMP280(0x76))
    try:
        await BME280(bus, 0x76).read()
    except SensorError as e:
        assert "chip id 0x58" in str(e)
    else:
        raise AssertionError("no error")


def test_a_conversion_takes_time_and_shows_busy_meanwhile():
    with SimClock(sim_bme280) as clock:
        bus, chip = bus_with(SimBME280(0x76))
        clock.us += 2000  # the NVM copy after power-on
        bus.writeto_mem(0x76, 0xF4, b"\x25")  # osrs_t x1, osrs_p x1, forced
        clock.us += 1000  # well inside the conversion
        assert bus.readfrom_mem(0x76, 0xF3, 1)[0] & 0x08
        assert bus.readfrom_mem(0x76, 0xFA, 3) == b"\x80\x00\x00"  # no result yet
        clock.us += 9300  # past the maximum for these settings (§9.1: 9.3 ms)
        assert not bus.readfrom_mem(0x76, 0xF3, 1)[0] & 0x08
        assert bus.readfrom_mem(0x76, 0xFA, 3) != b"\x80\x00\x00"
        assert chip.conversions == 1


def test_soft_reset_copies_the_nvm_for_2_ms_with_im_update_set():
    # Table 1: start-up time 2 ms; status.im_update (bit 0) is set while the NVM data are
    # copied to the image registers (§5.4.4), which read zero until then. The part's time is
    # the test's: on a loaded host more than 2 ms may pass between two lines.
    with SimClock(sim_bme280) as clock:
        bus, chip = bus_with(SimBME280(0x76))
        clock.us += 2000  # the copy after power-on
        calibration = bus.readfrom_mem(0x76, 0x88, 24)
        assert calibration != bytes(24)
        bus.writeto_mem(0x76, 0xE0, b"\xb6")
        clock.us += 1999
        assert bus.readfrom_mem(0x76, 0xF3, 1)[0] & 0x01
        assert bus.readfrom_mem(0x76, 0x88, 24) == bytes(24)
        clock.us += 1
        assert not bus.readfrom_mem(0x76, 0xF3, 1)[0] & 0x01
        assert bus.readfrom_mem(0x76, 0x88, 24) == calibration


async def test_init_waits_for_the_nvm_copy_to_end():
    # A copy that outlasts the driver's 2 ms start-up wait: only polling im_update gets the
    # calibration words (a driver that stopped waiting would compensate with zeros).
    import sim_bme280

    saved = sim_bme280.NVM_COPY_US
    sim_bme280.NVM_COPY_US = 6000
    try:
        bus, chip = bus_with(SimBME280(0x76, {"temperature": 19.5}))
        values = await BME280(bus, 0x76).read()
    finally:
        sim_bme280.NVM_COPY_US = saved
    assert values[0] == "19.50"


async def test_unplugged_chip_raises_sensor_error_enodev():
    bus, chip = bus_with(SimBME280(0x76))
    d = BME280(bus, 0x76)
    await d.read()
    chip.unplug()
    try:
        await d.read()
    except SensorError as e:
        assert e.errno == 19
        assert "BME280 at 0x76" in str(e)
    else:
        raise AssertionError("no error")


async def test_bus_timeout_raises_sensor_error_etimedout():
    bus, chip = bus_with(SimBME280(0x76))
    chip.timeout = True
    try:
        await BME280(bus, 0x76).read()
    except SensorError as e:
        assert e.errno == 116
    else:
        raise AssertionError("no error")


async def test_stuck_busy_flag_raises_busy_error():
    bus, chip = bus_with(SimBME280(0x76))
    d = BME280(bus, 0x76)
    await d.read()
    chip.stuck_busy = True
    try:
        await d.read()
    except BusyError as e:
        assert e.errno == 116
    else:
        raise AssertionError("no error")
    chip.stuck_busy = False
    chip.power_on()
    assert (await d.read())[0] == "21.50"


async def test_driver_reinitialises_when_the_chip_comes_back():
    bus, chip = bus_with(SimBME280(0x76, {"temperature": 30.0}))
    d = BME280(bus, 0x76)
    await d.read()
    chip.unplug()
    for _ in range(2):
        try:
            await d.read()
        except SensorError:
            pass
    assert not d._ready
    chip.plug()
    chip.env.set(temperature=31.0)
    assert (await d.read())[0] == "31.00"
    assert d._ready


async def test_a_raw_temperature_equal_to_the_reset_value_is_a_reading():
    # 0x80000 is the data registers' reset value (§5.3) and also a valid ADC word: with
    # the datasheet's calibration it is 26.46 °C, an ordinary room temperature.
    sim = SimBME280(0x76)
    t = sim.t_fine(0x80000) / 5120.0
    sim.env.set(temperature=t)
    assert sim.raw_values()[0] == 0x80000
    bus = SimI2C(sim)
    assert (await BME280(bus, 0x76).read())[0] == "26.46"


async def test_a_reset_during_the_conversion_is_an_error_not_a_reading():
    import asyncio

    bus, chip = bus_with(SimBME280(0x76))
    d = BME280(bus, 0x76)
    await d.read()

    async def glitch():
        await asyncio.sleep_ms(1)
        chip.power_on()  # a supply dip: registers back to their reset values (§5.3)

    task = asyncio.create_task(glitch())
    e = await expect_error(d.read())
    await task
    assert isinstance(e, SensorError) and "no conversion result" in str(e), e


async def expect_error(coro):
    try:
        await coro
    except Exception as e:  # noqa: BLE001 - the test inspects what came out
        return e
    raise AssertionError("no error")


async def test_skipped_humidity_is_published_as_missing():
    # §3.5: osrs_h = 0 skips the humidity measurement (output 0x8000).
    bus, _ = bus_with(SimBME280(0x76, {"temperature": 20.0}))
    t, h, p, _, _ = await BME280(bus, 0x76, osrs_h=0).read()
    assert t == "20.00" and h is None and p is not None


async def test_skipped_pressure_is_published_as_missing():
    # §3.5: osrs_p = 0 skips the pressure measurement (output 0x80000).
    bus, _ = bus_with(SimBMP280(0x76, {"temperature": 20.0}))
    assert await BMP280(bus, 0x76, osrs_p=0).read() == ("20.00", None, "BMP280", "0x76")


def test_skipping_temperature_or_an_unknown_oversampling_code_is_refused():
    # Temperature gives t_fine, which pressure and humidity need (§4.2.3); codes are 0..7.
    for kw in ({"osrs_t": 0}, {"osrs_p": 8}, {"osrs_h": -1}):
        try:
            BME280(None, 0x76, **kw)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % kw)


def test_a_pressure_that_cannot_be_compensated_is_an_error_not_0_hpa():
    # The reference code returns 0 when var1 is 0 (dig_P1 = 0: an NVM that reads zeros),
    # which a readout would publish as 0.00 hPa.
    d = datasheet_driver()
    d._cal = d._cal[:3] + (0,) + d._cal[4:]  # dig_P1
    d.compensate_t(519888)
    try:
        d.compensate_p(415148)
    except SensorError as e:
        assert "pressure" in str(e), e
    else:
        raise AssertionError("no error")


async def test_calibration_words_that_read_zero_fail_the_init():
    # dig_T1 and dig_P1 are never 0 on a working part: zeros are an NVM not (yet) copied,
    # and would give 0.00 °C and 0.00 hPa as readings.
    bus, chip = bus_with(SimBME280(0x76))

    def blank():  # the copy ends, but leaves the words at zero
        chip.regs[0xF3] &= ~0x01

    chip._copy_nvm = blank
    d = BME280(bus, 0x76)
    try:
        await d.init()
    except SensorError as e:
        assert "calibration" in str(e), e
    else:
        raise AssertionError("no error")


async def test_the_first_access_after_the_soft_reset_waits_the_whole_start_up_time():
    # Table 1: 2 ms; a sleep may end up to a millisecond early (drvtest.SimClock models it).
    from drivers import bme280 as bme280_module

    with SimClock(sim_bme280, bme280_module) as clock:
        bus, chip = bus_with(SimBME280(0x76))
        clock.us += 2000
        times = []
        write = chip.write

        def spy(data, stop):
            times.append((clock.us, bytes(data)))
            return write(data, stop)

        chip.write = spy
        await BME280(bus, 0x76).init()
        i = [data for _, data in times].index(b"\xe0\xb6")
        assert times[i + 1][0] - times[i][0] >= 2000, times


async def test_humidity_above_100_percent_is_clamped_to_100():
    bus, _ = bus_with(SimBME280(0x76))
    d = BME280(bus, 0x76)
    await d.init()
    d.compensate_t(519888)
    assert d.compensate_h(0xFFFF) == 100 * 1024

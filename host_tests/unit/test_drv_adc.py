# The onboard ADC channel driver against the simulated ADC.
from sim_adc import SimADC

from drivers import adc
from drivers.adc import ADCChannel


async def test_divider_and_averaging_give_the_node_voltage_to_the_millivolt():
    sim = SimADC({"voltage": 3.3}, divider=(2, 1))
    ch = ADCChannel(sim, 3, pin=34, divider=(2, 1), samples=16)
    volts, pin, atten = await ch.read()
    assert abs(float(volts) - 3.3) <= 0.0015
    assert (pin, atten) == ("GPIO34", "11dB")
    assert sim.reads == 16


async def test_decimals_follow_one_adc_step():
    sim = SimADC({"voltage": 0.5})
    assert ADCChannel(sim, 0).places == 4  # 0.23 mV per step at 0 dB
    assert ADCChannel(sim, 3, divider=(2, 1)).places == 3  # 1.2 mV per step
    assert ADCChannel(sim, 3, divider=(11, 1)).places == 3  # 6.6 mV per step
    assert ADCChannel(sim, 3, divider=(50, 1)).places == 2  # 30 mV per step


def test_attenuation_is_set_explicitly():
    sim = SimADC({"voltage": 1.0})
    ADCChannel(sim, 2)
    assert sim._atten == 2


def test_read_uv_averages_away_the_noise():
    sim = SimADC({"voltage": 1.0})
    ch = ADCChannel(sim, 3, samples=4)
    assert abs(ch.read_uv() - 1_000_000) <= 600


def test_sample_count_is_bounded():
    try:
        ADCChannel(SimADC(), 3, samples=65)
    except ValueError:
        return
    raise AssertionError("accepted")


def test_nodes_builds_channels_from_entries():
    made = []

    def make(entry, atten):
        made.append((entry["pin"], atten))
        return SimADC({"voltage": 1.0})

    pairs = adc.nodes([{"pin": 34, "atten": "6dB"}, {"pin": 35, "node": "vbat"}], make)
    assert [p[0] for p in pairs] == ["adc-34", "vbat"]
    assert made == [(34, 2), (35, 3)]


def test_64_samples_are_accepted():
    assert ADCChannel(SimADC(), 3, samples=64).read_uv() > 0


async def test_a_divider_whose_denominator_is_not_one_scales_the_voltage():
    # 147k over 100k, as the config checker takes it: every other test divides by 1.
    sim = SimADC({"voltage": 3.3}, divider=(147, 100))
    ch = ADCChannel(sim, 3, pin=34, divider=(147, 100), samples=16)
    volts, _, _ = await ch.read()
    assert abs(float(volts) - 3.3) <= 0.003, volts

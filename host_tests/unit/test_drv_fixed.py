# Decimal strings from integer ratios.
from drivers.fixed import div_round, fixed


def test_places_and_rounding_half_away_from_zero():
    assert fixed(2508, 100, 2) == "25.08"
    assert fixed(1013, 1, 0) == "1013"
    assert fixed(5, 1000, 2) == "0.01"
    assert fixed(-5, 1000, 2) == "-0.01"
    assert fixed(-1, 3, 1) == "-0.3"


def test_negative_zero_is_printed_without_sign():
    assert fixed(-4, 1000, 2) == "0.00"


def test_div_round():
    assert div_round(7, 2) == 4
    assert div_round(6, 4) == 2
    assert div_round(5, 4) == 1


def test_a_denominator_holding_the_scale_gives_the_same_digits():
    # num / (den / 10^places): the same rounding, without the product num * 10^places.
    assert fixed(655359375 - 163840000, 3276800, 2) == "150.00"  # AHT20 S_T = 2^20 - 1
    assert fixed(-5, 1000, 2) == "-0.01"
    assert fixed(-4, 1000, 2) == "0.00"
    assert fixed(5, -100, 1) == "-0.1"
    assert fixed(25767233, 25600, 2) == "1006.53"  # BME280 datasheet pressure, hPa

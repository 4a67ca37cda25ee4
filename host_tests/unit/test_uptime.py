from esp32ticks import DAY_MS, Esp32Ticks

from thing import uptime as uptime_module
from thing.uptime import HALF_PERIOD_MS, Uptime, since


def _esp32_ticks(now=0):
    ticks = Esp32Ticks(now)
    uptime_module.time = ticks
    return ticks


def test_uptime_counts_on_past_the_wrap_of_ticks():
    ticks = _esp32_ticks(5_000)
    up = Uptime()
    for _ in range(40 * 24):  # 40 days, read once an hour as run() does
        ticks.advance(3_600_000)
        up.ms()
    assert up.ms() == 40 * DAY_MS
    assert ticks.now < 40 * DAY_MS  # the ticks wrapped meanwhile


def test_since_is_never_negative_for_a_tick_over_half_a_period_old():
    ticks = _esp32_ticks()
    t = ticks.ticks_ms()
    ticks.advance(7 * DAY_MS)
    assert ticks.ticks_diff(ticks.ticks_ms(), t) < 0  # what a bare check would see
    assert since(ticks.ticks_ms(), t) == HALF_PERIOD_MS
    ticks.advance(-7 * DAY_MS + 1_234)
    assert since(ticks.ticks_ms(), t) == 1_234

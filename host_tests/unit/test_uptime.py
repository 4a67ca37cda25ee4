import asyncio

from esp32ticks import DAY_MS, install

from thing import uptime as uptime_module
from thing.uptime import Uptime
from xmpp.ticks import HALF_PERIOD_MS, since


def _esp32_ticks(now=0):
    return install(uptime_module, now=now)


def test_uptime_counts_on_past_the_wrap_of_ticks():
    ticks = _esp32_ticks(5_000)
    up = Uptime()
    for _ in range(40 * 24):  # 40 days, read once an hour as run() does
        ticks.advance(3_600_000)
        up.seconds()
    assert up.seconds() == 40 * DAY_MS // 1000
    assert ticks.now < 40 * DAY_MS  # the ticks wrapped meanwhile


def test_since_is_never_negative_for_a_tick_over_half_a_period_old():
    ticks = _esp32_ticks()
    t = ticks.ticks_ms()
    ticks.advance(7 * DAY_MS)
    assert ticks.ticks_diff(ticks.ticks_ms(), t) < 0  # what a bare check would see
    assert since(ticks.ticks_ms(), t) == HALF_PERIOD_MS
    ticks.advance(-7 * DAY_MS + 1_234)
    assert since(ticks.ticks_ms(), t) == 1_234


async def test_once_started_uptime_steps_by_itself_and_starts_only_once():
    ticks = _esp32_ticks(5_000)
    up = Uptime(step_ms=5)
    up.start()
    task = up._task  # noqa: SLF001
    up.start()
    assert up._task is task  # noqa: SLF001
    for _ in range(6):  # 18 days, 3 a step: over a wrap, and each step under half a period
        await asyncio.sleep_ms(10)
        ticks.advance(3 * DAY_MS)
    await asyncio.sleep_ms(10)
    up.stop()
    assert up.seconds() == 18 * DAY_MS // 1000


def test_milliseconds_left_over_at_each_reading_are_kept_for_the_next():
    ticks = _esp32_ticks(0)
    up = Uptime()
    for _ in range(10):
        ticks.advance(1_250)
        up.seconds()
    assert up.seconds() == 12  # 12.5 s: the 250s add up, none is lost to rounding

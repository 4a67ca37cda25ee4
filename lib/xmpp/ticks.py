"""Ages from ticks_ms() that stay right on an ESP32 after a week.

There ticks_ms() wraps every 2**30 ms (12.4 days) and ticks_diff() answers in
[-2**29, 2**29): a tick taken more than 6.2 days ago reads as one in the future. `since()`
is for checks of the kind "is t older than a limit" (limits far below six days, or a span
that only has to be known as long): a span past half the period reads as at least half the
period, never negative. Here, below the roles and the board code, so every layer uses it.
"""

import time

from micropython import const

HALF_PERIOD_MS = const(1 << 29)  # ticks_diff()'s range on an ESP32: the longest span it sees


def since(now, t):
    """ms from tick t to tick now; HALF_PERIOD_MS when t is more than half a period ago."""
    d = time.ticks_diff(now, t)
    return d if d >= 0 else HALF_PERIOD_MS

"""Spans of time longer than ticks_ms() can tell apart.

On an ESP32 ticks_ms() wraps every 2**30 ms (12.4 days) and ticks_diff() answers in
[-2**29, 2**29): a tick taken more than 6.2 days ago reads as one in the future, and one 12.4
days old as new. A board runs for months, so:
- `since(now, t)`: for checks of the kind "is t older than a limit" (limits far below six
  days); a span past half the period reads as at least half the period, never negative.
- `Uptime`: time since start, added up in steps shorter than half the period (once
  started, one an hour), right however long the board runs.
"""

import asyncio
import time

from micropython import const

HALF_PERIOD_MS = const(1 << 29)  # ticks_diff()'s range on an ESP32: the longest span it sees
_STEP_MS = const(3_600_000)


def since(now, t):
    """ms from tick t to tick now; HALF_PERIOD_MS when t is more than half a period ago."""
    d = time.ticks_diff(now, t)
    return d if d >= 0 else HALF_PERIOD_MS


class Uptime:
    def __init__(self, step_ms=_STEP_MS):
        self._last = time.ticks_ms()
        self._ms = 0
        self._step = step_ms
        self._task = None

    def ms(self):
        now = time.ticks_ms()
        self._ms += time.ticks_diff(now, self._last)
        self._last = now
        return self._ms

    def start(self):
        """Take the steps from now on (once: the firmware starts it before joining WiFi,
        which may take days, the Thing again when it runs)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self):
        while True:
            self.ms()
            await asyncio.sleep_ms(self._step)

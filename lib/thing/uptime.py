"""Time since start, right however long the board runs.

On an ESP32 ticks_ms() wraps every 2**30 ms (12.4 days), and ticks_diff() only tells spans
under half that apart (xmpp.ticks). `Uptime` adds the span up in steps shorter than that
(once started, one an hour).
"""

import asyncio
import time

from micropython import const

_STEP_MS = const(3_600_000)


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

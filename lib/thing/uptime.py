"""Time since start, right however long the board runs.

On an ESP32 ticks_ms() wraps every 2**30 ms (12.4 days), and ticks_diff() only tells spans
under half that apart (xmpp.ticks). `Uptime` adds the span up in steps shorter than that
(once started, one an hour). It keeps whole seconds and the milliseconds left over: a
count of milliseconds would outgrow the 31-bit small int of a 32-bit port after those same
12.4 days and allocate a long int at every step from then on.
"""

import asyncio
import time

from micropython import const

_STEP_MS = const(3_600_000)


class Uptime:
    def __init__(self, step_ms=_STEP_MS):
        self._last = time.ticks_ms()
        self._s = 0
        self._ms = 0  # under 1000
        self._step = step_ms
        self._task = None

    def seconds(self):
        now = time.ticks_ms()
        ms = self._ms + time.ticks_diff(now, self._last)
        self._last = now
        self._s += ms // 1000
        self._ms = ms % 1000
        return self._s

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
            self.seconds()
            await asyncio.sleep_ms(self._step)

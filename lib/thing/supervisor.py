"""The hardware watchdog, fed only while the board's work is measurably getting done.

A watchdog fed from a timer proves only that the timer runs. Here each task that matters
gets a probe, a callable `probe(now_ms) -> None | "why not"`, and the supervisor feeds the
watchdog on a tick only when every probe passes. A stuck event loop stops the ticks; a
dead or wedged task fails its probe; either way the board resets within the watchdog's
timeout instead of sitting offline for ever.

    sup = Supervisor(machine.WDT(timeout=60_000), log)
    sup.watch("wifi", Heartbeat(lambda: wifi.beat, 45_000))
    sup.watch("xmpp", Online(client, 1_800_000))
    asyncio.create_task(sup.run())
"""

import asyncio
import time

from micropython import const

from xmpp.ticks import since

# mypy alone reads this as true (tools/typecheck.py): the calls on the WDT handed in are then
# checked against the ESP32 port's own; the compiler drops the block.
_MYPY = const(0)
if _MYPY:
    import machine

_LAG_WARN_MS = const(2000)  # the loop was blocked this much longer than a tick: say so


class Heartbeat:
    """Passes while `beat()` (a ticks_ms value, or None before the task started) is recent."""

    def __init__(self, beat, limit_ms, what="no sign of life"):
        self.beat = beat
        self.limit_ms = limit_ms
        self.what = what

    def __call__(self, now):
        t = self.beat()
        if t is None:
            return None
        age = since(now, t)
        if age > self.limit_ms:
            return "%s for %d s" % (self.what, age // 1000)
        return None


class Online:
    """Passes while the XMPP client is online, or was within `limit_ms`.

    The client reconnects by itself with a capped backoff; this only catches the cases that
    never end: a dead client task, or a network stack that no longer gets anywhere.
    """

    def __init__(self, client, limit_ms, now=None):
        self.client = client
        self.limit_ms = limit_ms
        self.last = time.ticks_ms() if now is None else now

    def __call__(self, now):
        if self.client.online.is_set():
            self.last = now
            return None
        away = since(now, self.last)
        if away > self.limit_ms:
            return "offline for %d s (last error: %s)" % (away // 1000, self.client.last_error)
        return None


class TaskAlive:
    """Fails once `task()` (an asyncio Task, or None before it started) has ended."""

    def __init__(self, task, what="task ended"):
        self.task = task
        self.what = what

    def __call__(self, now):
        t = self.task()
        if t is not None and t.done():
            return self.what
        return None


class Sampler:
    """Passes while the sensor's history sampler keeps turning.

    Uses `sensor.sampled` (ticks_ms at each turn and after each node read) where the sensor
    records it; otherwise only checks that the sampler task has not ended.
    """

    def __init__(self, sensor, limit_ms):
        self.sensor = sensor
        self.limit_ms = limit_ms

    def __call__(self, now):
        s = self.sensor
        task = getattr(s, "_sampler", None)
        if not s.history:
            return None
        if task is None or task.done():
            return "sampler not running"
        t = getattr(s, "sampled", None)
        if t is not None and since(now, t) > self.limit_ms:
            return "no sample for %d s" % (since(now, t) // 1000)
        return None


class NoWatchdog:
    """Stands in for machine.WDT when the config disables it; the probes still run."""

    def feed(self):
        pass


class Supervisor:
    def __init__(self, wdt, log, period_ms=5000):
        self.wdt: machine.WDT = wdt
        self.log = log
        self.period_ms = period_ms
        self.probes = []
        self.feeds = 0
        self.starving = None  # the problems that stop the feeding, as of the latest tick
        # Told each new set of problems ("name: why; ..."), and None once fed again: the
        # firmware keeps them on flash, so a watchdog reset is explained at the next boot.
        self.on_starve = None
        self.max_lag_ms = 0
        self._stop = False

    def watch(self, name, probe):
        self.probes.append((name, probe))

    def problems(self, now=None):
        """Every failing probe as 'name: why'; empty when all is well."""
        if now is None:
            now = time.ticks_ms()
        out = []
        for name, probe in self.probes:
            try:
                why = probe(now)
            except Exception as e:  # noqa: BLE001 - a broken probe must fail, not pass
                why = "probe failed: %r" % (e,)
            if why is not None:
                out.append("%s: %s" % (name, why))
        return out

    def tick(self, now=None):
        """Feed the watchdog if every probe passes; True if it was fed."""
        bad = self.problems(now)
        if not bad:
            self.wdt.feed()
            self.feeds += 1
            if self.starving is not None:
                self.log.info("watchdog: all tasks alive again")
                self.starving = None
                self._tell(None)
            return True
        # Said (logged, kept on flash) when the set of failing probes changes, not when a
        # reason only counts on ("offline for 20 s"): with the watchdog off in the config,
        # nothing would end a write to flash every tick.
        if self.starving is None or [p[: p.find(":")] for p in bad] != [
            p[: p.find(":")] for p in self.starving
        ]:
            why = "; ".join(bad)
            off = isinstance(self.wdt, NoWatchdog)  # the config's: nothing resets the board
            self.log.error(
                "watchdog: not fed%s: %s" % (" (off)" if off else ", the board resets soon", why)
            )
            self._tell(why)
        self.starving = bad
        return False

    def _tell(self, why):
        if self.on_starve is not None:
            try:
                self.on_starve(why)
            except Exception as e:  # noqa: BLE001 - the feeding decision stands regardless
                self.log.warn("watchdog: its reasons not kept: %r" % (e,))

    async def run(self):
        while not self._stop:
            self.tick()
            before = time.ticks_ms()
            await asyncio.sleep_ms(self.period_ms)
            lag = time.ticks_diff(time.ticks_ms(), before) - self.period_ms
            if lag > self.max_lag_ms:
                self.max_lag_ms = lag
            if lag > _LAG_WARN_MS:
                self.log.warn("watchdog: event loop was blocked for %d ms" % lag)

    def stop(self):
        self._stop = True

    def status_line(self):
        state = "starving: " + "; ".join(self.starving) if self.starving else "fed"
        return "Watchdog: %s, %d feeds, worst loop delay %d ms" % (
            state,
            self.feeds,
            self.max_lag_ms,
        )

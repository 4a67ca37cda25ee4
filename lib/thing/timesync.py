"""The board's wall clock, set over NTP before TLS and kept set.

An ESP32 boots believing it is 2000-01-01; mbedTLS then rejects every server certificate as
not yet valid, and readings would carry false timestamps. `sync()` asks NTP once (the frozen
`ntptime`, injected with the RTC so the host tests can pass fakes); `run()` retries with
backoff until the first answer, then re-syncs every `period_s`. `clock.synced` turns True
on the first plausible answer and stays so: between syncs the RTC drifts by seconds a day,
not years.

The answer is judged before the RTC is set, so `ntptime.time()` is asked, not
`ntptime.settime()` (which sets the RTC with whatever came back).

    ts = TimeSync(thing.clock, ntptime, machine.RTC(), log, host="pool.ntp.org")
    ts.sync() or await ts.wait()    # before the first TLS handshake
    asyncio.create_task(ts.run())
"""

import asyncio
import time

from micropython import const

from sensordata.clock import EPOCH_OFFSET
from xmpp.backoff import Backoff
from xmpp.ticks import HALF_PERIOD_MS, since

# mypy alone reads this as true (tools/typecheck.py): the calls on the RTC handed in are then
# checked against the ESP32 port's own; the compiler drops the block.
_MYPY = const(0)
if _MYPY:
    import machine

# 2025-01-01T00:00:00Z in Unix seconds: an answer before this is a broken server or a
# packet from nowhere, never the present.
_PLAUSIBLE = const(1_735_689_600)
# 2036-02-07T06:28:16Z, where NTP's 32-bit seconds wrap. ntptime reads every answer before
# 2024 as one of the next era, so a zero (a kiss-of-death packet, an unsynced router)
# arrives as 2036 or later: refused until that date is near (then raise this bound).
_NTP_ERA = const(2_085_978_496)
_SLICE_MS = const(1000)


class TimeSync:
    def __init__(self, clock, ntp, rtc, log, host="pool.ntp.org", period_s=3600, timeout_s=1,
                 backoff=None):  # fmt: skip
        self.clock = clock
        self.ntp = ntp
        self.rtc: machine.RTC = rtc
        self.log = log
        self.host = host
        self.period_ms = period_s * 1000
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff(5000, 300_000, 3_600_000)
        self.syncs = 0
        self.failures = 0
        self.error = None  # text of the last failure, None after a success
        self.synced_at = None  # ticks_ms of the last success
        # Last sign of life, for the supervisor; None until run() starts (after the WiFi
        # join, which may take longer than the NTP limit: that is WiFi's to judge).
        self.beat = None
        self._synced = asyncio.Event()
        if clock.synced:
            self._synced.set()

    def sync(self):
        """One NTP exchange (blocks for at most about `timeout_s`); True if the clock is set."""
        ntp = self.ntp
        ntp.host = self.host
        ntp.timeout = self.timeout_s
        self.beat = time.ticks_ms()
        try:
            t = ntp.time()  # seconds since the port's epoch
        except (OSError, OverflowError, IndexError, ValueError, MemoryError) as e:
            # OSError: DNS failure or no answer in time; MemoryError: its socket, its packet
            # (a re-sync keeps the clock, and the task its heartbeat); the others: a
            # malformed packet.
            return self._failed("NTP %s: %r" % (self.host, e))
        unix = t + EPOCH_OFFSET
        if not _PLAUSIBLE <= unix < _NTP_ERA:
            return self._failed("NTP %s answered an implausible time (%d)" % (self.host, unix))
        tm = time.gmtime(t)
        # machine.RTC's tuple: weekday 1..7 from Monday, as ntptime.settime() writes it.
        self.rtc.datetime((tm[0], tm[1], tm[2], tm[6] + 1, tm[3], tm[4], tm[5], 0))
        first = not self.clock.synced
        self.clock.synced = True
        self.syncs += 1
        self.error = None
        self.synced_at = time.ticks_ms()
        self.backoff.failures = 0
        self._synced.set()
        if first:
            self.log.info("clock set from NTP %s" % self.host)
        return True

    def _failed(self, text):
        self.failures += 1
        self.error = text
        self.log.warn(text)
        return False

    async def wait(self):
        """Until the clock has been set once."""
        await self._synced.wait()

    async def run(self):
        """Run for ever: retry until the first sync, then re-sync every period."""
        self.beat = time.ticks_ms()
        while True:
            if self.synced_at is None:
                if self.sync():
                    continue
                delay = self.backoff.next_ms()
            else:
                delay = self.period_ms
                if since(time.ticks_ms(), self.synced_at) >= self.period_ms:
                    self.sync()  # a failure keeps the clock: it was right at the last sync
                    delay = self.period_ms if self.error is None else self.backoff.next_ms()
            await self._sleep(delay)

    async def _sleep(self, ms):
        end = time.ticks_add(time.ticks_ms(), ms)
        while True:
            left = time.ticks_diff(end, time.ticks_ms())
            if left <= 0:
                return
            await asyncio.sleep_ms(min(left, _SLICE_MS))
            self.beat = time.ticks_ms()

    def status_line(self):
        if self.synced_at is None:
            if self.clock.synced:
                return "NTP: not used, the clock was set another way"
            return "NTP: %s, no answer yet (%s)" % (self.host, self.error or "trying")
        ago = since(time.ticks_ms(), self.synced_at)
        if ago < HALF_PERIOD_MS:
            line = "NTP: %s, last sync %d s ago" % (self.host, ago // 1000)
        else:
            days = HALF_PERIOD_MS // 86_400_000  # as far back as ticks can tell
            line = "NTP: %s, last sync over %d days ago" % (self.host, days)
        if self.error:
            line += " (last attempt failed: %s)" % self.error
        return line

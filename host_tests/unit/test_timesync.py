# thing.timesync with a fake ntptime module and clock.
import asyncio

from test_wifi_fakes import FakeClock, FakeNTP, FakeRTC, QuickBackoff, make_log
from waits import until

from thing.timesync import TimeSync


def make(*results, synced=False, period_s=3600):
    clock = FakeClock(synced=synced)
    ntp = FakeNTP(*results)
    log, out = make_log()
    ts = TimeSync(clock, ntp, FakeRTC(), log, "ntp.example.org", period_s, 2, QuickBackoff())
    return ts, clock, ntp, out


def test_a_successful_sync_marks_the_clock_synced():
    ts, clock, ntp, out = make(None)
    assert ts.sync()
    assert clock.synced
    assert ntp.calls == ["ntp.example.org"]
    assert ntp.timeout == 2
    assert ts.syncs == 1 and ts.error is None
    assert "clock set from NTP ntp.example.org" in out.text()
    # 2026-09-21T14:13:20Z, a Monday (weekday 1 in machine.RTC's tuple)
    assert ts.rtc.set == [(2026, 9, 21, 1, 14, 13, 20, 0)]


def test_no_answer_leaves_the_clock_unsynced_and_says_why():
    ts, clock, _, out = make(OSError(110))
    assert not ts.sync()
    assert not clock.synced
    assert ts.failures == 1
    assert "ntp.example.org" in ts.error and "110" in ts.error
    assert "W " in out.text()


def test_an_implausible_answer_is_not_believed_and_leaves_the_rtc_alone():
    # ntptime adds one NTP era (2**32 s) to any answer before 2024, so a zero answer comes
    # back as 2036-02-07T06:28:16Z; a server with a stale clock may say 2020.
    for answer in (2_085_978_496, 2_085_978_496 + 86400 * 365 * 20, 1_577_836_800):
        ts, clock, _, _ = make(answer)
        assert not ts.sync()
        assert not clock.synced
        assert "implausible" in ts.error
        assert ts.rtc.set == []


def test_a_malformed_packet_is_a_failure_not_a_crash():
    ts, clock, _, _ = make(OverflowError("overflow converting long int to machine word"))
    assert not ts.sync()
    assert not clock.synced


def test_a_failed_resync_keeps_the_clock_synced():
    ts, clock, _, _ = make(None, OSError(110))
    ts.sync()
    ts.sync()
    assert clock.synced
    assert ts.error is not None


async def test_run_retries_until_the_first_answer():
    ts, clock, ntp, _ = make(OSError(110), OSError(-202), None)
    task = asyncio.create_task(ts.run())
    await asyncio.wait_for_ms(ts.wait(), 10_000)  # a bound against a hang only
    task.cancel()
    assert clock.synced
    assert len(ntp.calls) == 3
    assert ts.backoff.floors == [0, 0]


async def test_run_resyncs_every_period():
    ts, _, ntp, _ = make(period_s=0)
    ts.period_ms = 5
    task = asyncio.create_task(ts.run())
    await until(lambda: len(ntp.calls) >= 3)  # the syncs, not a time a loaded host may overrun
    task.cancel()
    assert len(ntp.calls) >= 3


async def test_wait_returns_at_once_for_a_clock_already_set():
    ts, _, ntp, _ = make(synced=True)
    await asyncio.wait_for_ms(ts.wait(), 1000)
    assert ntp.calls == []


def test_status_line_before_and_after_the_first_sync():
    ts, _, _, _ = make(OSError(110), None)
    ts.sync()
    assert ts.status_line().startswith("NTP: ntp.example.org, no answer yet (NTP ")
    ts.sync()
    assert ts.status_line() == "NTP: ntp.example.org, last sync 0 s ago"


async def test_run_beats_while_sleeping_between_syncs():
    import time

    ts, _, _, _ = make(None)
    ts.period_ms = 60_000
    before = ts.beat
    task = asyncio.create_task(ts.run())
    # A beat a second after the start can only come from the sleep: the next sync is a
    # minute away. Waited for, not slept for: a loaded host may wake the sleep late.
    await until(lambda: time.ticks_diff(ts.beat, before) >= 1000, what="no beat while asleep")
    task.cancel()


async def test_a_sync_failing_for_a_week_is_still_retried_and_reported_as_old():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative: the re-sync must
    # still be due, and the status must not say "-500000 s ago".
    from esp32ticks import DAY_MS, install

    from thing import timesync

    ticks = install(timesync, now=1_000)
    ts, _, ntp, _ = make(None, *[OSError(110)] * 50, period_s=60)
    assert ts.sync()
    ticks.advance(7 * DAY_MS)
    task = asyncio.create_task(ts.run())
    await asyncio.sleep_ms(50)
    task.cancel()
    assert len(ntp.calls) > 1  # tried again, though the last success is a week old
    assert "last sync over 6 days ago" in ts.status_line(), ts.status_line()


def test_a_sync_resets_the_retry_backoff():
    from xmpp.backoff import Backoff

    ts, _, _, _ = make(OSError(110), None)
    ts.backoff = Backoff(5000, 300_000, 3_600_000)
    ts.sync()
    ts.backoff.next_ms()
    ts.sync()
    assert ts.backoff.failures == 0  # a later failure retries after the base delay again


async def test_a_failed_resync_is_retried_with_backoff_not_a_period_later():
    ts, _, ntp, _ = make(None, OSError(110), None)
    ts.period_ms = 20
    task = asyncio.create_task(ts.run())
    await until(lambda: len(ntp.calls) >= 3)  # the syncs, not a time a loaded host may overrun
    task.cancel()
    assert len(ntp.calls) >= 3
    assert ts.backoff.floors[:1] == [0]


async def test_a_resync_the_heap_cannot_afford_fails_like_any_other_and_the_task_beats_on():
    # ntptime allocates its packet, socket and address: out of memory, the task had ended,
    # its heartbeat with it, and the watchdog reset a board whose clock was set.
    ts, clock, ntp, _ = make(None, MemoryError("memory allocation failed"), period_s=1)
    task = asyncio.create_task(ts.run())
    await until(lambda: len(ntp.calls) >= 3, 5000, "no sync after the failed one")
    assert not task.done() and clock.synced and ts.failures == 1
    task.cancel()

# thing.supervisor: the watchdog is fed only while every probe passes.
import asyncio
import time

from test_wifi_fakes import FakeWDT, make_log
from waits import until

from thing.supervisor import Heartbeat, Online, Sampler, Supervisor, TaskAlive


class FakeClient:
    def __init__(self, online=False):
        self.online = asyncio.Event()
        if online:
            self.online.set()
        self.last_error = "timeout"


class FakeTask:
    def __init__(self, done=False):
        self._done = done

    def done(self):
        return self._done


class FakeSensor:
    def __init__(self, history=8, task=None, sampled=None):
        self.history = history
        self._sampler = task
        if sampled is not None:
            self.sampled = sampled


def make(*probes):
    wdt = FakeWDT()
    log, out = make_log()
    sup = Supervisor(wdt, log, period_ms=5)
    for i, p in enumerate(probes):
        sup.watch("p%d" % i, p)
    return sup, wdt, out


def test_feeds_when_every_probe_passes():
    sup, wdt, _ = make(lambda now: None, lambda now: None)
    assert sup.tick(1000)
    assert wdt.feeds == 1


def test_does_not_feed_while_a_probe_fails_and_says_why_once():
    sup, wdt, out = make(lambda now: None, lambda now: "stuck")
    assert not sup.tick(1000)
    assert not sup.tick(2000)
    assert wdt.feeds == 0
    assert out.text().count("not fed") == 1
    assert "p1: stuck" in out.text()


def test_feeds_again_once_the_problem_is_gone():
    state = ["stuck"]
    sup, wdt, out = make(lambda now: state[0])
    sup.tick(0)
    state[0] = None
    assert sup.tick(10)
    assert wdt.feeds == 1 and sup.starving is None
    assert "alive again" in out.text()


def test_the_starving_hook_hears_each_new_set_of_failing_probes_and_the_recovery():
    # The firmware keeps the reasons on flash: a watchdog reset is then explained at the
    # next boot. Heard once per change of the failing probes, not once per tick, nor when a
    # reason only counts on ("offline for 15 s", "... 20 s"): each is a write to flash, and
    # with the watchdog off in the config nothing resets the board to end them.
    state = ["stuck for 0 s", None]
    sup, _, out = make(lambda now: state[0], lambda now: state[1])
    heard = []
    sup.on_starve = heard.append
    sup.tick(0)
    for i in range(1, 50):
        state[0] = "stuck for %d s" % (5 * i)
        sup.tick(10 * i)
    assert sup.status_line().startswith("Watchdog: starving: p0: stuck for 245 s")
    state[1] = "gone"
    sup.tick(500)
    state[0] = state[1] = None
    sup.tick(510)
    sup.tick(520)
    assert heard == ["p0: stuck for 0 s", "p0: stuck for 245 s; p1: gone", None]
    assert out.text().count("not fed") == 2


def test_a_failing_starving_hook_does_not_stop_the_supervisor():
    sup, wdt, out = make(lambda now: "stuck")

    def broken(reasons):
        raise OSError(28)  # ENOSPC

    sup.on_starve = broken
    assert not sup.tick(0)
    assert "not fed" in out.text()


def test_a_probe_that_raises_counts_as_failing():
    def broken(now):
        raise KeyError("x")

    sup, wdt, _ = make(broken)
    assert not sup.tick(0)
    assert "probe failed" in sup.problems(0)[0]


def test_heartbeat_fails_when_the_task_has_been_silent_too_long():
    beat = [1000]
    hb = Heartbeat(lambda: beat[0], 5000, "WiFi task silent")
    assert hb(5999) is None
    assert hb(6001) == "WiFi task silent for 5 s"


def test_heartbeat_passes_before_the_task_started():
    assert Heartbeat(lambda: None, 10)(99999) is None


def test_heartbeat_survives_ticks_wraparound():
    now = time.ticks_add(0, 5)
    beat = time.ticks_add(0, -100)  # just before the wrap
    assert Heartbeat(lambda: beat, 1000)(now) is None
    assert Heartbeat(lambda: beat, 50)(now) is not None


def test_online_allows_a_bounded_backoff_then_fails():
    client = FakeClient(online=False)
    probe = Online(client, 60_000, now=0)
    assert probe(59_000) is None
    why = probe(61_000)
    assert why.startswith("offline for 61 s") and "timeout" in why


def test_online_counts_from_the_last_time_the_client_was_online():
    client = FakeClient(online=True)
    probe = Online(client, 60_000, now=0)
    assert probe(100_000) is None
    client.online.clear()
    assert probe(150_000) is None
    assert probe(170_000) is not None


def test_task_alive_fails_once_the_task_ended():
    task = [None]
    probe = TaskAlive(lambda: task[0], "the XMPP task ended")
    assert probe(0) is None
    task[0] = FakeTask(done=False)
    assert probe(0) is None
    task[0] = FakeTask(done=True)
    assert probe(0) == "the XMPP task ended"


def test_sampler_probe():
    assert Sampler(FakeSensor(history=0), 1000)(0) is None  # no history: no sampler
    assert Sampler(FakeSensor(task=None), 1000)(0) == "sampler not running"
    assert Sampler(FakeSensor(task=FakeTask(True)), 1000)(0) == "sampler not running"
    assert Sampler(FakeSensor(task=FakeTask()), 1000)(0) is None
    stale = FakeSensor(task=FakeTask(), sampled=0)
    assert Sampler(stale, 1000)(500) is None
    assert Sampler(stale, 1000)(3000) == "no sample for 3 s"


class SleepLog:
    """The supervisor's asyncio, recording its sleeps: ticks are counted, not timed."""

    def __init__(self):
        self.slept = []

    async def sleep_ms(self, ms):
        self.slept.append(ms)
        await asyncio.sleep_ms(ms)


async def test_run_feeds_on_every_tick():
    from thing import supervisor

    sup, wdt, _ = make(lambda now: None)
    log, saved = SleepLog(), supervisor.asyncio
    supervisor.asyncio = log
    try:
        task = asyncio.create_task(sup.run())
        await until(lambda: wdt.feeds >= 5)
        sup.stop()
        await asyncio.wait_for_ms(task, 10_000)
    finally:
        supervisor.asyncio = saved
    assert wdt.feeds >= 5
    assert log.slept == [5] * wdt.feeds  # one feed a period, each followed by its sleep


async def test_a_blocked_event_loop_stops_the_feeding_and_is_reported():
    sup, wdt, out = make(lambda now: None)
    sup.period_ms = 5
    task = asyncio.create_task(sup.run())
    await asyncio.sleep_ms(1)
    fed = wdt.feeds
    time.sleep_ms(2100)  # a task that blocks the loop: no tick can run meanwhile
    assert wdt.feeds == fed
    await asyncio.sleep_ms(20)
    sup.stop()
    await task
    assert sup.max_lag_ms >= 2000
    assert "event loop was blocked" in out.text()


def test_status_line():
    sup, _, _ = make(lambda now: "stuck")
    sup.tick(0)
    assert sup.status_line().startswith("Watchdog: starving: p0: stuck, 0 feeds")


def test_a_heartbeat_or_link_silent_for_a_week_fails_though_ticks_wrapped():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative: it must not pass.
    from esp32ticks import DAY_MS, install

    from thing import supervisor

    ticks = install(supervisor, now=1_000)
    beat = Heartbeat(lambda: 1_000, 60_000)
    online = Online(FakeClient(online=False), 60_000, now=1_000)
    sampler = Sampler(FakeSensor(task=FakeTask(), sampled=1_000), 60_000)
    ticks.advance(7 * DAY_MS)
    now = ticks.ticks_ms()
    assert beat(now) and online(now) and sampler(now)


def test_with_the_watchdog_off_failing_probes_do_not_announce_a_reset():
    from thing.supervisor import NoWatchdog

    log, out = make_log()
    sup = Supervisor(NoWatchdog(), log, period_ms=5)
    sup.watch("p0", lambda now: "stuck")
    assert not sup.tick(1000)
    assert "p0: stuck" in out.text() and "resets" not in out.text(), out.text()

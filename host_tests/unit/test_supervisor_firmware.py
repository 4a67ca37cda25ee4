# thing.firmware: WiFi, NTP and the Thing run together under the supervised watchdog, with
# the hardware (WLAN, ntptime, WDT, LED) simulated.
import asyncio

import scratch
from test_wifi_fakes import (
    STAT_GOT_IP,
    STAT_NO_AP_FOUND,
    FakeNTP,
    FakeRTC,
    FakeWDT,
    FakeWLAN,
    make_log,
)
from waits import until

from sensordata.clock import Clock
from thing import firmware
from thing.uptime import Uptime

# The whole stack compiled from source here; a board imports it as .mpy in far less.
HEAPSIZE = "512k"

CFG = {
    # Nothing listens on port 1: the client fails fast and backs off, as with a server down.
    "xmpp": {
        "jid": "dev@example.org",
        "password": "pw",
        "host": "127.0.0.1",
        "port": 1,
        "tls": "plain",
        "resource": "sensor",
    },  # fmt: skip
    "allow": ["owner@example.org"],
    "board": "esp32_devkitc",
    "wifi": {"ssid": "home", "password": "secret", "timeout_s": 1},
    "sensor": {"history": 0},
}


class FakeChat:
    def __init__(self, thing):
        self.thing = thing
        self.status_hook = None

    def status_text(self):
        lines = ["Clock: %s" % ("synchronized" if self.thing.clock.synced else "NOT synchronized")]
        if self.status_hook is not None:
            lines.append(self.status_hook())
        return "\n".join(lines)


class FakeNode:
    def __init__(self, node_id, device, comm_timeout):
        self.id = node_id
        self.device = device
        self.comm_timeout = comm_timeout


class FakeThing:
    """thing.app.Thing's surface as the firmware uses it; run() fails to reach a server."""

    def __init__(self, log, tls="plain", crash=False):
        self.log = log
        self.clock = Clock(synced=False)
        self.uptime = Uptime()

        class Client:
            online = asyncio.Event()
            last_error = "connection refused"

            class opt:
                pass

        Client.opt.tls = tls

        class Sensor:
            sample_s = 60
            history = 0

            def __init__(self):
                self.nodes = []

            def register_node(self, node_id, device, comm_timeout=2000):
                self.nodes.append(FakeNode(node_id, device, comm_timeout))

            def start_sampling(self):
                pass

        self.client = Client()
        self.sensor = Sensor()
        self.chat = FakeChat(self)
        self.crash = crash
        self.runs = 0
        self._stop = asyncio.Event()

    async def run(self):
        self.runs += 1
        if self.crash:
            raise RuntimeError("bug")
        await self._stop.wait()

    def stop(self):
        self._stop.set()


def make(cfg=CFG, wlan=None, ntp=None, thing=None, led=None, real=False, nodes=()):
    log, out = make_log(20)
    wdt = FakeWDT()
    if thing is None and not real:
        tls = cfg["xmpp"].get("tls", "starttls")
        thing = FakeThing(log, tls)
    fw = firmware.Firmware(
        cfg, None, list(nodes), wlan or FakeWLAN([STAT_GOT_IP]), ntp or FakeNTP(), FakeRTC(), wdt,
        led, log, thing,
    )  # fmt: skip
    fw.supervisor.period_ms = 5
    fw.wifi.poll_ms = fw.wifi.check_ms = 1
    return fw, wdt, out


async def run_until(fw, done):
    """Run the firmware until done(), then stop it."""
    task = asyncio.create_task(fw.run())
    try:
        await until(done)
    finally:
        fw.stop()
        try:
            await asyncio.wait_for_ms(task, 10_000)
        except asyncio.CancelledError:
            pass
    return task


async def test_the_board_joins_wifi_sets_the_clock_starts_the_thing_and_feeds_the_watchdog():
    fw, wdt, out = make()
    assert not fw.thing.clock.synced
    await run_until(fw, lambda: fw.thing.runs and fw.thing.clock.synced and wdt.feeds >= 5)
    assert fw.wifi.joins == 1
    assert fw.thing.clock.synced
    assert fw.thing.runs == 1
    assert wdt.feeds >= 5
    assert fw.supervisor.starving is None
    assert "clock set from NTP pool.ntp.org" in out.text()


async def test_the_status_command_shows_wifi_ntp_and_watchdog():
    fw, wdt, _ = make()
    task = asyncio.create_task(fw.run())
    await until(lambda: fw.thing.runs and fw.timesync.syncs and wdt.feeds)
    text = fw.thing.chat.status_text()
    fw.boot = "WDT_RESET; the run before ended after 0d 01:02:05 up: ValueError: x"
    after_crash = fw.thing.chat.status_text()
    fw.stop()
    await asyncio.wait_for_ms(task, 10_000)
    assert "Clock: synchronized" in text
    assert "WiFi: home, RSSI -61 dBm, 192.168.1.23" in text
    assert "NTP: pool.ntp.org, last sync " in text and " s ago" in text
    assert "Watchdog: fed, " in text
    assert "Boot:" not in text
    assert after_crash.endswith("\nBoot: " + fw.boot)


async def test_the_wifi_link_is_a_node_with_rssi_as_a_status_field():
    fw, _, _ = make()
    task = asyncio.create_task(fw.run())
    await until(lambda: fw.wifi.joins)
    (node,) = [n for n in fw.thing.sensor.nodes if n.id == "wifi"]
    device = node.device
    values = await device.read()
    fw.stop()
    await asyncio.wait_for_ms(task, 10_000)
    fields = {device.FIELDS[i][0]: values[i] for i in range(len(values))}
    assert fields == {"RSSI": "-61", "Connected": True, "SSID": "home", "Address": "192.168.1.23"}
    assert [f[3] for f in device.FIELDS][:2] == ["status", "status"]


async def test_wifi_failures_are_retried_while_the_watchdog_is_still_fed():
    wlan = FakeWLAN([STAT_NO_AP_FOUND], [STAT_GOT_IP])
    fw, wdt, out = make(wlan=wlan)
    fw.wifi.backoff.base_ms = 40
    fw.wifi.settle_ms = 0  # the port's own tries take seconds on a board
    await run_until(fw, lambda: fw.wifi.joins and wdt.feeds >= 5)
    assert fw.wifi.joins == 1 and fw.wifi.failures == 1
    assert wdt.feeds >= 5
    assert "network not found; retrying" in out.text()


async def test_uptime_counts_from_the_start_not_from_when_wifi_and_ntp_came_up():
    # Joining WiFi may take days on a board without a watchdog: that time is uptime too, and
    # more than 6.2 days of it, unstepped, would read as negative.
    wlan = FakeWLAN(*[[STAT_NO_AP_FOUND]] * 1000)
    fw, _, _ = make(wlan=wlan)
    fw.wifi.backoff.base_ms = 40
    fw.wifi.settle_ms = 0
    task = asyncio.create_task(fw.run())
    await asyncio.sleep_ms(50)
    assert fw.wifi.joins == 0
    assert fw.thing.uptime._task is not None  # noqa: SLF001 - stepping already
    fw.stop()
    await asyncio.wait_for_ms(task, 10_000)
    # Stopped before the Thing ran: its uptime counter, started here, ends here too.
    await asyncio.sleep_ms(0)
    up = fw.thing.uptime._task  # noqa: SLF001
    assert up is None or up.done(), up


async def test_tls_waits_for_the_clock():
    cfg = dict(CFG, xmpp=dict(CFG["xmpp"], tls="starttls", ca="ca.der"))

    ntp = FakeNTP(*[OSError(110)] * 1000)
    fw, wdt, _ = make(cfg, ntp=ntp)
    fw.timesync.backoff.base_ms = 2
    fw.timesync.backoff.cap_ms = 4
    await run_until(fw, lambda: len(ntp.calls) >= 3 and wdt.feeds >= 5)
    assert fw.thing.runs == 0  # no TLS handshake with a clock in the year 2000
    assert len(ntp.calls) >= 3
    assert "no answer yet" in fw.timesync.status_line()
    assert wdt.feeds >= 5  # waiting for NTP is progress: the NTP task keeps beating


async def test_the_watchdog_starves_when_the_xmpp_task_dies():
    log, out = make_log(20)
    wdt = FakeWDT()
    thing = FakeThing(log, crash=True)
    fw = firmware.Firmware(
        CFG, None, [], FakeWLAN([STAT_GOT_IP]), FakeNTP(), FakeRTC(), wdt, None, log, thing
    )
    fw.supervisor.period_ms = 5
    fw.wifi.poll_ms = 1
    fed_at = []  # each tick's verdict: fed or not
    tick = fw.supervisor.tick
    fw.supervisor.tick = lambda now=None: fed_at.append(tick(now))
    sup = asyncio.create_task(fw.supervisor.run())  # outlives fw.run, as on the board
    try:
        await fw.run()
    except RuntimeError:
        pass
    fed, ticks = wdt.feeds, len(fed_at)
    await until(lambda: len(fed_at) >= ticks + 3)  # ticks counted, not timed
    fw.supervisor.stop()
    await asyncio.wait_for_ms(sup, 10_000)
    assert wdt.feeds == fed and True not in fed_at[ticks:]
    assert "thing: the XMPP task ended" in out.text()


class LED:
    def __init__(self):
        self.values = []

    def value(self, v):
        self.values.append(v)


async def test_the_led_blinks_while_wifi_is_up_and_the_server_is_not_reached():
    led = LED()
    fw, _, _ = make(led=led)
    firmware._LED_MS = 1  # noqa: SLF001
    seen = []

    def blinked():
        if not seen and fw.wifi.up.is_set():
            seen.append(len(led.values))  # from WiFi's arrival on: on, off, on again
        after = "".join(str(v) for v in led.values[seen[0] :]) if seen else ""
        return "101" in after

    await run_until(fw, blinked)
    assert not fw.thing.client.online.is_set()


def test_settings_defaults_and_overrides():
    s = firmware.settings(CFG)
    assert s["ntp_host"] == "pool.ntp.org" and s["ntp_period_s"] == 3600
    assert s["wdt_enabled"] and s["wdt_timeout_ms"] == 60_000 and s["offline_ms"] == 1_800_000
    assert s["wifi_timeout_ms"] == 1000
    s = firmware.settings(dict(CFG, ntp="time.example.org", watchdog=False))
    assert s["ntp_host"] == "time.example.org" and not s["wdt_enabled"]
    s = firmware.settings(
        dict(CFG, ntp={"host": "t", "period_s": 600}, watchdog={"timeout_s": 30})
    )
    assert s["ntp_period_s"] == 600 and s["wdt_timeout_ms"] == 30_000


async def test_the_real_thing_runs_under_the_firmware():
    fw, wdt, _ = make(real=True)
    task = asyncio.create_task(fw.run())
    client = fw.thing.client
    await until(lambda: fw.thing.clock.synced and client.last_error and wdt.feeds >= 5)
    text = fw.thing.chat.status_text()
    fw.stop()
    await asyncio.wait_for_ms(task, 10_000)
    assert fw.thing.clock.synced
    assert fw.thing.client.connects == 0 and fw.thing.client.last_error is not None
    assert wdt.feeds >= 5
    assert "WiFi: home, RSSI -61 dBm" in text and "Watchdog: fed" in text


def test_the_requester_role_is_loaded_only_when_the_board_reads_another_thing():
    # Most boards only answer: the requester's code would be heap spent on nothing.
    import sys

    from thing.app import Thing

    thing = Thing(dict(CFG, sensor={"requests": 3}), [], None, Clock(synced=True))
    assert "sensordata.requester" not in sys.modules
    r = thing.requester
    assert "sensordata.requester" in sys.modules
    assert thing.requester is r and len(r.table.slots) == 3
    assert r.client is thing.client


async def test_ntp_is_not_judged_before_it_runs_so_a_long_wifi_join_cannot_starve_the_watchdog():
    import time

    fw, wdt, out = make()
    fw._probes()
    # Two minutes into a WiFi join that has not succeeded: NTP has not started yet.
    later = time.ticks_add(time.ticks_ms(), 120_000)
    assert not [p for p in fw.supervisor.problems(later) if p.startswith("ntp")]
    asyncio.create_task(fw.timesync.run())
    await asyncio.sleep_ms(5)
    assert [p for p in fw.supervisor.problems(later) if p.startswith("ntp")]


class _Machine:
    """What firmware.start() uses of the port's machine module; `made`: watchdogs armed."""

    SOFT_RESET = 5
    made = []

    @staticmethod
    def WDT(timeout):  # noqa: N802 - the name machine has
        _Machine.made.append(timeout)
        return FakeWDT(timeout)

    @staticmethod
    def reset_cause():
        return 1

    @staticmethod
    def RTC():  # noqa: N802
        return FakeRTC()


class _Network:
    STA_IF = 0

    @staticmethod
    def hostname(name):
        pass

    @staticmethod
    def WLAN(mode):  # noqa: N802
        return FakeWLAN([STAT_GOT_IP])


def _start(cfg, board):
    """firmware.start() with the port's modules faked; what it returns."""
    import sys

    _Machine.made = []
    sys.modules["machine"], sys.modules["network"] = _Machine, _Network
    sys.modules["ntptime"] = FakeNTP()
    try:
        return firmware.start(cfg, None, board)
    finally:
        for m in ("machine", "network", "ntptime"):
            del sys.modules[m]


class _StopAtOnce:
    """A status LED whose first blink ends the run, as Ctrl-C would."""

    def value(self, v):
        raise KeyboardInterrupt


def _board(nodes):
    """A board definition making its nodes with `nodes(cfg)`, its LED a _StopAtOnce."""

    class Board:
        NAME = "test"

    Board.nodes = staticmethod(nodes)
    Board.led = staticmethod(lambda cfg: _StopAtOnce())
    return Board


def _refusing(cfg):
    from drivers.errors import ConfigError

    raise ConfigError("GPIO4 is on ADC2, which WiFi uses")


def test_a_config_the_board_refuses_stops_the_start_before_the_watchdog_is_armed():
    assert _start(CFG, _board(_refusing)) is None
    assert _Machine.made == []  # no watchdog armed


def test_a_board_that_cannot_start_leaves_the_last_crash_record_for_the_next_boot():
    # Read, the record is moved aside: a start that fails then would show it nowhere.
    read = []
    real = firmware.last_crash
    firmware.last_crash = lambda: read.append(1)
    try:
        assert _start(CFG, _board(_refusing)) is None
    finally:
        firmware.last_crash = real
    assert read == []


def test_with_the_watchdog_off_no_unfed_watchdog_is_recorded_as_a_reason():
    # No watchdog runs: a reset by hand after a long offline spell was not the watchdog's.
    board = _board(lambda cfg: [])
    assert _start(dict(CFG, watchdog=False), board).supervisor.on_starve is None
    assert _start(CFG, board).supervisor.on_starve is not None


def test_detection_is_dropped_once_the_nodes_are_made():
    # Boot-only code: kept loaded, it would take heap for the board's whole run.
    import sys

    def nodes(cfg):
        from drivers import detect  # as the boards do: imported where it is used

        return detect.nodes([], {"detect": False})

    assert _start(dict(CFG, watchdog=False), _board(nodes)) is not None
    assert "drivers.detect" not in sys.modules


# -- the XMPP client and the WiFi link ------------------------------------------------------


def _wifi_lost(fw, wlan):
    """Drop the link for good: the port's own tries and every later join find nothing."""
    fw.wifi.backoff.base_ms = fw.wifi.backoff.cap_ms = 200
    fw.wifi.settle_ms = 0
    # A join at most every 200 ms: 500 cover well over the test's time (10 000 made an 80 KB
    # list, a block a 512k heap holding the firmware compiled from source may not have).
    wlan.scripts = [[STAT_NO_AP_FOUND]] * 500
    wlan.drop(STAT_NO_AP_FOUND)


class LongestBackoff:
    """xmpp.backoff.Backoff without its jitter: always the longest wait, so tests can tell."""

    def __init__(self, base_ms, cap_ms):
        self.base_ms, self.cap_ms = base_ms, cap_ms
        self.failures = 0
        self.attempts = 0  # failed ones; `failures` may be reset

    def next_ms(self, floor_ms=0):
        self.failures += 1
        self.attempts += 1
        return max(floor_ms, min(self.cap_ms, self.base_ms << self.failures))

    def connected_for(self, up_ms):
        pass


async def test_the_client_waits_for_wifi_instead_of_failing_and_backing_off_while_it_is_down():
    wlan = FakeWLAN([STAT_GOT_IP])
    fw, _, _ = make(wlan=wlan, real=True)
    client = fw.thing.client
    client.backoff = LongestBackoff(2, 10)
    task = asyncio.create_task(fw.run())
    await until(lambda: client.backoff.attempts >= 2, what="no attempt with WiFi up")
    _wifi_lost(fw, wlan)
    await until(lambda: not fw.wifi.up.is_set() and fw.wifi.failures >= 2)
    await asyncio.sleep_ms(50)  # an attempt under way when the link went may still end
    attempts = client.backoff.attempts
    await asyncio.sleep_ms(300)  # some 30 attempts, were they made
    burnt = client.backoff.attempts - attempts
    fw.stop()
    await asyncio.wait_for_ms(task, 10_000)
    # Each attempt without WiFi fails at once and doubles the wait before the next one.
    assert burnt == 0, "%d attempts with WiFi down" % burnt


async def test_the_client_tries_again_at_once_when_wifi_comes_back():
    wlan = FakeWLAN([STAT_GOT_IP])
    fw, _, out = make(wlan=wlan, real=True)
    client = fw.thing.client
    client.backoff = LongestBackoff(2, 3000)
    task = asyncio.create_task(fw.run())
    await until(lambda: client.backoff.attempts >= 2)
    _wifi_lost(fw, wlan)
    await until(lambda: "waiting for the network" in out.text())
    # From now on a failed attempt waits ten minutes: only the network's return, not the
    # backoff, can bring the next attempt within the test's time.
    client.backoff.base_ms = client.backoff.cap_ms = 600_000
    before = client.backoff.attempts
    wlan.scripts = [[STAT_GOT_IP]] * 10
    await until(lambda: fw.wifi.up.is_set())
    try:
        await until(lambda: client.backoff.attempts > before, what="no attempt after WiFi")
    finally:
        fw.stop()
        await asyncio.wait_for_ms(task, 10_000)


def test_ctrl_c_on_the_board_ends_the_connection_to_the_server():
    # Ctrl-C (or mpremote) stops asyncio.run() wherever it is; an XMPP session left open
    # shows the board online, and swallows what is sent to it, until the watchdog resets it.
    from loopback import listener as make_listener

    listener, port = make_listener()
    listener.setblocking(False)
    peer = []

    class CtrlCLED:
        """Pressed once the board's TCP connection is up (the server never answers it)."""

        def value(self, v):
            if not peer:
                try:
                    peer.append(listener.accept()[0])
                except OSError:
                    return
            raise KeyboardInterrupt

    class Board:
        NAME = "test"

        @staticmethod
        def nodes(cfg):
            return []

        @staticmethod
        def led(cfg):
            return CtrlCLED()

    cfg = dict(CFG, xmpp=dict(CFG["xmpp"], port=port), watchdog=False)
    try:
        fw = _start(cfg, Board)
    finally:
        listener.close()
    assert fw is not None and peer
    s = peer[0]
    s.setblocking(False)
    closed = False
    try:
        while s.recv(512):  # the board's stream header came first
            pass
        closed = True
    except OSError:
        pass  # nothing more to read, and no end: the connection is still open
    s.close()
    assert closed, "the board's connection is still open after Ctrl-C"


def test_the_supervisor_ticks_four_times_per_watchdog_timeout():
    # One late tick (a TLS handshake, a PBKDF2 block) is then no reset.
    log, _ = make_log(20)
    cfg = dict(CFG, watchdog={"timeout_s": 60})
    fw = firmware.Firmware(
        cfg, None, [], FakeWLAN([STAT_GOT_IP]), FakeNTP(), FakeRTC(), FakeWDT(), None, log,
        FakeThing(log),
    )  # fmt: skip
    assert fw.supervisor.period_ms == 15_000


async def _turns(n):
    # As many turns of the loop as a 1 ms helper needs to run n times: counted, not timed.
    for _ in range(n):
        await asyncio.sleep_ms(2)


async def test_the_wifi_and_ntp_tasks_end_with_the_run():
    fw, _, _ = make()
    await run_until(fw, lambda: fw.thing.runs and fw.thing.clock.synced)
    beat = fw.wifi.beat  # keep() beats on every check while the link is up
    await _turns(20)
    assert fw.wifi.beat == beat


async def test_a_cancel_from_outside_ends_the_run_as_cancelled():
    # Only stop() ends the run quietly; any other cancel reaches whoever awaits it.
    fw, _, _ = make()
    task = asyncio.create_task(fw.run())
    await until(lambda: fw.thing.runs)
    task.cancel()
    try:
        await asyncio.wait_for_ms(task, 10_000)
    except asyncio.CancelledError:
        return
    raise AssertionError("the cancel was swallowed")


async def test_the_thing_stops_sampling_when_its_client_ends():
    fw, _, _ = make(dict(CFG, sensor={"history": 4}), real=True)
    task = asyncio.create_task(fw.run())
    sensor = fw.thing.sensor
    await until(lambda: sensor._sampler is not None)  # noqa: SLF001
    sampler = sensor._sampler  # noqa: SLF001
    fw.stop()
    await asyncio.wait_for_ms(task, 10_000)
    await until(sampler.done)
    assert sensor._sampler is None  # noqa: SLF001


async def test_a_part_that_stops_answering_leaves_the_watchdog_fed_until_its_timeout():
    # The sampler moves on after each node's read, and a part that stopped answering ends
    # its read only at the node's timeout: until then the sampler is waiting, not hung, and
    # a board that reset for it would reset for as long as the part stays dead.
    import time

    from sensordata.device import MemoryDevice

    dead = MemoryDevice((("Temperature", "numeric", "C", "momentary"),), ("21.5",))
    dead.delay_ms = 120_000
    cfg = dict(CFG, sensor={"history": 4, "sample_s": 1, "comm_timeout_ms": 60_000})
    fw, _, _ = make(cfg, real=True, nodes=[("t1", dead)])
    task = asyncio.create_task(fw.run())
    try:
        await until(lambda: [p for name, p in fw.supervisor.probes if name == "sampler"])
        probe = [p for name, p in fw.supervisor.probes if name == "sampler"][0]
        now = time.ticks_ms()
        fw.thing.sensor.sampled = now  # a read of the dead part began now
        assert probe(time.ticks_add(now, 61_000)) is None
        assert probe(time.ticks_add(now, 90_000)) == "no sample for 90 s"  # a hang is one
    finally:
        fw.stop()
        await asyncio.wait_for_ms(task, 10_000)


def test_null_values_in_a_loaded_config_start_the_board_with_the_defaults():
    # config.check reads a null as an absent key; what the firmware and the Thing read of the
    # config must then be the defaults, not None (a TypeError at start, after the check).
    import json

    from thing import config
    from thing.app import Thing

    cfg = json.loads(json.dumps(CFG))
    cfg["wifi"]["timeout_s"] = None
    cfg["wifi"]["password"] = "long enough"
    cfg["ntp"] = {"host": None, "period_s": None, "timeout_s": None}
    cfg["watchdog"] = {"timeout_s": None, "offline_s": None}
    cfg["sensor"] = {"sessions": None, "history": None, "requests": None}
    cfg["sensors"] = cfg["adc"] = cfg["detect"] = None
    with open(scratch.path("nulls.json"), "w") as f:
        json.dump(cfg, f)
    cfg = config.load(scratch.path("nulls.json"))
    s = firmware.settings(cfg)
    assert s["ntp_host"] == "pool.ntp.org" and s["ntp_timeout_s"] == 1, s
    assert s["wdt_timeout_ms"] == 60_000 and s["wifi_timeout_ms"] == 30_000, s
    assert cfg.get("detect", True) is True and cfg.get("sensors", ()) == ()
    thing = Thing(cfg, [], None, Clock(synced=True))
    assert len(thing.sensor.table.slots) == 4


async def test_the_sampler_runs_before_its_probe_is_first_asked():
    # The supervisor may tick between the Thing's task being made and its first turn (the
    # WiFi join just blocked the loop a while): a sampler not started yet is no hang.
    import time

    class SlowJoin(FakeWLAN):
        def isconnected(self):
            up = FakeWLAN.isconnected(self)
            if up and not getattr(self, "slept", False):
                self.slept = True
                time.sleep_ms(30)  # past the supervisor's next tick
            return up

    log, _ = make_log(20)
    thing = FakeThing(log)

    class Sensor:
        sample_s = 60
        history = 8
        sampled = None
        _sampler = None

        def __init__(self):
            self.nodes = []

        def register_node(self, node_id, device, comm_timeout=2000):
            self.nodes.append(FakeNode(node_id, device, comm_timeout))

        def start_sampling(self):  # as sensordata.sensor.Sensor's: once
            async def turn():
                while True:
                    self.sampled = time.ticks_ms()
                    await asyncio.sleep_ms(1)

            if self._sampler is None:
                self._sampler = asyncio.create_task(turn())

    thing.sensor = Sensor()
    fw, _, _ = make(wlan=SlowJoin([STAT_GOT_IP]), thing=thing)
    fw.supervisor.period_ms = 20
    told = []
    fw.supervisor.on_starve = told.append
    task = asyncio.create_task(fw.run())
    await asyncio.sleep_ms(200)
    fw.stop()
    try:
        await asyncio.wait_for_ms(task, 2000)
    except asyncio.CancelledError:
        pass
    thing.sensor._sampler.cancel()
    assert not [t for t in told if t], told

"""The board firmware: WiFi, then NTP, then the Thing, all under a supervised watchdog.

`Firmware` takes its hardware (a network.WLAN, the ntptime module, machine.RTC, a
machine.WDT, a status LED) as arguments, so the host tests run it whole with fakes;
`start()` is the only code that creates the real ones. Order of events on a board:

  1. the supervisor starts feeding the watchdog (only while every probe passes);
  2. WiFi joins (retrying, with reasons) and is kept joined;
  3. NTP sets the clock: mbedTLS checks certificate dates, so TLS waits for it;
  4. the Thing (XMPP client + XEP-0323 sensor + chat) runs until stopped.
"""

import asyncio

from micropython import const

from sensordata.clock import Clock
from thing.crashlog import keep_crash, last_crash, reset_name
from thing.supervisor import Heartbeat, NoWatchdog, Online, Sampler, Supervisor, TaskAlive
from thing.timesync import TimeSync
from thing.wifi import Wifi, WifiNode

_BEAT_SLACK_MS = const(20_000)  # a healthy task beats every 1-2 s; allow for blocking calls
_LED_MS = const(500)
# The watchdog timeout after Ctrl-C, 30 min: time to work at the REPL.
_MAINTENANCE_MS = const(1_800_000)


def settings(cfg):
    """The firmware's own settings with their defaults: ntp, watchdog, wifi."""
    ntp = cfg.get("ntp")
    if isinstance(ntp, str):
        ntp = {"host": ntp}
    ntp = ntp if isinstance(ntp, dict) else {}
    wd = cfg.get("watchdog")
    wd = wd if isinstance(wd, dict) else {"enabled": wd is not False}
    w = cfg.get("wifi") or {}
    return {
        "ntp_host": ntp.get("host", "pool.ntp.org"),
        "ntp_period_s": ntp.get("period_s", 3600),
        "ntp_timeout_s": ntp.get("timeout_s", 1),
        "wdt_enabled": wd.get("enabled", True),
        "wdt_timeout_ms": wd.get("timeout_s", 60) * 1000,
        "offline_ms": wd.get("offline_s", 1800) * 1000,
        "wifi_timeout_ms": w.get("timeout_s", 30) * 1000,
    }


class Firmware:
    def __init__(self, cfg, ca_der, nodes, wlan, ntp, rtc, wdt, led=None, log=None, thing=None):
        if thing is None:
            from thing.app import Thing

            thing = Thing(cfg, nodes, ca_der, clock=Clock(synced=False), log=log)
        self.thing = thing
        self.log = log = thing.log
        s = self.settings = settings(cfg)
        w = cfg["wifi"]
        self.wifi = Wifi(wlan, w["ssid"], w.get("password"), log, s["wifi_timeout_ms"])
        thing.client.network = self.wifi.up  # no attempts, and no backoff, without WiFi
        # The link is worth reading remotely too: RSSI as an XEP-0323 status field.
        thing.sensor.register_node("wifi", WifiNode(self.wifi), 500)
        self.timesync = TimeSync(
            thing.clock, ntp, rtc, log, s["ntp_host"], s["ntp_period_s"], s["ntp_timeout_s"]
        )
        # Four ticks per timeout: one late tick (a TLS handshake, a PBKDF2) is no reset.
        self.supervisor = Supervisor(wdt, log, max(1000, s["wdt_timeout_ms"] // 4))
        self.led = led
        self.boot = None  # how this run began (reset cause, a crash before it), for `status`
        self.task = None
        self._main = None
        self._stopping = False
        chat = thing.chat
        if chat is not None:
            chat.status_hook = self.status_text

    def status_text(self):
        lines = [
            self.wifi.status_line(),
            self.timesync.status_line(),
            self.supervisor.status_line(),
        ]
        if self.boot:
            lines.append("Boot: " + self.boot)
        return "\n".join(lines)

    def _probes(self):
        s = self.settings
        sup = self.supervisor
        client = self.thing.client
        sup.watch("wifi", Heartbeat(lambda: self.wifi.beat, s["wifi_timeout_ms"] + _BEAT_SLACK_MS))
        ntp_limit = s["ntp_timeout_s"] * 1000 + _BEAT_SLACK_MS
        sup.watch("ntp", Heartbeat(lambda: self.timesync.beat, ntp_limit))
        sup.watch("xmpp", Online(client, s["offline_ms"]))
        sup.watch("thing", TaskAlive(lambda: self.task, "the XMPP task ended"))

    async def run(self):
        """WiFi, NTP, then the Thing; returns when the Thing stops."""
        self._probes()
        self._main = asyncio.current_task()
        helpers = [asyncio.create_task(self.supervisor.run())]
        self.thing.uptime.start()  # joining WiFi and NTP may take days: they count too
        if self.led is not None:
            helpers.append(asyncio.create_task(self._show()))
        try:
            await self.wifi.connect()
            helpers.append(asyncio.create_task(self.wifi.keep()))
            helpers.append(asyncio.create_task(self.timesync.run()))
            if self.thing.client.opt.tls != "plain":
                await self.timesync.wait()
            sensor = self.thing.sensor
            # Started here, not at the task's first turn (Thing.run starts it too, once): the
            # supervisor may tick between the two, and would take the sampler for hung.
            sensor.start_sampling()
            self.task = asyncio.create_task(self.thing.run())
            # The sampler marks its progress after each node's read, which a part that
            # stopped answering ends only at the node's timeout (comm_timeout_ms, up to 60 s,
            # or a driver's longer read_ms): waiting that long is no hang.
            read_ms = 0
            for node in sensor.nodes:
                read_ms = max(read_ms, node.comm_timeout)
            limit = 2 * sensor.sample_s * 1000 + read_ms + _BEAT_SLACK_MS
            self.supervisor.watch("sampler", Sampler(sensor, limit))
            await self.task
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            for t in helpers:
                t.cancel()
            self.thing.uptime.stop()  # started above; the Thing, if it ran, stopped it too

    def stop(self):
        """End run(): at once while still joining WiFi or waiting for NTP."""
        self._stopping = True
        self.thing.stop()
        self.supervisor.stop()
        if self.task is None and self._main is not None:
            self._main.cancel()

    async def _show(self):
        """The status LED: steady when online, blinking while WiFi is up, off without."""
        led = self.led
        lit = 0
        while True:
            if self.thing.client.online.is_set():
                lit = 1
            elif self.wifi.up.is_set():
                lit = 1 - lit
            else:
                lit = 0
            led.value(lit)
            await asyncio.sleep_ms(_LED_MS)


def start(cfg, ca_der, board):
    """Create the real hardware objects and run the firmware on this board (ESP32 port)."""
    import machine
    import micropython
    import network
    import ntptime

    s = settings(cfg)
    name = cfg.get("name")
    if name:
        try:
            network.hostname(name)
        except (ValueError, OSError) as e:
            print("hostname %r refused: %r" % (name, e))
    wlan = network.WLAN(network.STA_IF)
    make_led = getattr(board, "led", None)
    try:
        led = make_led(cfg) if make_led is not None else None
    except (OSError, ValueError, ImportError) as e:
        print("status LED unavailable (%r); running without" % (e,))
        led = None
    # Everything that can refuse the config is built before the watchdog is armed: a board
    # that cannot start stays at the REPL saying why, instead of resetting in a loop.
    try:
        fw = Firmware(
            cfg, ca_der, board.nodes(cfg), wlan, ntptime, machine.RTC(), NoWatchdog(), led
        )
    except Exception as e:  # noqa: BLE001 - ConfigError, ValueError, MemoryError alike
        print("cannot start: %r" % (e,))
        return None
    from thing.startup import forget

    forget("drivers.detect")  # the nodes are made: detection is not needed again
    # Read (and moved aside) only now: a board that cannot start keeps it for the next boot.
    crash = last_crash()
    if s["wdt_enabled"]:
        fw.supervisor.wdt = machine.WDT(timeout=s["wdt_timeout_ms"])
    elif machine.reset_cause() == machine.SOFT_RESET:
        # The port cannot stop a watchdog, and a soft reset does not either.
        fw.log.warn("watchdog off in the config, but one armed before this soft reset "
                    "still runs: machine.reset() clears it")  # fmt: skip
    up = fw.thing.uptime
    if s["wdt_enabled"]:  # without one, starving explains no reset
        fw.supervisor.on_starve = lambda why: keep_crash(
            why and "the watchdog was not fed: " + why, up.seconds()
        )
    reset = reset_name(machine)
    fw.boot = reset + ("; the run before ended " + crash if crash else "")
    fw.log.info("starting on %s (%s)" % (board.NAME, reset))
    if crash:
        fw.log.warn("the run before this one ended %s (traceback: /crash.txt.old)" % crash)
    asyncio.new_event_loop()  # a run interrupted earlier in this session leaves its tasks
    try:
        asyncio.run(fw.run())
    except KeyboardInterrupt:
        # The loop stopped where it was, the connection with it: closed, the server ends the
        # session now, instead of showing the board online (and taking what is sent to it)
        # until the watchdog resets the board.
        t = fw.thing.client.transport
        if t is not None:
            t.close()
        keep_crash(None, 0)  # stopped by a person: no reasons of a starving watchdog to show
        # Ctrl-C from a person or from mpremote: the ESP32 port cannot stop its watchdog, but
        # it reconfigures it on a new WDT(); give the REPL session half an hour.
        micropython.kbd_intr(-1)
        if s["wdt_enabled"]:
            machine.WDT(timeout=_MAINTENANCE_MS)
        micropython.kbd_intr(3)
        print("stopped; the watchdog resets the board in 30 min (machine.reset() sooner)")
    except Exception as e:
        # A fault of the firmware's own: kept for the next boot's log and `status`, then on
        # to the REPL, and from there the watchdog resets the board.
        keep_crash(e, up.seconds())
        raise
    return fw

"""WiFi station: join one network, say why joining failed, rejoin when the link drops.

How the ESP32 port (1.23 and later, ports/esp32/network_wlan.c) reports on an attempt:
  - `WLAN.status()` gives the reason for "not found" (201, 210-212) and for an
    authentication failure (202, also for IDF's 205 "connection failed") as soon as one
    try fails, while the port goes on trying by itself (`config(reconnects=n)` tries);
  - other reasons show only once those tries are used up (before that: STAT_CONNECTING);
  - a reason stays until an address comes, across `connect()`: right after `connect()`,
    status() may still tell of the previous attempt.
So a reason is a verdict only after `settle_ms` of the attempt, and a wrong password only
after two attempts in a row (IDF's transient 205 reads the same). The retrying happens in
this module, where it is visible, logged and bounded.

    wifi = Wifi(network.WLAN(network.STA_IF), "home", "secret", log)
    await wifi.connect()                # returns once the board has an IP address
    asyncio.create_task(wifi.keep())    # rejoins after a loss
"""

import asyncio
import time

from micropython import const

from xmpp.backoff import Backoff
from xmpp.ticks import since

# mypy alone reads this as true (tools/typecheck.py): the calls on the WLAN handed in are then
# checked against the ESP32 port's own; the compiler drops the block.
_MYPY = const(0)
if _MYPY:
    import network

# network.STAT_* of the ESP32 port (ports/esp32/network_wlan.c): values from 1000 up are
# MicroPython's own; below that the ESP-IDF disconnect reason (wifi_err_reason_t) is passed
# through as is.
STAT_IDLE = const(1000)
STAT_CONNECTING = const(1001)
STAT_GOT_IP = const(1010)
STAT_BEACON_TIMEOUT = const(200)
STAT_NO_AP_FOUND = const(201)
STAT_WRONG_PASSWORD = const(202)
STAT_ASSOC_FAIL = const(203)  # network.STAT_CONNECT_FAIL has the same value
STAT_HANDSHAKE_TIMEOUT = const(204)
_STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY = const(210)
_STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD = const(211)
_STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD = const(212)
# IDF reason 15 (4-way handshake timeout): what most WPA2 access points cause with a wrong
# password.
_REASON_4WAY_HANDSHAKE_TIMEOUT = const(15)

# Outcomes of one attempt.
UP = "up"
WRONG_PASSWORD = "wrong password"
NO_AP = "network not found"
TIMEOUT = "timeout"
FAILED = "failed"

_WRONG_PASSWORD_FLOOR_MS = const(60_000)  # retrying sooner cannot fix a wrong password
_SLICE_MS = const(1000)  # longest sleep without a heartbeat


def classify(status):
    """(outcome, text) for a value of WLAN.status()."""
    if status == STAT_GOT_IP:
        return UP, "connected"
    if status == STAT_WRONG_PASSWORD:
        return WRONG_PASSWORD, "authentication failed (wrong password?)"
    if status in (_REASON_4WAY_HANDSHAKE_TIMEOUT, STAT_HANDSHAKE_TIMEOUT):
        return WRONG_PASSWORD, "handshake timed out (wrong password?)"
    if status == STAT_NO_AP_FOUND:
        return NO_AP, "network not found"
    if status == _STAT_NO_AP_FOUND_W_COMPATIBLE_SECURITY:
        return NO_AP, "network found, but not with a security mode the board supports"
    if status in (_STAT_NO_AP_FOUND_IN_AUTHMODE_THRESHOLD, _STAT_NO_AP_FOUND_IN_RSSI_THRESHOLD):
        return NO_AP, "network found, but below the security or signal threshold"
    if status == STAT_BEACON_TIMEOUT:
        return NO_AP, "access point stopped answering (beacon timeout)"
    if status in (STAT_CONNECTING, STAT_IDLE):
        return TIMEOUT, "no answer"
    return FAILED, "failed (reason %d)" % status


class Wifi:
    """One station interface kept joined to one network; several can live in one process."""

    def __init__(
        self,
        wlan,
        ssid,
        password,
        log,
        timeout_ms=30_000,
        poll_ms=250,
        check_ms=2000,
        backoff=None,
        reconnects=2,
        settle_ms=10_000,
    ):
        self.wlan: network.WLAN = wlan
        self.ssid = ssid
        self.password = password
        self.log = log
        self.timeout_ms = timeout_ms
        self.poll_ms = poll_ms
        self.check_ms = check_ms
        self.backoff = backoff or Backoff(2000, 120_000, 60_000)
        self.reconnects = reconnects
        self.settle_ms = settle_ms  # about the port's tries: 3 scans of 2-3 s
        self.up = asyncio.Event()
        self.state = "down"  # down | joining | waiting | up
        self.outcome = None  # last failed outcome (WRONG_PASSWORD, NO_AP, ...)
        self.reason = None  # its text
        self.joins = 0
        self.losses = 0
        self.failures = 0
        self.wrong_in_row = 0  # attempts in a row that ended in an authentication failure
        self.beat = time.ticks_ms()  # last sign of life, for the supervisor
        self._retry_at = None
        self._joined_at = None

    # -- one attempt -------------------------------------------------------------------------

    async def join(self):
        """One attempt: True once the board has an address, False with `outcome` set."""
        wlan = self.wlan
        self.state = "joining"
        if not wlan.active():
            wlan.active(True)
        try:
            wlan.config(reconnects=self.reconnects)
        except (ValueError, OSError, TypeError):
            pass  # a port without the option: failures then show up as timeouts
        start = time.ticks_ms()
        deadline = time.ticks_add(start, self.timeout_ms)
        if wlan.isconnected() and self._joined_ssid() != self.ssid:
            # A soft reset keeps the link up: it may be to the network of an older config.
            wlan.disconnect()
            # isconnected() turns False in the port's disconnect event handler, which runs in
            # the system event task, not in disconnect(): the old link must not pass for new.
            while wlan.isconnected() and time.ticks_diff(deadline, time.ticks_ms()) > 0:
                await asyncio.sleep_ms(self.poll_ms)
        if not wlan.isconnected() and wlan.status() != STAT_CONNECTING:
            try:
                wlan.connect(self.ssid, self.password)
            except OSError as e:
                return self._failed(FAILED, "connect refused: %r" % (e,))
        # else: already joined, or the port is still retrying on its own; wait for that
        last = None  # (outcome, text) of the latest reason the port gave
        while True:
            if wlan.isconnected():
                return self._joined()
            outcome, text = classify(wlan.status())
            if outcome not in (UP, TIMEOUT):
                last = (outcome, text)
                if time.ticks_diff(time.ticks_ms(), start) >= self.settle_ms:
                    return self._failed(outcome, text)
            if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                if last is not None:
                    return self._failed(*last)
                return self._failed(
                    TIMEOUT, "no connection within %d s" % (self.timeout_ms // 1000)
                )
            await asyncio.sleep_ms(self.poll_ms)
            self.beat = time.ticks_ms()

    def _joined_ssid(self):
        try:
            return self.wlan.config("ssid")
        except (ValueError, OSError, TypeError):
            return self.ssid  # cannot tell: keep the link

    def _joined(self):
        self.state = "up"
        self.joins += 1
        self.wrong_in_row = 0
        self.outcome = self.reason = None
        self._joined_at = time.ticks_ms()
        self.up.set()
        self.log.info("wifi: joined %r as %s, RSSI %s dBm" % (self.ssid, self.ip(), self.rssi()))
        return True

    def _failed(self, outcome, text):
        self.state = "down"
        self.wrong_in_row = self.wrong_in_row + 1 if outcome == WRONG_PASSWORD else 0
        self.outcome = outcome
        self.reason = text
        self.failures += 1
        try:
            self.wlan.disconnect()  # ends the port's own retries: the next attempt starts clean
        except OSError as e:
            self.log.debug("wifi: disconnect: %r" % (e,))
        return False

    # -- staying joined ----------------------------------------------------------------------

    async def connect(self):
        """Join, retrying with backoff (longer after a wrong password) until it works."""
        while not await self.join():
            wrong = self.wrong_in_row >= 2  # once could be IDF's transient 205
            delay = self.backoff.next_ms(_WRONG_PASSWORD_FLOOR_MS if wrong else 0)
            log = self.log.error if wrong else self.log.warn
            log("wifi: %r: %s; retrying in %d s" % (self.ssid, self.reason, delay // 1000))
            await self._wait(delay)

    async def keep(self):
        """Run for ever: watch the link and rejoin when it is lost."""
        while True:
            if self.wlan.isconnected():
                self.beat = time.ticks_ms()
                await asyncio.sleep_ms(self.check_ms)
                continue
            self.up.clear()
            self.state = "down"
            self.losses += 1
            if self._joined_at is not None:
                self.backoff.connected_for(since(time.ticks_ms(), self._joined_at))
            self.log.warn("wifi: link to %r lost (%s)" % (self.ssid, classify(self.status())[1]))
            await self.connect()

    async def _wait(self, ms):
        self.state = "waiting"
        self._retry_at = time.ticks_add(time.ticks_ms(), ms)
        while True:
            left = time.ticks_diff(self._retry_at, time.ticks_ms())
            if left <= 0:
                break
            await asyncio.sleep_ms(min(left, _SLICE_MS))
            self.beat = time.ticks_ms()
        self._retry_at = None

    # -- what the status command shows -------------------------------------------------------

    def status(self):
        try:
            return self.wlan.status()
        except OSError:
            return STAT_IDLE

    def rssi(self):
        """Signal strength in dBm, or None when not joined."""
        try:
            return self.wlan.status("rssi")
        except (OSError, ValueError):
            return None

    def ip(self):
        wlan = self.wlan
        try:
            return wlan.ipconfig("addr4")[0]
        except (AttributeError, ValueError, OSError, TypeError):
            pass
        try:
            return wlan.ifconfig()[0]
        except (AttributeError, OSError):
            return None

    def status_line(self):
        if self.state == "up" and self.wlan.isconnected():
            line = "WiFi: %s, RSSI %s dBm, %s" % (self.ssid, self.rssi(), self.ip())
            if self.losses:  # a flaky link shows here before it shows as offline time
                line += ", link lost " + ("once" if self.losses == 1 else "%d times" % self.losses)
            return line
        line = "WiFi: %s (%s)" % (self.state, self.reason or "joining %s" % self.ssid)
        if self._retry_at is not None:
            left = max(0, time.ticks_diff(self._retry_at, time.ticks_ms()))
            line += ", retry in %d s" % (left // 1000)
        return line


class WifiNode:
    """The WiFi link as an XEP-0323 node (sensordata/device.py): signal and address."""

    FIELDS = (
        ("RSSI", "numeric", "dBm", "status"),
        ("Connected", "boolean", "", "status"),
        ("SSID", "string", "", "identity"),
        ("Address", "string", "", "identity"),
    )

    def __init__(self, wifi):
        self.wifi = wifi

    async def read(self):
        w = self.wifi
        up = w.wlan.isconnected()
        rssi = w.rssi() if up else None
        return (None if rssi is None else str(rssi), up, w.ssid, w.ip() if up else None)

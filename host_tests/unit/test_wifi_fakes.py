# The hardware edge of the board firmware, simulated: network.WLAN, ntptime and machine.WDT
# as the ESP32 port behaves (ports/esp32/network_wlan.c, machine_wdt.c, the frozen ntptime).
# Shared by test_wifi*.py, test_timesync*.py and test_supervisor*.py.
import time

from xmpp.log import Log

# The ESP32 port's network.STAT_* values (micropython-esp32-stubs network.pyi).
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204
# IDF disconnect reasons the port treats specially in status().
_REASON_ASSOC_LEAVE = 8  # after disconnect(): reported as STAT_IDLE
_REASON_CONNECTION_FAIL = 205  # reported as STAT_WRONG_PASSWORD
_REPORTED_AT_ONCE = (STAT_NO_AP_FOUND, 210, 211, 212)  # "not found", even while trying


class FakeWLAN:
    """A station interface that reports like the ESP32 port 1.23+ (network_wlan.c).

    connect() plays one script of events, one per status() call (the time between two
    polls): STAT_CONNECTING (nothing new), STAT_GOT_IP (joined), or an IDF disconnect
    reason (one of the port's own tries failed). As in the port, a reason stays until an
    address comes, across connect(); "not found" and authentication reasons are reported
    at once, others only when the tries set by config(reconnects=n) are used up.
    """

    def __init__(self, *scripts, rssi=-61):
        self.scripts = list(scripts)
        self.script = [STAT_IDLE]
        self.step = 0
        self.requested = False
        self.connected = False
        self.reason = 0
        self.tries = 0  # of the port's own, since connect()
        self.is_active = False
        self.configured = {}
        self.connects = []
        self.disconnects = 0
        self.rssi = rssi
        self.connect_error = None
        self.ssid = ""
        self.leaving = False  # disconnect() called, its event not handled yet

    def active(self, value=None):
        if value is None:
            return self.is_active
        self.is_active = bool(value)
        return None

    def config(self, *args, **kwargs):
        if args:
            if args[0] == "ssid":
                return self.ssid
            raise ValueError("unknown config param")
        if "reconnects" in kwargs and self.configured.get("no_reconnects"):
            raise ValueError("unknown config param")
        self.configured.update(kwargs)
        return None

    def connect(self, ssid=None, key=None):
        if not self.is_active:
            raise OSError("Wifi Not Started")
        if self.connect_error is not None:
            raise self.connect_error
        self.connects.append((ssid, key))
        self.ssid = ssid
        self.script = self.scripts.pop(0) if self.scripts else [STAT_CONNECTING]
        self.step = 0
        self.tries = 0
        self.requested = True
        self.connected = False  # self.reason is kept, as the port keeps it

    def disconnect(self):
        # The port clears its connected flag in the STA_DISCONNECTED handler, which runs in
        # the system event task: the first look after disconnect() still finds the link up.
        self.leaving = self.connected
        self.requested = False
        self.disconnects += 1

    def _event(self):
        if self.leaving:
            self.leaving = False
            self.connected = False
            self.reason = _REASON_ASSOC_LEAVE

    def drop(self, *then):
        """The link is lost; the port's own reconnects then play `then`."""
        self.connected = False
        self.reason = STAT_BEACON_TIMEOUT
        if self.requested:
            self.tries += 1  # the port counts this disconnect against its reconnects too
        self.script = list(then) or [STAT_CONNECTING]
        self.step = 0

    def _advance(self):
        value = self.script[min(self.step, len(self.script) - 1)]
        self.step += 1
        if value == STAT_GOT_IP:
            self.connected = True
            self.reason = 0
        elif value != STAT_CONNECTING:
            self.reason = value
            self.tries += 1

    def _trying(self):
        limit = self.configured.get("reconnects", -1)
        return self.requested and (limit < 0 or self.tries <= limit)

    def isconnected(self):
        connected = self.connected
        self._event()
        return connected

    def status(self, param=None):
        if param == "rssi":
            if not self.connected:
                raise OSError(0x3007)  # ESP_ERR_WIFI_NOT_CONNECT, as esp_exceptions raises it
            return self.rssi
        if param is not None:
            raise ValueError("unknown status param")
        if self.leaving:
            self._event()
            return STAT_GOT_IP
        if not self.connected and self._trying() and self.step < len(self.script):
            self._advance()
        r = self.reason
        if self.connected:
            return STAT_GOT_IP
        if r in _REPORTED_AT_ONCE:
            return r
        if r in (STAT_WRONG_PASSWORD, _REASON_CONNECTION_FAIL):
            return STAT_WRONG_PASSWORD
        if r == _REASON_ASSOC_LEAVE:
            return STAT_IDLE
        if self._trying():
            return STAT_CONNECTING
        return r or STAT_IDLE

    def ipconfig(self, name):
        if name != "addr4":
            raise ValueError("unexpected param")
        return ("192.168.1.23", "255.255.255.0") if self.connected else ("0.0.0.0", "0.0.0.0")


class FakeNTP:
    """The frozen ntptime module: time() answers seconds since the port's epoch (the unix
    port's is 1970, like the host's) or raises, as the real one does."""

    GOOD = 1_790_000_000  # 2026-09-21T14:13:20Z, a Monday

    def __init__(self, *results):
        self.host = "pool.ntp.org"
        self.timeout = 1
        self.results = list(results)  # each: None (a good answer), an int answer, or an error
        self.calls = []

    def time(self):
        self.calls.append(self.host)
        result = self.results.pop(0) if self.results else None
        if isinstance(result, Exception):
            raise result
        return self.GOOD if result is None else result

    def settime(self):
        raise AssertionError("settime() sets the RTC before anyone can judge the answer")


class FakeRTC:
    """machine.RTC: keeps every datetime() tuple it is given."""

    def __init__(self):
        self.set = []

    def datetime(self, dt):
        self.set.append(dt)


class FakeWDT:
    def __init__(self, timeout=5000):
        self.timeout = timeout
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class FakeClock:
    def __init__(self, now=1_790_000_000, synced=False):
        self._now = now
        self.synced = synced

    def now(self):
        return self._now


class Lines:
    def __init__(self):
        self.lines = []

    def write(self, s):
        self.lines.append(s)

    def text(self):
        return "".join(self.lines)


def make_log(level=10):
    out = Lines()
    return Log("test", level, out), out


class QuickBackoff:
    """Backoff stand-in: records each floor asked for and waits 1 ms."""

    def __init__(self):
        self.floors = []
        self.stable = []

    def next_ms(self, floor_ms=0):
        self.floors.append(floor_ms)
        return 1

    def connected_for(self, up_ms):
        self.stable.append(up_ms)


def ticks():
    return time.ticks_ms()


def test_fake_wlan_uses_the_same_status_codes_as_thing_wifi():
    from thing import wifi

    assert (STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP) == (
        wifi.STAT_IDLE,
        wifi.STAT_CONNECTING,
        wifi.STAT_GOT_IP,
    )
    assert (STAT_NO_AP_FOUND, STAT_WRONG_PASSWORD, STAT_BEACON_TIMEOUT) == (
        wifi.STAT_NO_AP_FOUND,
        wifi.STAT_WRONG_PASSWORD,
        wifi.STAT_BEACON_TIMEOUT,
    )

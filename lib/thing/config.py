"""The board's configuration: one JSON file, checked whole before anything starts.

`check(cfg)` returns every problem as a sentence, so a user fixes them all in one go; the
board refuses to start on any problem but stays reachable on its USB console and says why.
The same module runs on CPython (`tools/provision`), so it imports nothing from MicroPython.

    {"xmpp": {"jid": "dev@example.org", "password": "...", "resource": "sensor",
              "host": "xmpp.example.org", "port": 5222, "tls": "starttls", "ca": "ca.der"},
     "allow": ["owner@example.org"],
     "board": "esp32_devkitc",
     "wifi": {"ssid": "...", "password": "..."},
     "sensor": {"sessions": 4},
     "ntp": "pool.ntp.org",
     "watchdog": {"timeout_s": 60, "offline_s": 1800}}
"""

import json

from xmpp import jid as jids
from xmpp.options import MAX_STANZA, OUT_HEADROOM, Options

TLS_MODES = ("starttls", "direct", "plain")
LOG_LEVELS = ("debug", "info", "warn", "error")

# key: (type, required, low, high); numbers are inclusive bounds, None for no bound.
_XMPP = {
    "jid": (str, True, None, None),
    "password": (str, True, None, None),
    "resource": (str, False, None, None),
    "host": (str, False, None, None),
    "port": (int, False, 1, 65535),
    "tls": (str, False, None, None),
    "ca": (str, False, None, None),
    "max_stanza": (int, False, 1024, 65536),
    "out_buffer": (int, False, 1024, 65536),
    "read_chunk": (int, False, 128, 4096),
    "keepalive_s": (int, False, 1, 3600),
    "ping_s": (int, False, 1, 3600),
    "ping_timeout_s": (int, False, 1, 600),
    "connect_timeout_s": (int, False, 1, 600),
    "login_timeout_s": (int, False, 1, 600),
    "backoff_base_s": (int, False, 1, 600),
    "backoff_cap_s": (int, False, 1, 86400),
    "stable_s": (int, False, 1, 86400),
    "retry_permanent_s": (int, False, 1, 86400),
    "max_contacts": (int, False, 0, 256),
    "version_os": (bool, False, None, None),
}
_SENSOR = {
    "sessions": (int, False, 1, 32),
    "history": (int, False, 0, 1024),
    "sample_s": (int, False, 1, 86400),
    "fields_budget": (int, False, 256, 16384),
    # At least a second: longer than any part's conversion (a BH1750 at MTreg 254: 664 ms),
    # or a working part would time out at every readout.
    "comm_timeout_ms": (int, False, 1000, 60000),
    "requests": (int, False, 1, 32),
}
_WIFI = {
    "ssid": (str, True, None, None),
    "password": (str, False, None, None),
    "timeout_s": (int, False, 1, 600),
}
_TOP = (
    "xmpp",
    "allow",
    "board",
    "wifi",
    "sensor",
    "sim",
    "log",
    "safe_mode",
    "ntp",
    "name",
    "detect",
    "sensors",
    "adc",
    "mcu",
    "watchdog",
    "led_pin",
    "soft_i2c",
)
_NTP = {
    "host": (str, False, None, None),
    "period_s": (int, False, 60, 86400),
    "timeout_s": (int, False, 1, 10),
}
_WATCHDOG = {
    "enabled": (bool, False, None, None),
    # At least 20 s: DNS, an NTP exchange, a TLS handshake or a PBKDF2 block the board for
    # seconds, and the watchdog is fed between them, not during them.
    "timeout_s": (int, False, 20, 600),
    "offline_s": (int, False, 60, 86400),
}


class ConfigError(ValueError):
    def __init__(self, problems):
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))
        self.problems = problems


def _is_jid(s, bare=False):
    # The rules the client applies at run time (xmpp.jid), so a JID that passes here works;
    # and characters XML cannot carry, which a peer's JID never holds (the parser refuses
    # them) but a config may.
    if not isinstance(s, str) or _has_controls(s):
        return False
    try:
        res = jids.split(s)[2]
    except jids.JIDError:
        return False
    return not (bare and res)


def _has_controls(s):
    # XML 1.0 cannot carry most C0 controls, nor U+FFFE, U+FFFF or a surrogate (MicroPython's
    # json makes one of "\ud800"), and PRECIS forbids every control in a resource. Bytes:
    # iterating a str makes a one-character str per step.
    try:
        b = s.encode()
    except UnicodeError:  # CPython (tools/deploy.py): a surrogate does not encode
        return True
    if b and (min(b) < 32 or 127 in b):
        return True
    i = b.find(b"\xed")
    while i >= 0:
        if b[i + 1 : i + 2] >= b"\xa0":  # ED A0..BF: U+D800..U+DFFF
            return True
        i = b.find(b"\xed", i + 1)
    return b"\xef\xbf\xbe" in b or b"\xef\xbf\xbf" in b


def _section(cfg, name, spec, problems):
    sec = cfg.get(name)
    if sec is None:
        sec = {}
    if not isinstance(sec, dict):
        problems.append("%s: must be an object" % name)
        return {}
    _fields(sec, name + ".", spec, problems)
    return sec


def _fields(d, name, spec, problems):
    """The keys of the object `d` against `spec`; `name` (with its dot) names them in the
    problems. (Argument names are interned: these are names the firmware has already.)"""
    for key, (typ, required, low, high) in spec.items():
        where = name + key
        if key not in d or d[key] is None:
            if required:
                problems.append("%s: missing" % where)
            continue
        v = d[key]
        if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
            problems.append("%s: must be a whole number, not %r" % (where, v))
        elif typ is str and not isinstance(v, str):
            shown = "" if key == "password" else ", not %r" % (v,)  # no secrets in logs
            problems.append("%s: must be a string%s" % (where, shown))
        elif typ is bool and not isinstance(v, bool):
            problems.append("%s: must be true or false, not %r" % (where, v))
        elif typ is int and ((low is not None and v < low) or (high is not None and v > high)):
            problems.append("%s: %d is outside %d..%d" % (where, v, low, high))
    for key in d:
        if key not in spec:
            problems.append("%s%s: unknown key" % (name, key))


def _check_offline(wd, x, problems):
    # A board offline for offline_s is reset and its client tries again at once: a shorter
    # limit would cut short the client's wait (after a wrong password, say) and retry that
    # often. The waits are the client's own, defaults included; offline_s defaults as in
    # thing/firmware.py.
    off = wd.get("offline_s", 1800)
    for key in ("retry_permanent_s", "backoff_cap_s"):
        if not isinstance(x.get(key, 0), int):
            return  # a problem of the xmpp section's own, already listed
    try:
        o = Options(x)
    except (AttributeError, KeyError, TypeError, ValueError):
        return  # no usable jid or password: listed too
    wait_ms, longest = max(
        (o.retry_permanent_ms, "retry_permanent_s"), (o.backoff_cap_ms, "backoff_cap_s")
    )
    if isinstance(off, int) and off * 1000 <= wait_ms:
        problems.append(
            "watchdog.offline_s: %d s must be more than xmpp.%s (%d s), or the watchdog "
            "resets the board before the client tries again" % (off, longest, wait_ms // 1000)
        )


def _without_nulls(cfg):
    """A copy of `cfg` without its null values, its sections' and its entries' (sensors,
    adc) included: a null is absent."""
    out = {}
    for key, v in cfg.items():
        if isinstance(v, dict):
            v = {k: x for k, x in v.items() if x is not None}
        elif isinstance(v, list):
            v = [
                {k: x for k, x in e.items() if x is not None} if isinstance(e, dict) else e
                for e in v
            ]
        if v is not None:
            out[key] = v
    return out


def check(cfg, on_board=True):
    """Every problem with `cfg`, as a list of sentences; empty when it is usable."""
    if not isinstance(cfg, dict):
        return ["the configuration must be a JSON object"]
    # Judged as read: every reader takes a null for an absent key, with its default.
    cfg = _without_nulls(cfg)
    problems = []
    for key in cfg:
        if key not in _TOP:
            problems.append("%s: unknown key" % key)
    if "xmpp" not in cfg:
        problems.append("xmpp: missing (jid, password and the server to use)")
    x = _section(cfg, "xmpp", _XMPP, problems)
    # An account has a local part: SASL logs in with it (a domain alone is a server's JID).
    if isinstance(x.get("jid"), str) and not (_is_jid(x["jid"], bare=True) and "@" in x["jid"]):
        port = ":" in x["jid"] and not x["jid"].endswith("]")
        problems.append(
            "xmpp.jid: %r is not a bare JID like dev@example.org%s"
            % (x["jid"], " (a port goes in xmpp.port)" if port else "")
        )
    if isinstance(x.get("password"), str) and not x["password"]:
        problems.append("xmpp.password: empty")
    tls = x.get("tls", "starttls")
    if tls not in TLS_MODES:
        problems.append("xmpp.tls: must be one of %s, not %r" % ("/".join(TLS_MODES), tls))
    if tls != "plain" and not x.get("ca"):
        problems.append("xmpp.ca: missing (the server's CA certificate, DER; TLS is verified)")
    res = x.get("resource")
    if isinstance(res, str) and (
        not res or "/" in res or len(res.encode()) > 1023 or _has_controls(res)
    ):
        problems.append("xmpp.resource: %r is not a usable resource" % res)
    allow = cfg.get("allow", [])
    if not isinstance(allow, list):
        problems.append("allow: must be a list of bare JIDs")
    else:
        for j in allow:
            if not _is_jid(j, bare=True):
                problems.append("allow: %r is not a bare JID" % (j,))
    s = _section(cfg, "sensor", _SENSOR, problems)
    budget = s.get("fields_budget", 1536)  # unset: thing/app.py's default
    if isinstance(budget, int):
        # Checked against the output buffer the client will have, set or by default.
        stanza = x.get("max_stanza") if isinstance(x.get("max_stanza"), int) else MAX_STANZA
        out = x.get("out_buffer")
        if not isinstance(out, int):
            out = stanza + OUT_HEADROOM
        if budget + 512 > out:
            problems.append(
                "sensor.fields_budget: %d must be at least 512 below xmpp.out_buffer (%d)"
                % (budget, out)
            )
    name = cfg.get("name")
    if name is not None and (
        not isinstance(name, str) or not 0 < len(name.encode()) <= 32 or _has_controls(name)
    ):
        # The ESP32 port refuses a network.hostname() longer than 32 bytes, not characters.
        problems.append("name: must be 1 to 32 bytes of UTF-8 (it is also the network host name)")
    board = cfg.get("board")
    if board is not None and (not isinstance(board, str) or not board):
        problems.append("board: must be a board name such as 'esp32_devkitc' or 'host'")
    # On a board the firmware joins WiFi and arms a watchdog whatever "board" says (it names
    # the board a tool writes the config for); only "host" runs without either.
    on_board = on_board and board != "host"
    if on_board:
        if "wifi" not in cfg:
            problems.append("wifi: missing (ssid and password of the network to join)")
        w = _section(cfg, "wifi", _WIFI, problems)
        ssid, pw = w.get("ssid"), w.get("password")
        if isinstance(ssid, str) and not 0 < len(ssid.encode()) <= 32:
            problems.append("wifi.ssid: must be 1 to 32 bytes")
        if isinstance(pw, str) and pw and not 8 <= len(pw) <= 63:
            problems.append("wifi.password: WPA needs 8 to 63 characters (or empty for open)")
    ntp = cfg.get("ntp")
    if isinstance(ntp, str):
        if not ntp:
            problems.append("ntp: empty host name")
    elif ntp is not None and _section(cfg, "ntp", _NTP, problems).get("host") == "":
        problems.append("ntp.host: empty host name")
    wd = {}
    # Not `in (None, False)`: 0 == False, and the firmware arms the watchdog for a 0.
    if cfg.get("watchdog") is not None and cfg.get("watchdog") is not False:
        wd = _section(cfg, "watchdog", _WATCHDOG, problems)
        wd_s = wd.get("timeout_s")
        ntp_s = ntp.get("timeout_s") if isinstance(ntp, dict) else None
        if isinstance(wd_s, int) and isinstance(ntp_s, int) and wd_s < 3 * ntp_s:
            problems.append("watchdog.timeout_s: must be at least 3 times ntp.timeout_s")
    if on_board and cfg.get("watchdog") is not False and wd.get("enabled", 1):
        _check_offline(wd, x, problems)
    # Each entry as the boards read it (drivers/detect.py, drivers/adc.py) after this check:
    # a malformed one stopped the board at boot with a traceback, one entry at a time.
    if cfg.get("adc") is not None or cfg.get("sensors") is not None:
        from thing import parts

        parts.check(cfg, problems)
    led = cfg.get("led_pin")
    if led is not None and (
        isinstance(led, bool) or not isinstance(led, int) or not 0 <= led <= 48
    ):
        problems.append("led_pin: must be a GPIO number, not %r" % (led,))
    # Switches the boards read as truth values, where "false" or "off" would be true.
    for key in ("soft_i2c", "detect", "mcu", "safe_mode"):
        if cfg.get(key) is not None and not isinstance(cfg[key], bool):
            problems.append("%s: must be true or false" % key)
    log = cfg.get("log", "info")
    if log not in LOG_LEVELS:
        problems.append("log: must be one of %s, not %r" % ("/".join(LOG_LEVELS), log))
    return problems


def load(path, on_board=True):
    """Read and check a config file; raises ConfigError listing every problem."""
    try:
        with open(path) as f:
            cfg = json.load(f)
    except OSError as e:
        # `from None`: chaining (`from e`) makes MicroPython warn on the console.
        raise ConfigError(["%s: cannot be read (%s)" % (path, e)]) from None
    except ValueError as e:
        # `from None`: chaining (`from e`) makes MicroPython warn on the console.
        raise ConfigError(["%s: not valid JSON (%s)" % (path, e)]) from None
    except MemoryError:
        raise ConfigError(["%s: too large for this board's memory" % path]) from None
    problems = check(cfg, on_board)
    if problems:
        raise ConfigError(problems)
    # check() reads a null as an absent key; so must everything that reads the config with
    # .get(key, default) (the firmware's settings, the Thing, the board's nodes): drop them.
    return _without_nulls(cfg)

"""Wall-clock time for XEP-0323 timestamps: UTC, `YYYY-MM-DDThh:mm:ssZ`, and honest.

A board knows the date only after NTP; until then `synced` is False and the sensor says so
in a `<failure>` instead of stamping readings with 2000-01-01 or 1970-01-01. Times are kept
as seconds since 1970 (Unix time) whatever the port's own epoch (2000 on an ESP32), so
stored history and parsed request times compare the same way on every port.
"""

import time

from micropython import const

_DASH = const(0x2D)
_PLUS = const(0x2B)
_COLON = const(0x3A)
_MONTH_DAYS = b"\x1f\x1d\x1f\x1e\x1f\x1e\x1f\x1f\x1e\x1f\x1e\x1f"  # February: 29 at most
_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
# Seconds from 1970-01-01 to the port's epoch: 0 on unix, 946684800 on an ESP32.
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0


class BadTime(ValueError):
    pass


def _days_from_civil(y, m, d):
    """Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def iso(t):
    """Unix seconds → '2026-11-23T21:02:03Z'."""
    return iso_bytes(t).decode()


def iso_bytes(t):
    """Unix seconds → b'2026-11-23T21:02:03Z', for the serializer (a new bytes object is not
    looked up among the interned strings, as a new str is)."""
    return b"%04d-%02d-%02dT%02d:%02d:%02dZ" % time.gmtime(int(t) - EPOCH_OFFSET)[:6]


def parse(s, up=False):
    """xs:dateTime → Unix seconds, leniently: fractions, 'Z', '±hh:mm' or no zone (UTC).

    A fraction is cut off, or with `up` rounds up to the next second (the first whole one
    not before the time)."""
    if not isinstance(s, str) or len(s) < 19 or len(s) > 40:
        raise BadTime("not a date and time: %r" % (s,))
    # Its characters are looked at as bytes: a one-character str (an index into a str) is
    # interned, for good, and the dates come from the network. A date is ASCII.
    b = s.encode()
    if len(b) != len(s):
        raise BadTime("not a date and time: %r" % s)
    try:
        if b[4] != _DASH or b[7] != _DASH or b[10] | 0x20 != 0x74 or b[13] != _COLON:
            raise BadTime("not a date and time: %r" % s)  # 0x74 | 0x20: 't' or 'T'
        if b[16] != _COLON:
            raise BadTime("not a date and time: %r" % s)
        # Digits only: int() would also read a sign or spaces ("T-1:-1:-1" as 22:58:59).
        if not (s[:4] + s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:19]).isdigit():
            raise BadTime("not a date and time: %r" % s)
        y, mo, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
        h, mi, sec = int(s[11:13]), int(s[14:16]), int(s[17:19])
        rest = s[19:]
        b = b[19:]  # as rest, in bytes
        bump = 0
        if rest.startswith("."):
            i = 1
            while i < len(b) and 0x30 <= b[i] <= 0x39:  # '0' to '9'
                i += 1
            if i == 1:
                raise BadTime("empty fraction in %r" % s)
            if up and rest[1:i].strip("0"):
                bump = 1
            rest = rest[i:]
            b = b[i:]
        offset = 0
        if rest in ("", "Z", "z"):
            pass
        elif (
            len(b) == 6
            and (b[0] == _PLUS or b[0] == _DASH)
            and b[3] == _COLON
            and (rest[1:3] + rest[4:]).isdigit()
        ):
            offset = int(rest[1:3]) * 3600 + int(rest[4:6]) * 60
            if offset > 14 * 3600 or int(rest[4:6]) > 59:  # xs:dateTime: within ±14:00
                raise BadTime("bad time zone in %r" % s)
            if b[0] == _DASH:
                offset = -offset
        else:
            raise BadTime("bad time zone in %r" % s)
    except BadTime:
        raise
    except ValueError:
        # Not chained (`from e`): MicroPython would print a warning on the console each time.
        raise BadTime("not a date and time: %r" % s) from None
    if not (1 <= mo <= 12 and 1 <= d <= _MONTH_DAYS[mo - 1] and mi <= 59 and sec <= 60):
        raise BadTime("out of range: %r" % s)
    if (h > 24 or h == 24 and (mi or sec or bump or "." in s)) or (
        mo == 2 and d == 29 and (y % 4 or (y % 100 == 0 and y % 400))
    ):
        raise BadTime("out of range: %r" % s)  # 24 only as 24:00:00; the 29th in leap years
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec + bump - offset


def unix_now():
    """Unix seconds by the board's clock (right only once it is synced)."""
    return int(time.time()) + EPOCH_OFFSET


class Clock:
    """The board's idea of now; `synced` is set by whoever set the time (NTP, or the host)."""

    now = staticmethod(unix_now)

    def __init__(self, synced=None):
        # On the host the OS clock is right; a board starts unsynced until NTP answers.
        self.synced = (time.gmtime(0)[0] == 1970) if synced is None else synced

import scratch

from sensordata.clock import BadTime, Clock, iso, parse


def test_iso_formats_utc_with_z():
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1795467723) == "2026-11-23T21:02:03Z"


def test_parse_is_the_inverse_of_iso():
    for t in (0, 951782400, 1795467723, 4102444800):
        assert parse(iso(t)) == t


def test_parse_accepts_fractions_offsets_and_no_zone():
    base = parse("2026-11-23T21:02:03Z")
    assert parse("2026-11-23T21:02:03.123456Z") == base
    assert parse("2026-11-23T21:02:03") == base
    assert parse("2026-11-23T22:02:03+01:00") == base
    assert parse("2026-11-23T16:32:03-04:30") == base


def test_leap_day_is_counted():
    assert parse("2024-03-01T00:00:00Z") - parse("2024-02-28T00:00:00Z") == 2 * 86400


def test_malformed_times_are_rejected():
    for bad in (
        "",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-11-23 21:02:03Z",
        "2026-11-23T21:02:03+0100",
        "2026-11-23T21:02:03.Z",
        None,
        "2026-11-23",
        "2026-11-27T-1:-1:-1Z",  # int() reads a sign, and so would take these
        "2026-11-27T+1:00:00Z",
        "2026-11-27T 1:00:00Z",
        "2026-11-27T01:00:00+-1:00",
    ):
        try:
            parse(bad)
        except BadTime:
            continue
        raise AssertionError("accepted %r" % (bad,))


def test_dates_and_zones_that_do_not_exist_are_rejected():
    # xs:dateTime: a day within its month, 24 only as 24:00:00, a zone within ±14:00.
    for bad in (
        "2026-02-29T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2100-02-29T00:00:00Z",  # not a leap year: divisible by 100, not by 400
        "2026-04-31T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2020-01-01T24:59:60Z",
        "2020-01-01T24:00:01Z",
        "2020-01-01T24:00:00.5Z",
        "2020-01-01T00:00:00+99:99",
        "2020-01-01T00:00:00+14:01",
        "2020-01-01T00:00:00-15:00",
        "2020-01-01T00:00:00+01:60",
        "2020-01-01T00:00:61Z",  # 60 is a leap second; there is no 61st
    ):
        try:
            parse(bad)
        except BadTime:
            continue
        raise AssertionError("accepted %r" % (bad,))
    for good in ("2000-02-29T00:00:00Z", "2024-02-29T12:00:00-14:00", "2026-12-31T23:59:59+14:00"):
        parse(good)


def test_a_time_of_forty_characters_is_read_and_a_longer_one_refused():
    t = "2026-01-01T00:00:00." + "1" * 14 + "+01:00"
    assert len(t) == 40 and parse(t) == 1767225600 - 3600
    try:
        parse(t.replace(".", ".1"))
    except BadTime:
        return
    raise AssertionError("accepted a time of 41 characters")


def test_the_end_of_a_day_may_be_written_as_24_00_00():
    # XML Schema 1.0 (xs:dateTime): 24:00:00 is the first instant of the next day.
    assert parse("2025-12-31T24:00:00Z") == parse("2026-01-01T00:00:00Z")


def test_a_leap_second_is_read():
    # UTC's 60th second (as in 2016-12-31T23:59:60Z): counted as the next day's first.
    assert parse("2016-12-31T23:59:60Z") == parse("2017-01-01T00:00:00Z")


def test_host_clock_counts_as_synced():
    c = Clock()
    assert c.synced
    assert c.now() > parse("2026-01-01T00:00:00Z")


def test_rejecting_a_malformed_time_writes_nothing_to_the_console():
    # MicroPython warns on stderr (a board's serial console) at every `raise ... from e`: a
    # requester sending bad dates must not be able to fill the console with such lines.
    import os
    import sys

    path = scratch.path("clock-console")
    code = (
        "import sys; sys.path.insert(0, 'lib')\n"
        "from sensordata import clock, wire\n"
        "from xmlstream.element import Element\n"
        "for s in ('noon', '2026-11-23T2x:02:03Z'):\n"
        "    try: clock.parse(s)\n"
        "    except clock.BadTime: pass\n"
        "try: wire.parse_req(Element('req', wire.NS, {'seqnr': '1', 'from': 'noon'}))\n"
        "except wire.BadRequest: print('rejected')\n"
    )
    status = os.system('%s -c "%s" >%s 2>&1' % (sys.executable, code, path))
    with open(path) as f:
        out = f.read()
    os.remove(path)
    assert status == 0 and out == "rejected\n", out


def test_dates_with_ever_new_characters_leave_nothing_behind():
    # A date is read as bytes, so that requests from the network cannot fill the heap with
    # interned one-character strs.
    from interned import held

    grown = held(parse, b"2026", b"01-01T00:00:00Z", error=BadTime)
    assert grown < 1024, grown

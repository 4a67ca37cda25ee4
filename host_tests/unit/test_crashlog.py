# thing.crashlog: a run that ends in an exception, or leaves its watchdog unfed, leaves a
# short record on flash; the next boot logs it once and shows it in `status`, beside the
# reset cause, by name.

import scratch

from thing import crashlog

_made = [0]


def _path():
    _made[0] += 1
    return scratch.path("crash-%d.txt" % _made[0])


def _raise(exc):
    def deeper():
        raise exc

    try:
        deeper()
    except Exception as e:  # noqa: BLE001
        return e


def test_a_crash_is_read_back_once_as_its_exception_and_uptime():
    path = _path()
    crashlog.keep_crash(_raise(ValueError("bad reading")), 3725, path)
    assert crashlog.last_crash(path) == "after 0d 01:02:05 up: ValueError: bad reading"
    assert crashlog.last_crash(path) is None  # read once: the next boot says nothing
    with open(path + ".old") as f:
        kept = f.read()  # the traceback, for a person with mpremote
    assert "Traceback" in kept and "deeper" in kept and "ValueError: bad reading" in kept


def test_no_record_reads_as_none():
    assert crashlog.last_crash(_path()) is None


def test_a_huge_exception_message_is_cut_in_the_summary():
    path = _path()
    crashlog.keep_crash(_raise(RuntimeError("x" * 5000)), 1, path)
    got = crashlog.last_crash(path)
    assert got.startswith("after 0d 00:00:01 up: RuntimeError: xxx") and len(got) <= 200


def test_a_long_reason_is_cut_before_it_is_written():
    # A watchdog's reasons can quote a peer's JID: the record on flash stays one short line.
    path = _path()
    crashlog.keep_crash("the watchdog was not fed: " + "j" * 3000, 5, path)
    with open(path) as f:
        assert len(f.read()) <= 200


def test_an_exception_without_a_message_is_named():
    path = _path()
    crashlog.keep_crash(_raise(MemoryError()), 86400 * 3 + 59, path)
    assert crashlog.last_crash(path) == "after 3d 00:00:59 up: MemoryError"


def test_an_unwritable_place_loses_the_record_not_the_crash():
    # Nothing raises from keep_crash: the exception being recorded must still reach the REPL.
    crashlog.keep_crash(_raise(ValueError("x")), 1, "/nonexistent-dir/crash.txt")


def test_a_starving_watchdog_leaves_its_reasons_until_fed_again():
    path = _path()
    crashlog.keep_crash("the watchdog was not fed: xmpp: offline for 1800 s", 1900, path)
    crashlog.keep_crash(None, 1915, path)  # fed again: nothing to explain at the next boot
    assert crashlog.last_crash(path) is None
    crashlog.keep_crash("the watchdog was not fed: thing: the XMPP task ended", 61, path)
    assert crashlog.last_crash(path) == (
        "after 0d 00:01:01 up: the watchdog was not fed: thing: the XMPP task ended"
    )


class _Machine:
    PWRON_RESET = 1
    HARD_RESET = 2
    WDT_RESET = 3
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5

    def __init__(self, cause):
        self.cause = cause

    def reset_cause(self):
        return self.cause


def test_the_reset_cause_is_named_as_the_port_names_it():
    assert crashlog.reset_name(_Machine(3)) == "WDT_RESET"
    assert crashlog.reset_name(_Machine(1)) == "PWRON_RESET"
    assert crashlog.reset_name(_Machine(9)) == "reset cause 9"


def test_a_corrupt_record_is_set_aside_not_a_reason_to_stay_down():
    # Read at every boot, before anything starts: bytes that are no UTF-8 must not stop it.
    path = _path()
    with open(path, "wb") as f:
        f.write(b"after \xff\xfe up: \xc3")
    got = crashlog.last_crash(path)
    assert got is None or isinstance(got, str)
    assert crashlog.last_crash(path) is None  # set aside all the same

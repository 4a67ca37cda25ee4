# thing.wifi against a simulated ESP32 station interface (test_wifi_fakes.FakeWLAN).
import asyncio

from test_wifi_fakes import (
    STAT_BEACON_TIMEOUT,
    STAT_CONNECTING,
    STAT_GOT_IP,
    STAT_HANDSHAKE_TIMEOUT,
    STAT_NO_AP_FOUND,
    STAT_WRONG_PASSWORD,
    FakeWLAN,
    QuickBackoff,
    make_log,
)
from waits import until

from thing import wifi


# A guard only: the tests of a timeout set a short one of their own.
def make(*scripts, timeout_ms=10_000, backoff=None, settle_ms=0):
    wlan = FakeWLAN(*scripts)
    log, out = make_log()
    w = wifi.Wifi(
        wlan,
        "home",
        "secret",
        log,
        timeout_ms=timeout_ms,
        poll_ms=1,
        check_ms=1,
        backoff=backoff or QuickBackoff(),
        settle_ms=settle_ms,
    )
    return w, wlan, out


def test_classify_tells_wrong_password_from_missing_network_and_timeout():
    assert wifi.classify(STAT_WRONG_PASSWORD)[0] == wifi.WRONG_PASSWORD
    assert wifi.classify(15)[0] == wifi.WRONG_PASSWORD  # IDF 4-way handshake timeout
    assert wifi.classify(STAT_HANDSHAKE_TIMEOUT)[0] == wifi.WRONG_PASSWORD
    assert wifi.classify(STAT_NO_AP_FOUND)[0] == wifi.NO_AP
    assert wifi.classify(210)[0] == wifi.NO_AP
    assert wifi.classify(STAT_BEACON_TIMEOUT)[0] == wifi.NO_AP
    assert wifi.classify(STAT_CONNECTING)[0] == wifi.TIMEOUT
    assert wifi.classify(STAT_GOT_IP)[0] == wifi.UP
    outcome, text = wifi.classify(205)
    assert outcome == wifi.FAILED and "205" in text


async def test_join_succeeds_when_the_port_reports_got_ip():
    w, wlan, _ = make([STAT_CONNECTING, STAT_CONNECTING, STAT_GOT_IP])
    assert await w.join()
    assert w.up.is_set() and w.state == "up" and w.joins == 1
    assert wlan.connects == [("home", "secret")]
    assert wlan.is_active


async def test_join_limits_the_ports_own_reconnects_so_status_reports_failures():
    w, wlan, _ = make([STAT_GOT_IP])
    await w.join()
    assert wlan.configured["reconnects"] == 2


async def test_wrong_password_ends_the_attempt_with_its_reason():
    w, wlan, _ = make([STAT_CONNECTING, STAT_WRONG_PASSWORD])
    assert not await w.join()
    assert w.outcome == wifi.WRONG_PASSWORD
    assert w.reason == "authentication failed (wrong password?)"
    assert wlan.disconnects == 1
    assert not w.up.is_set()


async def test_missing_network_is_reported_as_not_found():
    w, _, _ = make([STAT_NO_AP_FOUND])
    assert not await w.join()
    assert w.outcome == wifi.NO_AP and w.reason == "network not found"


async def test_attempt_times_out_when_the_port_keeps_connecting():
    w, wlan, _ = make([STAT_CONNECTING], timeout_ms=20)
    assert not await w.join()
    assert w.outcome == wifi.TIMEOUT
    assert wlan.disconnects == 1


async def test_a_refused_connect_is_a_failure_not_a_crash():
    w, wlan, _ = make()
    wlan.active(True)
    wlan.connect_error = OSError("Wifi Internal Error")
    assert not await w.join()
    assert w.outcome == wifi.FAILED and "refused" in w.reason


async def test_connect_retries_until_joined():
    backoff = QuickBackoff()
    w, wlan, out = make([STAT_NO_AP_FOUND], [STAT_NO_AP_FOUND], [STAT_GOT_IP], backoff=backoff)
    await w.connect()
    assert w.state == "up"
    assert len(wlan.connects) == 3
    assert backoff.floors == [0, 0]
    assert "network not found; retrying" in out.text()


async def test_a_second_wrong_password_in_a_row_waits_at_least_a_minute():
    # The port reports IDF's transient 205 (connection failed) as 202 too: once is no proof.
    backoff = QuickBackoff()
    w, _, out = make([205], [STAT_WRONG_PASSWORD], [STAT_GOT_IP], backoff=backoff)
    await w.connect()
    assert backoff.floors == [0, 60_000]
    assert "E " in out.text()  # logged as an error: a person has to fix it
    assert w.wrong_in_row == 0


def _poll_clock():
    """wifi's ticks advance a millisecond per reading: settle times pass with the polls made,
    not with the load of the host."""
    from esp32ticks import Esp32Ticks

    class PollClock(Esp32Ticks):
        def ticks_ms(self):
            self.now += 1
            return self.now

    wifi.time = PollClock(1_000)


async def test_a_reason_left_from_the_last_attempt_does_not_end_the_next_one():
    # The port keeps the last reason across connect(), until an address comes.
    _poll_clock()
    w, wlan, _ = make([STAT_NO_AP_FOUND], [STAT_CONNECTING, STAT_CONNECTING, STAT_GOT_IP],
                      settle_ms=40)  # fmt: skip
    assert not await w.join()
    assert w.outcome == wifi.NO_AP
    assert wlan.status() == STAT_NO_AP_FOUND  # still there before the next connect()
    assert await w.join()
    assert len(wlan.connects) == 2


async def test_one_missed_scan_is_no_verdict_while_the_port_tries_again():
    _poll_clock()
    w, _, _ = make([STAT_NO_AP_FOUND, STAT_CONNECTING, STAT_GOT_IP], settle_ms=40)
    assert await w.join()


async def test_an_attempt_that_runs_out_of_time_says_the_last_reason():
    w, _, _ = make([STAT_NO_AP_FOUND], timeout_ms=20, settle_ms=1000)
    assert not await w.join()
    assert w.outcome == wifi.NO_AP and w.reason == "network not found"


async def test_port_without_the_reconnects_option_still_joins():
    w, wlan, _ = make([STAT_GOT_IP])
    wlan.configured["no_reconnects"] = True
    assert await w.join()


async def test_keep_rejoins_after_the_link_is_lost():
    backoff = QuickBackoff()
    w, wlan, out = make([STAT_GOT_IP], [STAT_GOT_IP], backoff=backoff)
    await w.connect()
    task = asyncio.create_task(w.keep())
    await asyncio.sleep_ms(5)
    wlan.drop(STAT_CONNECTING, STAT_NO_AP_FOUND)  # the port's reconnects fail too
    for _ in range(200):
        await asyncio.sleep_ms(1)
        if w.joins == 2:
            break
    task.cancel()
    assert w.joins == 2 and w.losses == 1
    assert w.up.is_set()
    assert "link to 'home' lost" in out.text()
    line = w.status_line()
    assert line == "WiFi: home, RSSI -61 dBm, 192.168.1.23, link lost once", line
    w.losses = 3
    assert w.status_line().endswith(", link lost 3 times")
    assert len(backoff.stable) == 1  # how long the lost link lasted, for the backoff


async def test_join_waits_for_the_ports_own_reconnect_instead_of_connecting_again():
    w, wlan, _ = make([STAT_GOT_IP])
    await w.join()
    wlan.drop(STAT_CONNECTING, STAT_CONNECTING, STAT_GOT_IP)
    wlan.requested = True
    assert await w.join()
    assert len(wlan.connects) == 1


async def test_keep_beats_while_the_link_is_up():
    import time

    w, _, _ = make([STAT_GOT_IP])
    await w.connect()
    before = w.beat
    task = asyncio.create_task(w.keep())
    await asyncio.sleep_ms(20)
    task.cancel()
    assert time.ticks_diff(w.beat, before) > 0


async def test_status_line_shows_rssi_and_address_when_joined():
    w, _, _ = make([STAT_GOT_IP])
    await w.connect()
    assert w.rssi() == -61
    assert w.status_line() == "WiFi: home, RSSI -61 dBm, 192.168.1.23"


async def test_status_line_shows_the_reason_when_down():
    w, _, _ = make([STAT_WRONG_PASSWORD])
    await w.join()
    assert w.rssi() is None
    assert w.status_line() == "WiFi: down (authentication failed (wrong password?))"


async def test_status_line_counts_down_to_the_next_attempt():
    class SlowBackoff(QuickBackoff):
        def next_ms(self, floor_ms=0):
            return 5000

    w, _, _ = make([STAT_NO_AP_FOUND], backoff=SlowBackoff())
    task = asyncio.create_task(w.connect())
    await until(lambda: "retry in" in w.status_line(), what="no countdown")
    line = w.status_line()
    task.cancel()
    assert line.startswith("WiFi: waiting (network not found), retry in ")


async def test_a_link_kept_up_across_a_soft_reset_is_reused():
    w, wlan, _ = make([STAT_GOT_IP])
    await w.join()
    again = wifi.Wifi(wlan, "home", "secret", w.log, poll_ms=1)
    assert await again.join()
    assert len(wlan.connects) == 1


async def test_a_link_to_another_network_is_dropped_first():
    # As in the port, isconnected() turns False only once its disconnect event is handled.
    w, wlan, _ = make([STAT_GOT_IP], [STAT_GOT_IP])
    await w.join()
    other = wifi.Wifi(wlan, "office", "pw2", w.log, timeout_ms=200, poll_ms=1)
    assert await other.join()
    assert wlan.connects == [("home", "secret"), ("office", "pw2")]


async def test_a_link_up_for_a_week_counts_as_long_lasting_though_ticks_wrapped():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative; the backoff must
    # hear of a long-lasting link (and start over), not of a negative one.
    from esp32ticks import DAY_MS, install

    ticks = install(wifi, now=1_000)
    backoff = QuickBackoff()
    w, wlan, _ = make([STAT_GOT_IP], [STAT_GOT_IP], backoff=backoff)
    await w.connect()
    task = asyncio.create_task(w.keep())
    await asyncio.sleep_ms(5)
    ticks.advance(7 * DAY_MS)
    wlan.drop(STAT_CONNECTING)
    for _ in range(200):
        await asyncio.sleep_ms(1)
        if backoff.stable:
            break
    task.cancel()
    assert w.losses == 1 and backoff.stable[0] >= 6 * DAY_MS, backoff.stable

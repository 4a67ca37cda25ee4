# Reconnect delays at their bounds, with a random source the test controls.
from xmpp import backoff
from xmpp.backoff import Backoff


class _Random:
    """getrandbits(n) gives the low n bits of a chosen value."""

    def __init__(self, value):
        self.value = value

    def getrandbits(self, n):
        return self.value & ((1 << n) - 1)


def _with_random(value, fn):
    saved = backoff.random
    backoff.random = _Random(value)
    try:
        return fn()
    finally:
        backoff.random = saved


def test_the_ceiling_itself_is_a_possible_delay():
    b = Backoff(base_ms=100, cap_ms=100_000)
    b.failures = 2  # ceiling 400, delays in 50..400: 351 possible values
    assert _with_random(350, b.next_ms) == 400
    b.failures = 2
    assert _with_random(0, b.next_ms) == 50


def test_after_many_failures_the_delay_can_reach_a_high_cap():
    # base 100 ms doubled ten times is 102_400 ms: below the cap, so that is the ceiling.
    b = Backoff(base_ms=100, cap_ms=1_000_000)
    b.failures = 10
    span = 102_400 - 50 + 1
    assert _with_random(span - 1, b.next_ms) == 102_400


def test_a_very_long_outage_still_gives_a_capped_delay():
    # A board offline for months counts millions of failures: the shift must stay bounded.
    b = Backoff(base_ms=1000, cap_ms=120_000)
    b.failures = 10_000_000
    d = b.next_ms()
    assert 500 <= d <= 120_000, d
    assert b.failures == 10_000_001


def test_a_cap_below_half_the_base_gives_half_the_base():
    b = Backoff(base_ms=1000, cap_ms=100)
    assert b.next_ms() == 500
    b = Backoff(base_ms=1000, cap_ms=499)
    assert b.next_ms() == 500


def test_the_longest_cap_the_config_allows_can_be_reached():
    # backoff_cap_s may be a day: 86_400_000 ms, past 2**24 and past base 1 s doubled 16 times.
    b = Backoff(base_ms=1000, cap_ms=86_400_000)
    b.failures = 40
    span = 86_400_000 - 500 + 1
    assert _with_random(span - 1, b.next_ms) == 86_400_000

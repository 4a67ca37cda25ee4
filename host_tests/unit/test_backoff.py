from xmpp import backoff
from xmpp.backoff import Backoff


class _Draw:
    """getrandbits(n) gives a chosen value: the delay drawn is then known."""

    def __init__(self, value):
        self.value = value

    def getrandbits(self, n):
        return self.value


def _next_with(b, value):
    saved = backoff.random
    backoff.random = _Draw(value)
    try:
        return b.next_ms()
    finally:
        backoff.random = saved


def test_delays_grow_exponentially_up_to_the_cap():
    b = Backoff(base_ms=100, cap_ms=1600)
    for n, ceiling in enumerate((100, 200, 400, 800, 1600, 1600, 1600, 1600)):
        # Delays lie in 50..ceiling: the draw span - 1 gives the ceiling, the span wraps to 50.
        b.failures = n
        assert _next_with(b, ceiling - 50) == ceiling, n
        b.failures = n
        assert _next_with(b, ceiling - 49) == 50, n
        assert b.failures == n + 1


def test_delays_are_jittered():
    b = Backoff(base_ms=1000, cap_ms=60_000)
    seen = set()
    for _ in range(20):
        b.failures = 6
        seen.add(b.next_ms())
    assert len(seen) > 10


def test_floor_lengthens_the_delay_for_permanent_errors():
    b = Backoff(base_ms=100, cap_ms=1000)
    assert b.next_ms(floor_ms=300_000) == 300_000


def test_stable_connection_resets_the_count():
    b = Backoff(base_ms=100, cap_ms=10_000, stable_ms=5000)
    for _ in range(5):
        b.next_ms()
    b.connected_for(1000)
    assert b.failures == 5
    b.connected_for(5000)
    assert b.failures == 0
    assert b.next_ms() <= 100


def test_never_below_half_the_base():
    b = Backoff(base_ms=1000, cap_ms=1000)
    assert min(b.next_ms() for _ in range(50)) >= 500

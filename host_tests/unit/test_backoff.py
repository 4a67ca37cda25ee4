from xmpp.backoff import Backoff


def test_delays_grow_exponentially_up_to_the_cap():
    b = Backoff(base_ms=100, cap_ms=1600)
    ceilings = []
    for _ in range(8):
        ceilings.append(min(1600, 100 << b.failures))
        d = b.next_ms()
        assert 50 <= d <= ceilings[-1], (d, ceilings[-1])
    assert ceilings == [100, 200, 400, 800, 1600, 1600, 1600, 1600]


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

"""Reconnect delays: exponential backoff with full jitter and a cap.

The n-th consecutive failure waits a random time in [base/2, min(cap, base * 2**n)]:
jitter spreads a fleet that lost its server at the same instant, and the floor keeps
one board from retrying in a tight loop. A connection that stayed up for `stable_ms`
resets the count, so a single drop after a week online reconnects quickly.
"""

import random

from micropython import const

# 2**17 * base (1 s at least) is past the longest cap the config allows (a day, 8.64e7 ms),
# and 30 random bits span it: both stay small ints on an ESP32 (below 2**30).
_MAX_SHIFT = const(17)
_RANDOM_BITS = const(30)


class Backoff:
    def __init__(self, base_ms=1000, cap_ms=120_000, stable_ms=60_000):
        self.base_ms = base_ms
        self.cap_ms = cap_ms
        self.stable_ms = stable_ms
        self.failures = 0

    def next_ms(self, floor_ms=0):
        """Delay before the next attempt; `floor_ms` lengthens it (e.g. wrong password)."""
        ceiling = min(self.cap_ms, self.base_ms << min(self.failures, _MAX_SHIFT))
        self.failures += 1
        low = self.base_ms // 2
        delay = low + random.getrandbits(_RANDOM_BITS) % max(1, ceiling - low + 1)
        return max(delay, floor_ms)

    def connected_for(self, up_ms):
        """Report how long the last connection lasted; a stable one resets the backoff."""
        if up_ms >= self.stable_ms:
            self.failures = 0

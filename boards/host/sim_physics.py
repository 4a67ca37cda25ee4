"""Physical quantities for the simulated board: a value, optionally drifting with time.

A quantity is given in the config either as a number (constant) or as a dict
`{"value": 21.5, "drift": 0.5, "period_s": 600}`: the value then wanders sinusoidally by
±drift around `value`, with the given period, starting at `value` when the board is built.
"""

import math
import time


class Quantity:
    def __init__(self, spec):
        if isinstance(spec, dict):
            self.value = float(spec["value"])
            self.drift = float(spec.get("drift", 0))
            self.period_ms = int(float(spec.get("period_s", 600)) * 1000)
        else:
            self.value = float(spec)
            self.drift = 0.0
            self.period_ms = 600_000
        self._t0 = time.ticks_ms()

    def now(self):
        """The value at this instant."""
        if not self.drift:
            return self.value
        t = time.ticks_diff(time.ticks_ms(), self._t0) % self.period_ms
        return self.value + self.drift * math.sin(2 * math.pi * t / self.period_ms)


class Environment:
    """Named quantities with defaults; `set(name=spec)` replaces one."""

    def __init__(self, defaults, config=None):
        self._q = {}
        for name, spec in defaults.items():
            self._q[name] = Quantity(spec)
        if config:
            self.set(**config)

    def set(self, **specs):
        for name, spec in specs.items():
            if name in self._q:
                self._q[name] = Quantity(spec)

    def __getitem__(self, name):
        return self._q[name].now()

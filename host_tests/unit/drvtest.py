# Shared by the driver tests (MicroPython): awaiting a driver call that must fail, a NACK
# from a simulated part, a part that keeps what it is sent, and sleeps that end as early as a
# millisecond tick lets them.
import time


async def expect(exc_type, coro, errno=None):
    """Await coro; it must raise exc_type (with this errno, if given). Returns the error."""
    try:
        await coro
    except exc_type as e:
        if errno is not None:
            assert e.errno == errno, e
        return e
    raise AssertionError("no %s" % exc_type.__name__)


def nacked(bus, address, data=None, n=3):
    """True when writing `data` to `address` (or, without data, reading n bytes) is NACKed."""
    try:
        if data is None:
            bus.readfrom(address, n)
        else:
            bus.writeto(address, data)
    except OSError as e:
        assert e.errno == 19, e
        return True
    return False


def recording(sim_class):
    """A subclass of a simulated part that keeps every write it is sent, in `.sent`."""

    class Recording(sim_class):
        def __init__(self, *args):
            self.sent = []
            super().__init__(*args)

        def write(self, data, stop):
            self.sent.append(bytes(data))
            super().write(data, stop)

    return Recording


class EarlySleeps:
    """`with EarlySleeps(module):` each asyncio.sleep_ms(n) of that driver module lasts n - 1 ms.

    sleep_ms counts ticks of the millisecond clock, so a sleep begun just before a tick ends
    almost a whole millisecond early: the worst case a driver's wait must still cover. (The
    unix port's asyncio happens to sleep the full time, which would hide a short wait.)
    """

    def __init__(self, *modules):
        self._modules = modules
        self._saved = []  # (module, its asyncio)
        self.slept = []  # each sleep asked for, in ms

    def __enter__(self):
        for m in self._modules:
            self._saved.append((m, m.asyncio))
            m.asyncio = self
        return self

    def __exit__(self, *exc):
        for m, saved in self._saved:
            m.asyncio = saved

    async def sleep_ms(self, ms):
        self.slept.append(ms)
        time.sleep_us(max(ms - 1, 0) * 1000)  # sleep_us is exact; sleep_ms counts ticks too


class SimClock:
    """`with SimClock(sim_module, [driver_module]) as clock:` the simulated part's time is
    `clock.us`, moved only by the test, or by the driver's asyncio.sleep_ms when a driver
    module is given (each sleep ending as early as a millisecond tick lets it, n - 1 ms): the
    test does not depend on host load. A part whose time lives in several sim modules (an
    SCD4x: sim_scd4x and sim_sensirion) takes a tuple of them: one clock for all."""

    def __init__(self, sim, driver=None):
        self.us = 0
        self._sims = sim if isinstance(sim, tuple) else (sim,)
        self._driver = driver
        self._saved = None

    def now_us(self):
        return self.us

    def since_us(self, t):
        return self.us - t

    async def sleep_ms(self, ms):
        self.us += max(ms - 1, 0) * 1000

    def __enter__(self):
        self._saved = [(m, m.now_us, m.since_us) for m in self._sims]
        for m in self._sims:
            m.now_us, m.since_us = self.now_us, self.since_us
        if self._driver is not None:
            self._saved_asyncio = self._driver.asyncio
            self._driver.asyncio = self
        return self

    def __exit__(self, *exc):
        for m, now_us, since_us in self._saved:
            m.now_us, m.since_us = now_us, since_us
        if self._driver is not None:
            self._driver.asyncio = self._saved_asyncio

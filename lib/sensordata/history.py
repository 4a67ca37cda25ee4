"""A bounded per-node history: the last N readouts, oldest overwritten first."""


class History:
    def __init__(self, size):
        self.times = [0] * size
        self.values = [None] * size
        self.next = 0
        self.count = 0
        self.overwritten = 0

    def add(self, t, values):
        i = self.next
        if self.count == len(self.times):
            self.overwritten += 1
        else:
            self.count += 1
        self.times[i] = t
        self.values[i] = values
        self.next = (i + 1) % len(self.times)

    def between(self, t_from=None, t_to=None):
        """(time, values) of the samples within [t_from, t_to], oldest first."""
        n = len(self.times)
        start = (self.next - self.count) % n
        for k in range(self.count):
            i = (start + k) % n
            t = self.times[i]
            if (t_from is None or t >= t_from) and (t_to is None or t <= t_to):
                yield t, self.values[i]

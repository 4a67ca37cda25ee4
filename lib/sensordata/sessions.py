"""A fixed-size table of live XEP-0323 sessions, allocated once at start.

Requests are keyed by (requester full JID, seqnr): slixmpp counts seqnr from 1 in every
process, so seqnr alone is not unique across requesters. The table never grows: when every
slot is taken, `claim` returns None and the request is rejected with `resource-constraint`
(type wait), so a flood of requests costs the board nothing it has not already set aside.
Lookups are linear scans of the N slots (N is small: 4 by default), with no allocation.
"""


class Session:
    """One slot. `jid is None` means free; the rest is meaningful only while in use."""

    def __init__(self, index):
        self.index = index
        self.jid = None
        self.seqnr = None
        self.request = None
        self.task = None
        self.state = None  # 'queued' | 'reading'; the requester uses its own states
        self.deadline = 0
        self.callback = None
        self.since = None  # the sensor's: an id issued as the session began (Sensor._on_bounce)


class SessionTable:
    def __init__(self, size):
        self.slots = [Session(i) for i in range(size)]
        self.rejected_full = 0

    def find(self, jid, seqnr):
        if seqnr is None:
            return None  # a stanza without seqnr matches nothing (a free slot has None too)
        for s in self.slots:
            if s.seqnr == seqnr and s.jid == jid:
                return s
        return None

    def claim(self, jid, seqnr):
        """A free slot now owned by (jid, seqnr), or None when the table is full."""
        for s in self.slots:
            if s.jid is None:
                s.jid = jid
                s.seqnr = seqnr
                return s
        self.rejected_full += 1
        return None

    def free(self, s):
        """Release a slot; cancels its task unless the task is the caller itself."""
        task = s.task
        s.jid = s.seqnr = s.request = s.task = s.state = s.callback = s.since = None
        s.deadline = 0
        if task is not None:
            try:
                task.cancel()
            except RuntimeError:
                pass  # MicroPython refuses to cancel the running task: it is ending anyway

    def retire(self, s):
        """Free the slot of `s` with a new session in its place: `s`, a handle its owner may
        keep (the requester returns it), stays as it ended (its JID, seqnr, state "ended"),
        and can never name the next request in that slot."""
        if self.slots[s.index] is not s:
            return  # retired before
        jid, seqnr = s.jid, s.seqnr
        self.free(s)  # cancels its task
        s.seqnr, s.state = seqnr, "ended"  # a free slot is found by no seqnr: its JID is None
        try:
            self.slots[s.index] = Session(s.index)
        except MemoryError:
            return  # no room for one: freed in place, the handle is the slot again
        s.jid = jid

    def in_use(self):
        n = 0
        for s in self.slots:
            if s.jid is not None:
                n += 1
        return n

    def owned_by(self, jid):
        """Slots whose requester is `jid` (a full JID), or any resource of `jid` (bare)."""
        bare = "/" not in jid
        for s in self.slots:
            if s.jid is not None and (s.jid == jid or (bare and s.jid.split("/")[0] == jid)):
                yield s

    def free_all(self):
        for s in self.slots:
            if s.jid is not None:
                self.free(s)

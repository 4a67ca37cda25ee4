"""An in-process stand-in for xmpp.client.Client: a real Router and Roster, no socket.

What the code under test sends is serialized (so it must be writable XML) and kept in
`sent` as bytes, in order; bytes are sent as they are, as the client's outbox takes them.
"""

from xmlstream.element import tostring
from xmpp.roster import Roster
from xmpp.router import Router


class _Log:
    def __init__(self):
        self.lines = []

    def _add(self, level, msg):
        self.lines.append(level + " " + msg)

    def error(self, m):
        self._add("E", m)

    def warn(self, m):
        self._add("W", m)

    def info(self, m):
        self._add("I", m)

    def debug(self, m):
        pass

    def latest(self):
        problems = [x for x in self.lines if x[0] in "WE"]
        return problems[-1] if problems else None


class FakeClient:
    def __init__(self, allow=("owner@example.org",), jid="dev@example.org"):
        self.jid = jid
        self.full_jid = jid + "/sensor"
        self.log = _Log()
        self.sent = []
        self.on_offline = []
        self.on_online = []
        self.online = True
        self.full = False  # True: the output is full, as the client's outbox can be
        self._ids = 0
        self._why = None  # as the client: why the connection ended
        self.router = Router(self.send, self.log)
        self.router.account = jid
        self.roster = Roster(self, allow)

    def send(self, el):
        if not self.online or self.full:
            return False
        self.sent.append(bytes(el) if isinstance(el, (bytes, bytearray)) else tostring(el))
        return True

    async def send_wait(self, el):
        if not self.online:
            raise OSError("offline")
        self.sent.append(tostring(el))

    def new_id(self):
        self._ids += 1
        return "c%d" % self._ids

    def go_offline(self):
        self.online = False
        for cb in self.on_offline:
            cb()

    def go_online(self):
        self.online = True
        for cb in self.on_online:
            cb()

    def take(self):
        out, self.sent = self.sent, []
        return out

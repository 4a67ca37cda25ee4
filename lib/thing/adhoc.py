"""XEP-0050 ad-hoc command "Read sensors": one stage, completed, a read-only data form.

For clients with a command menu (Gajim, Profanity's /cmd, Psi, Cheogram, Converse.js).
The form has one field per measurement, named `node/field`, labelled with the unit; a note
names the nodes that failed (type error when all did). Being one stage, every session is
over when answered: a request naming a sessionid gets `session-expired`, or `bad-sessionid`
when the id is not one this run gave out.
"""

import random

from xmlstream.element import Element
from xmpp import stanza as st

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NODE = "read"
NAME = "Read sensors"


class ReadCommand:
    def __init__(self, thing, chat):
        self.thing = thing
        self.chat = chat
        self._sessions = 0
        # Session ids are not reused after a restart either (XEP-0050 §3.3).
        self._prefix = "%08x" % random.getrandbits(32)
        r = thing.client.router
        r.iq(NS_COMMANDS, "command", self._execute, feature=NS_COMMANDS)
        r.node_items[NS_COMMANDS] = self._items
        r.node_info[NS_COMMANDS] = self._list_info
        r.node_info[NODE] = self._info
        # The command node exists and has no items (XEP-0030 §4.1): an empty list. (A
        # lambda: a method would add an interned name, for good.)
        r.node_items[NODE] = lambda iq: (
            [] if self.thing.client.roster.is_authorized(iq.get("from"))
            else self._refused(iq, "disco#items of command read")
        )  # fmt: skip

    def _list_info(self, iq):
        identity = {"category": "automation", "type": "command-list", "name": "Commands"}
        children = [Element("identity", st.NS_DISCO_INFO, identity)]
        return Element("query", st.NS_DISCO_INFO, {"node": NS_COMMANDS}, children)

    def _items(self, iq):
        if not self.thing.client.roster.is_authorized(iq.get("from")):
            return []  # XEP-0050 §2.2: the list may differ by requester; only what it may run
        me = self.thing.client.full_jid
        return [Element("item", st.NS_DISCO_ITEMS, {"jid": me, "node": NODE, "name": NAME})]

    def _refused(self, iq, what):
        self.thing.client.log.info("%s from %s refused (not authorized)" % (what, iq.get("from")))
        return st.error(iq, "forbidden")  # XEP-0050 §2.2: not available to them

    def _info(self, iq):
        if not self.thing.client.roster.is_authorized(iq.get("from")):
            return self._refused(iq, "disco#info of command read")
        children = [
            Element(
                "identity",
                st.NS_DISCO_INFO,
                {"category": "automation", "type": "command-node", "name": NAME},
            ),
            Element("feature", st.NS_DISCO_INFO, {"var": NS_COMMANDS}),
            Element("feature", st.NS_DISCO_INFO, {"var": NS_DATA}),
        ]
        return Element("query", st.NS_DISCO_INFO, {"node": NODE}, children)

    def _execute(self, iq):
        cmd = iq.children[0]
        if iq.get("type") != "set":
            return st.error(iq, "bad-request")
        if cmd.get("node") != NODE:
            return st.error(iq, "item-not-found")
        if not self.thing.client.roster.is_authorized(iq.get("from")):
            return self._refused(iq, "command read")
        action = cmd.get("action") or "execute"
        if action not in ("execute", "complete", "cancel", "next", "prev"):
            return st.error(
                iq, "bad-request", None, None, Element("malformed-action", NS_COMMANDS)
            )
        sid = cmd.get("sessionid")
        if sid is not None:
            if not self._issued(sid):
                # XEP-0050 §4.4: an id never given out (or empty) cannot be accepted.
                return st.error(
                    iq, "bad-request", None, None, Element("bad-sessionid", NS_COMMANDS)
                )
            # Every session ended with its first answer (XEP-0050 §4.4).
            return st.error(iq, "not-allowed", None, None, Element("session-expired", NS_COMMANDS))
        if action in ("next", "prev", "cancel"):
            return st.error(iq, "bad-request", None, None, Element("bad-action", NS_COMMANDS))
        return self._read(iq)

    def _issued(self, sid):
        """Whether `sid` is one of the session ids this run gave out."""
        p = self._prefix
        n = len(p)
        # The prefix, "-", a count of at most 10 digits: anything longer is no id of ours.
        if len(sid) > n + 11 or not sid.startswith(p) or not sid.startswith("-", n):
            return False
        num = sid[n + 1 :]
        return num.isdigit() and 0 < int(num) <= self._sessions

    async def _read(self, iq):
        sensor = self.thing.sensor
        fields = []
        failed = []
        for n in sensor.nodes:
            values, _, err = await n.read()
            if err is not None:
                failed.append("%s: %s" % (n.id, err))
                continue
            for i, f in enumerate(n.fields):
                v = values[i]
                if f[3] != "momentary":
                    continue
                if v is None:  # read, but the part gave no valid value: named, as chat does
                    failed.append("%s: %s missing" % (n.id, f[0]))
                    continue
                if v is True or v is False:
                    v = "true" if v else "false"
                label = "%s %s%s" % (n.id, f[0], " (%s)" % f[2] if f[2] else "")
                fields.append(
                    Element(
                        "field",
                        NS_DATA,
                        {"var": "%s/%s" % (n.id, f[0]), "label": label, "type": "text-single"},
                        [Element("value", NS_DATA, None, None, str(v))],
                    )
                )
        if not self.thing.client.roster.is_authorized(iq.get("from")):
            return self._refused(iq, "command read")  # access taken back during the read
        form = Element(
            "x",
            NS_DATA,
            {"type": "result"},
            [Element("title", NS_DATA, None, None, NAME)] + fields,
        )
        self._sessions += 1
        sid = "%s-%d" % (self._prefix, self._sessions)
        children = [form]
        if failed:
            # XEP-0050 §3.6: a command that completes but fails carries an error note.
            kind = "warn" if fields else "error"
            children.insert(
                0, Element("note", NS_COMMANDS, {"type": kind}, None, "\n".join(failed))
            )
        attrs = {"node": NODE, "status": "completed", "sessionid": sid}
        return st.result(iq, Element("command", NS_COMMANDS, attrs, children))

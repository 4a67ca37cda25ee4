"""XEP-0050 ad-hoc command "Read sensors": one stage, completed, a read-only data form.

For clients with a command menu (Gajim, Profanity's /cmd, Psi, Cheogram, Converse.js).
The form has one field per measurement, named `node/field`, labelled with the unit.
"""

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
        r = thing.client.router
        r.iq(NS_COMMANDS, "command", self._execute, feature=NS_COMMANDS)
        r.node_items[NS_COMMANDS] = self._items
        r.node_info[NODE] = self._info

    def _items(self, iq):
        if not self.thing.client.roster.is_authorized(iq.get("from")):
            return []  # XEP-0050 §4: list only what the requester may run
        me = self.thing.client.full_jid
        return [Element("item", st.NS_DISCO_ITEMS, {"jid": me, "node": NODE, "name": NAME})]

    def _info(self, iq):
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
            return st.error(iq, "forbidden")
        action = cmd.get("action") or "execute"
        if action == "cancel":
            attrs = {"node": NODE, "status": "canceled"}
            if cmd.get("sessionid"):
                attrs["sessionid"] = cmd.get("sessionid")
            return st.result(iq, Element("command", NS_COMMANDS, attrs))
        if action not in ("execute", "complete"):
            return st.error(iq, "bad-request")
        return self._read(iq)

    async def _read(self, iq):
        sensor = self.thing.sensor
        fields = []
        for n in sensor.nodes:
            values, _, err = await n.read()
            for i, f in enumerate(n.fields):
                if f[3] != "momentary":
                    continue
                v = err if err is not None else values[i]
                if v is True or v is False:
                    v = "true" if v else "false"
                label = "%s %s%s" % (n.id, f[0], " (%s)" % f[2] if f[2] else "")
                fields.append(
                    Element(
                        "field",
                        NS_DATA,
                        {"var": "%s/%s" % (n.id, f[0]), "label": label, "type": "text-single"},
                        [Element("value", NS_DATA, None, None, "" if v is None else str(v))],
                    )
                )
        form = Element(
            "x",
            NS_DATA,
            {"type": "result"},
            [Element("title", NS_DATA, None, None, NAME)] + fields,
        )
        self._sessions += 1
        attrs = {"node": NODE, "status": "completed", "sessionid": "r%d" % self._sessions}
        return st.result(iq, Element("command", NS_COMMANDS, attrs, [form]))

"""Who may read this board: the `allow` list, and contacts with an approved subscription.

XEP-0323 §3 leaves access to the device: only "friends" should get data. A friend is a
bare JID in the configured `allow` list, or a roster contact whose subscription lets them
see our presence ('from' or 'both'). Subscription requests from allowed JIDs are approved
and returned (so both sides see each other's presence, which is how a requester going
offline is noticed); everyone else is refused. The contact set is bounded: a roster larger
than `max_contacts` keeps its first entries and says so in the log; one whose answer is
larger than `max_stanza` ends that stream (policy-violation, as any stanza too large) and
is not asked for again until a reboot: the allow list alone authorizes then, and the log
says so at each login. When a push takes a contact's access away, each `on_revoke`
callable is called with its bare JID, so what was granted before (a readout queued for
later) can end too.
"""

from xmlstream.element import Element
from xmpp import jid as jids
from xmpp import stanza as st


class Roster:
    def __init__(self, client, allow, max_contacts=16):
        self.client = client
        for j in allow:
            if jids.resource(j):
                # Matching is by bare JID: a resource here would silently admit every one.
                raise ValueError("allow: %r is not a bare JID" % j)
        self.allow = tuple(jids.bare(j) for j in allow)
        self.max_contacts = max_contacts
        self.contacts = set()
        self.on_revoke = []  # callables(bare JID), after a push ends a contact's access
        self.dropped = 0
        self.skip = False  # True: the roster outgrew max_stanza; not asked for again
        client.router.iq(st.NS_ROSTER, "query", self._push)
        client.router.presence(self._presence)

    def is_authorized(self, jid):
        return self.allows(_bare(jid))

    def allows(self, bare):
        """is_authorized() for a bare JID already normalised (or None: nobody)."""
        return bare is not None and (bare in self.allow or bare in self.contacts)

    async def load(self):
        """Fetch the roster once per login (RFC 6121 §2.2); without an answer, no contacts."""
        c = self.client
        # What the last connection knew may be stale: a subscription revoked while we were
        # offline was pushed to nobody. Until the server says otherwise, only `allow` reads.
        self.contacts = set()
        if self.skip:
            c.log.warn("roster larger than max_stanza: not asked for; the allow list authorizes")
            return
        id_ = c.new_id()
        q = st.iq("get", None, id_, Element("query", st.NS_ROSTER))
        answer = await c.router.request(q, 10_000, True)
        # The stream ended: by bad XML in the answer itself (Client._feed names the stanza
        # it cut short)?
        if answer is None and getattr(c._why, "id", None) == id_:
            # It would end every connection so; without it, this one can go online.
            self.skip = True
            c.log.error(
                "the roster is larger than max_stanza (%d bytes); not asked for again"
                % c.opt.max_stanza
            )
            return
        if answer is None or answer.get("type") != "result":
            c.log.warn("roster not loaded; only the allow list is authorized")
            return
        query = answer.find("query", st.NS_ROSTER)
        for item in query.children if query is not None else ():
            self._item(item)

    def _item(self, item):
        j = _bare(item.get("jid"))
        if j is None:
            return
        if item.get("subscription") in ("from", "both"):
            if j in self.contacts or len(self.contacts) < self.max_contacts:
                self.contacts.add(j)
            else:
                self.dropped += 1
                self.client.log.warn("roster larger than %d: %s ignored" % (self.max_contacts, j))
        elif j in self.contacts:
            self.contacts.remove(j)
            if j not in self.allow:
                for cb in self.on_revoke:
                    try:
                        cb(j)
                    except Exception as e:  # noqa: BLE001 - the push must still be applied
                        self.client.log.error("revoking %s failed: %r" % (j, e))

    def _push(self, el):
        # RFC 6121 §2.1.6: a push without 'from', or from exactly our bare JID, is genuine
        # (not from another resource of our account: a client there cannot push).
        frm = el.get("from")
        if frm and (_bare(frm) != jids.bare(self.client.jid) or "/" in frm):
            self.client.log.warn("roster push from %s refused" % frm)
            return st.error(el, "service-unavailable")
        if el.get("type") != "set":
            return st.error(el, "bad-request")
        for item in el.children[0].children:
            self._item(item)
        return st.result(el)

    def _presence(self, el):
        type_ = el.get("type")
        frm = el.get("from")
        b = _bare(frm)
        if type_ != "subscribe" or b is None or b == self.client.router.account:
            return  # our own account: an echo, or another client of it; no contact to refuse
        send = self.client.send
        if b in self.allow:
            send(Element("presence", st.NS_CLIENT, {"type": "subscribed", "to": b}))
            send(Element("presence", st.NS_CLIENT, {"type": "subscribe", "to": b}))
            self.client.log.info("subscription from %s approved" % b)
        elif b in self.contacts:
            # Approved before (RFC 6121 §3.1.3 has the server answer this itself; one that
            # passes it on must not make us cancel what we approved): confirm.
            send(Element("presence", st.NS_CLIENT, {"type": "subscribed", "to": b}))
        else:
            send(Element("presence", st.NS_CLIENT, {"type": "unsubscribed", "to": b}))
            self.client.log.info("subscription from %s refused (not in allow)" % b)


def _bare(jid):
    """The normalised bare JID, or None for a missing or malformed one."""
    if not jid:
        return None
    try:
        return jids.bare(jid)
    except jids.JIDError:
        return None

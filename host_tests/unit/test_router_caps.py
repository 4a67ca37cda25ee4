# XEP-0115 entity capabilities: our presence names our disco#info by its hash, so clients
# (Conversations, Dino) learn our features, ad-hoc commands among them, without asking.
from fakeclient import FakeClient

from xmlstream.element import Element
from xmpp import stanza as st

NS_CAPS = "http://jabber.org/protocol/caps"
CAPS_NODE = "https://xmpp-sensor.invalid"  # as the router names the software
NS_MUC = "http://jabber.org/protocol/muc"


def _disco(node, frm="owner@example.org/phone"):
    q = Element("query", st.NS_DISCO_INFO, {"node": node} if node else None)
    return Element("iq", st.NS_CLIENT, {"type": "get", "id": "d1", "from": frm}, [q])


def test_the_verification_string_is_the_specs_worked_example():
    # XEP-0115 §5.2: client/pc//Exodus 0.9.1 with these four features hashes to this.
    c = FakeClient()
    r = c.router
    r.identity, r.name = ("client", "pc"), "Exodus 0.9.1"
    r.features = [st.NS_DISCO_INFO, NS_CAPS, st.NS_DISCO_ITEMS, NS_MUC]  # order: any
    caps = r.caps()
    assert caps.name == "c" and caps.ns == NS_CAPS
    ver = "QgayPKawpkPSDYmwT/WM94uAlu0="
    assert caps.attrs == {"hash": "sha-1", "node": CAPS_NODE, "ver": ver}


def test_disco_info_on_node_hash_answers_as_disco_info_does_with_that_node():
    # XEP-0115 §6.2: a client that meets the hash first asks node#ver.
    c = FakeClient()
    r = c.router
    r.iq("urn:xmpp:iot:sensordata", "req", lambda iq: None, "urn:xmpp:iot:sensordata")
    ver = r.caps().get("ver")
    c.router.dispatch(_disco(None))
    c.router.dispatch(_disco(CAPS_NODE + "#" + ver))
    plain, hashed = c.take()
    assert b"node='%s#%s'" % (CAPS_NODE.encode(), ver.encode()) in hashed, hashed
    assert hashed.replace(b" node='%s#%s'" % (CAPS_NODE.encode(), ver.encode()), b"") == plain
    c.router.dispatch(_disco(CAPS_NODE + "#not-our-hash"))
    assert b"item-not-found" in c.take()[0]


def test_a_feature_added_later_changes_the_hash_and_the_old_node_goes():
    c = FakeClient()
    r = c.router
    old = r.caps().get("ver")
    r.iq("urn:example:more", "q", lambda iq: None, "urn:example:more")
    new = r.caps().get("ver")
    assert new != old
    c.router.dispatch(_disco(CAPS_NODE + "#" + old))
    assert b"item-not-found" in c.take()[0]

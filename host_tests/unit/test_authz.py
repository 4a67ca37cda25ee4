# Who may read the board, tried as a hostile requester or contact, through the real Thing.
import asyncio

from fakeclient import FakeClient

from sensordata.clock import Clock, iso
from sensordata.device import MemoryDevice
from sensordata.wire import NS
from thing.app import Thing
from xmlstream.element import Element
from xmpp import stanza as st
from xmpp.log import Log

HEAPSIZE = "384k"  # the whole application, compiled from source

FRIEND = "friend@example.org/pc"
FIELDS = (("Temperature", "numeric", "°C", "momentary"),)


class _Sink:
    def write(self, s):
        pass


def _thing():
    cfg = {"xmpp": {"jid": "dev@example.org", "password": "x", "tls": "plain"}}
    cfg["allow"] = ["owner@example.org"]
    nodes = [("t1", MemoryDevice(FIELDS, ("21.5",)))]
    t = Thing(cfg, nodes, None, Clock(synced=True), Log("dev", out=_Sink()))
    t.client._online = t.client._routed = True  # noqa: SLF001 - stanzas go to the output buffer, read below
    return t


def _sent(t):
    o = t.client.outbox
    data = bytes(o.w.pending())
    o.sent(len(data))
    return data.replace(b'"', b"'")


def _push(jid, subscription):
    item = Element("item", st.NS_ROSTER, {"jid": jid, "subscription": subscription})
    query = Element("query", st.NS_ROSTER, None, [item])
    return Element("iq", st.NS_CLIENT, {"type": "set", "id": "push"}, [query])


async def test_a_contact_revoked_while_its_readout_is_queued_gets_no_data():
    t = _thing()
    r = t.client.router
    r.dispatch(_push("friend@example.org", "both"))
    # Two whole seconds: still ahead if the clock's second turns before the request is read.
    when = iso(t.clock.now() + 2)
    req = Element("req", NS, {"seqnr": "1", "momentary": "true", "when": when})
    r.dispatch(Element("iq", st.NS_CLIENT, {"type": "get", "id": "q1", "from": FRIEND}, [req]))
    assert b"queued='true'" in _sent(t)
    r.dispatch(_push("friend@example.org", "remove"))  # the owner takes the access back
    assert not t.client.roster.is_authorized(FRIEND)
    await asyncio.sleep_ms(3100)  # past `when`
    out = _sent(t)
    assert b"<fields" not in out and b"<started" not in out, out
    assert t.sensor.table.in_use() == 0


async def test_a_revoked_contact_keeps_nothing_an_allowed_jid_keeps_its_readout():
    t = _thing()
    r = t.client.router
    r.dispatch(_push("owner@example.org", "both"))
    when = iso(t.clock.now() + 2)
    req = Element("req", NS, {"seqnr": "1", "momentary": "true", "when": when})
    frm = "owner@example.org/phone"
    r.dispatch(Element("iq", st.NS_CLIENT, {"type": "get", "id": "q1", "from": frm}, [req]))
    _sent(t)
    r.dispatch(_push("owner@example.org", "none"))  # still in `allow`
    out = b""
    for _ in range(2000):  # until the readout at `when`; a bound against a hang only
        out += _sent(t)
        if b"done='true'" in out:
            break
        await asyncio.sleep_ms(5)
    assert b"done='true'" in out, out


async def _revoked_during_the_read(stanza):
    """What a contact gets for `stanza` when its access is taken back while the read runs."""
    t = _thing()
    t.sensor.node("t1").device.delay_ms = 300
    r = t.client.router
    r.dispatch(_push("friend@example.org", "both"))
    _sent(t)
    r.dispatch(stanza)
    await asyncio.sleep_ms(50)  # the read is under way
    r.dispatch(_push("friend@example.org", "remove"))
    for _ in range(400):  # until the handler ends; a bound against a hang only
        if not r.tasks:
            break
        await asyncio.sleep_ms(5)
    return _sent(t)


async def test_a_contact_revoked_during_a_chat_read_gets_the_refusal_not_the_reading():
    body = Element("body", st.NS_CLIENT, None, None, "read")
    msg = Element("message", st.NS_CLIENT, {"from": FRIEND, "type": "chat"}, [body])
    out = await _revoked_during_the_read(msg)
    assert b"21.5" not in out and b"not allowed" in out, out


async def test_a_contact_revoked_during_the_ad_hoc_read_gets_forbidden_not_the_form():
    cmd = Element("command", "http://jabber.org/protocol/commands", {"node": "read"})
    iq = Element("iq", st.NS_CLIENT, {"type": "set", "id": "c1", "from": FRIEND}, [cmd])
    out = await _revoked_during_the_read(iq)
    assert b"21.5" not in out and b"<forbidden" in out and b"id='c1'" in out, out


def test_an_allow_entry_with_a_resource_is_not_widened_to_every_resource():
    try:
        c = FakeClient(allow=("owner@example.org/phone",))
    except ValueError:
        return  # refused outright: as good as honoured
    assert not c.roster.is_authorized("owner@example.org/laptop")


def test_jid_spellings_of_the_owner_match_and_look_alikes_do_not():
    c = FakeClient()
    for frm in ("OWNER@Example.ORG/x", "owner@example.org./x", "owner@example.org"):
        assert c.roster.is_authorized(frm), frm
    for frm in (
        "example.org",  # the server itself
        "example.org/owner@example.org",  # a domain with a resource that looks like a JID
        "dev@example.org/other",  # the board's own account, another resource
        "owner@example.org/",
        "\uff4fwner@example.org/x",  # a fullwidth letter
        "owner@\uff45xample.org/x",
        "owner@example.org\u3002/x",  # an ideographic full stop
        "owner@sub.example.org/x",
        "owner%example.org@evil.example/x",
        "owner@example.org/" + "r" * 1024,  # a resource over 1023 bytes
        None,
        "",
    ):
        assert not c.roster.is_authorized(frm), frm

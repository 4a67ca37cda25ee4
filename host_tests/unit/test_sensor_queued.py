# Requests queued with `when` (up to a day ahead) hold at most half the session table.
from fakeclient import FakeClient

from sensordata.clock import Clock, iso
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "192k"  # the sensor, the router and the XML layer, compiled from source

OWNER = "owner@example.org/phone"
FRIEND = "friend@example.org/pc"


def _req(frm, seqnr, when=None):
    attrs = {"seqnr": seqnr, "momentary": "true"}
    if when:
        attrs["when"] = when
    req = Element("req", NS, attrs)
    return Element("iq", st.NS_CLIENT, {"type": "get", "id": "q" + seqnr, "from": frm}, [req])


def test_one_contact_cannot_lock_everyone_out_for_a_day_with_queued_requests():
    c = FakeClient()
    s = Sensor(c, Clock(synced=True), sessions=4)
    s.register_node("t1", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    c.roster.contacts.add("friend@example.org")
    when = iso(s.clock.now() + 86000)  # just under the one-day limit
    for k in range(len(s.table.slots)):
        c.router.dispatch(_req(FRIEND, str(k + 1), when))
    c.take()
    c.router.dispatch(_req(OWNER, "1"))
    (out,) = c.take()
    assert b"<accepted" in out, out


def test_queued_requests_over_half_the_table_get_resource_constraint_and_reads_still_go():
    c = FakeClient()
    s = Sensor(c, Clock(synced=True), sessions=4)
    s.register_node("t1", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    c.roster.contacts.add("friend@example.org")
    when = iso(s.clock.now() + 3600)
    outs = []
    for k in range(3):
        c.router.dispatch(_req(FRIEND, str(k + 1), when))
        outs += c.take()
    assert [b"queued='true'" in o.replace(b'"', b"'") for o in outs] == [True, True, False]
    assert b"resource-constraint" in outs[2] and b"Too many queued requests" in outs[2]
    c.router.dispatch(_req(FRIEND, "9"))  # a readout now still finds a slot
    (out,) = c.take()
    assert b"<accepted" in out and b"queued" not in out, out
    assert s.table.in_use() == 3

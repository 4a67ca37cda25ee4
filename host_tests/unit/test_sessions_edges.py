from fakeclient import FakeClient

from sensordata.clock import Clock, iso
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from sensordata.sessions import SessionTable
from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "192k"  # the sensor, the router and the XML layer, compiled from source

OWNER = "owner@example.org/phone"


def _queued_sensor():
    # Requests whose `when` lies ahead hold their slot without reading anything.
    c = FakeClient(allow=("owner@example.org",))
    s = Sensor(c, Clock(synced=True), sessions=4)
    s.register_node("n", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1",)))
    return c, s


def _queued_req(s, seqnr, frm=OWNER):
    a = {"seqnr": seqnr, "momentary": "true", "when": iso(s.clock.now() + 60)}
    return Element(
        "iq", st.NS_CLIENT, {"type": "get", "id": seqnr, "from": frm}, [Element("req", NS, a)]
    )


def _unavailable(frm):
    return Element("presence", st.NS_CLIENT, {"type": "unavailable", "from": frm})


def test_a_full_table_refuses_the_claim_and_counts_the_refusal():
    t = SessionTable(1)
    assert t.claim("a@x/r", "1") is not None
    assert t.claim("b@x/r", "1") is None
    assert t.rejected_full == 1 and t.in_use() == 1


def test_a_freed_slot_keeps_nothing_of_its_session():
    t = SessionTable(1)
    s = t.claim("a@x/r", "7")
    s.request, s.state, s.deadline = object(), "reading", 1234
    s.callback = lambda *a: None
    t.free(s)
    assert (s.jid, s.seqnr, s.request, s.task, s.state, s.callback) == (None,) * 6
    assert s.deadline == 0


def test_a_stanza_without_from_does_not_match_a_freed_slot_by_its_old_seqnr():
    t = SessionTable(2)
    t.free(t.claim("a@x/r", "7"))
    assert t.find(None, "7") is None
    assert t.claim("b@x/r", "8") is t.slots[0]  # the freed slot is the one reused


def test_free_all_frees_every_claimed_slot_whatever_its_state():
    t = SessionTable(2)
    t.claim("a@x/r", "1").state = "reading"
    q = t.claim("b@x/r", "2")
    q.state, q.deadline = "queued", 12345
    assert t.claim("c@x/r", "3") is None  # full
    t.free_all()
    assert t.in_use() == 0 and all(s.jid is None and s.seqnr is None for s in t.slots)
    assert t.claim("c@x/r", "3") is not None


def test_a_bare_jid_owns_the_sessions_of_every_resource_of_that_account():
    t = SessionTable(4)
    t.claim("a@x/phone", "1")
    t.claim("a@x/laptop", "1")
    t.claim("b@x/phone", "1")
    assert sorted(s.jid for s in t.owned_by("a@x")) == ["a@x/laptop", "a@x/phone"]


def test_owned_by_does_not_match_a_jid_that_only_starts_the_same():
    t = SessionTable(3)
    t.claim("a@x/phone", "1")
    t.claim("a@x.evil/r", "1")
    assert [s.jid for s in t.owned_by("a@x/pho")] == []
    assert [s.jid for s in t.owned_by("a@x")] == ["a@x/phone"]


def test_unavailable_from_the_bare_jid_ends_the_sessions_of_every_resource():
    c, s = _queued_sensor()
    c.router.dispatch(_queued_req(s, "1"))
    c.router.dispatch(_queued_req(s, "2", frm="owner@example.org/laptop"))
    assert s.table.in_use() == 2
    c.router.dispatch(_unavailable("owner@example.org"))
    assert s.table.in_use() == 0


def test_unavailable_from_a_resource_that_only_starts_the_same_ends_nothing():
    c, s = _queued_sensor()
    c.router.dispatch(_queued_req(s, "1"))
    c.router.dispatch(_unavailable("owner@example.org/pho"))
    assert s.table.in_use() == 1


def test_a_retired_session_stays_ended_and_its_slot_serves_the_next_request():
    t = SessionTable(1)
    s = t.claim("a@example.org/x", "1")
    t.retire(s)
    assert t.in_use() == 0 and s.state == "ended" and s.seqnr == "1"
    n = t.claim("a@example.org/x", "2")
    assert n is not s and n.index == s.index
    t.retire(s)  # a second retire of the old handle leaves the new session alone
    assert t.slots[0] is n and t.in_use() == 1


def test_a_retire_without_room_for_a_new_session_frees_the_slot_in_place():
    from sensordata import sessions

    t = SessionTable(1)
    s = t.claim("a@example.org/x", "1")
    real = sessions.Session

    def no_room(index):
        raise MemoryError

    sessions.Session = no_room
    try:
        t.retire(s)
    finally:
        sessions.Session = real
    assert t.in_use() == 0 and t.slots[0] is s and s.state == "ended" and s.seqnr == "1"
    assert t.find("a@example.org/x", "1") is None  # what ended is found no more

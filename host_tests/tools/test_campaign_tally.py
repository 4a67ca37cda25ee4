"""How tools/soak.py and tools/fleet.py count: every request in exactly one outcome, a
second final answer seen even though slixmpp's callback ignores it, and verdicts that do not
pass a campaign of failures, rejections or excused losses."""

import xml.etree.ElementTree as ET

from fleet import fleet_problems
from sdrequester import final_seqnrs
from soak import Request, _orphan, _tally, flood_problems

NS = "urn:xmpp:iot:sensordata"


class FakeRequester:
    """What soak.Request reads from an SDRequester."""

    def __init__(self):
        self.results = {}
        self.times = {}
        self.finals_seen = {}

    def answer(self, seqnr, *results):
        self.results[seqnr] = [(r, {}) for r in results]
        finals = [r for r in results if r in ("done", "failure", "rejected", "cancelled")]
        self.finals_seen[seqnr] = len(finals)


def make(requester, seqnr, in_fault=False):
    r = Request(requester, seqnr, 0.0)
    r.in_fault = in_fault
    requester.results.setdefault(seqnr, [])
    return r


def test_a_message_with_two_final_answers_names_both_seqnrs():
    xml = ET.fromstring(
        "<message xmlns='jabber:client'><fields xmlns='%s' seqnr='7' done='true'/>"
        "<failure xmlns='%s' seqnr='7' done='true'/></message>" % (NS, NS)
    )
    assert final_seqnrs(xml) == ["7", "7"]


def test_fields_without_done_and_accepted_are_not_final():
    fields = ET.fromstring(
        "<message xmlns='jabber:client'><fields xmlns='%s' seqnr='3'/></message>" % NS
    )
    accepted = ET.fromstring(
        "<iq xmlns='jabber:client' type='result' id='3'><accepted xmlns='%s' seqnr='3'/></iq>" % NS
    )
    assert final_seqnrs(fields) == [] and final_seqnrs(accepted) == []


def test_rejected_and_cancelled_iqs_are_final():
    rejected = ET.fromstring(
        "<iq xmlns='jabber:client' type='error' id='4'><rejected xmlns='%s' seqnr='4'/></iq>" % NS
    )
    cancelled = ET.fromstring(
        "<iq xmlns='jabber:client' type='result' id='5'><cancelled xmlns='%s' seqnr='5'/></iq>"
        % NS
    )
    assert final_seqnrs(rejected) == ["4"] and final_seqnrs(cancelled) == ["5"]


def test_a_second_final_answer_that_the_callback_never_saw_is_counted_twice():
    req = FakeRequester()
    r = make(req, "1")
    req.answer("1", "accepted", "done")
    req.finals_seen["1"] = 2  # slixmpp dropped the second `done` with a KeyError
    assert _tally([r])["twice"] == ["1"]


def test_a_request_lost_before_a_fault_is_not_excused_by_the_reconnection_after_it():
    req = FakeRequester()
    steady = make(req, "1")  # timed out in its own round, before the fault began
    hit = make(req, "2", in_fault=True)
    _orphan([steady, hit], req)  # the fault took the requester's link
    assert steady.orphaned is None and hit.orphaned is not None
    t = _tally([steady, hit])
    assert t["lost"] == 1 and t["timeout_in_fault"] == 1


def test_every_request_is_in_exactly_one_outcome_and_timeouts_are_counted():
    req = FakeRequester()
    reqs = [make(req, str(i), in_fault=i >= 4) for i in range(6)]
    req.answer("0", "accepted", "done")
    req.answer("1", "accepted", "failure")
    req.answer("2", "rejected")
    req.answer("4", "accepted", "fields", "done")
    t = _tally(reqs)
    assert (t["done"], t["failure"], t["rejected"]) == (2, 1, 1)
    assert (t["lost"], t["timeout_in_fault"], t["timeout"]) == (1, 1, 2)
    outcomes = ("done", "failure", "rejected", "cancelled", "timeout")
    assert sum(t[k] for k in outcomes) == len(reqs)


def flood_figures(**changes):
    f = {
        "twice": [],
        "lost": 0,
        "timeout_in_fault": 0,
        "requests": 1000,
        "done": 400,
        "failure": 0,
        "rejected": 600,
        "failure_errors": {},
        "bursts": 10,
        "rejection_conditions": {"resource-constraint": 600},
        "table_full_logged": 600,
        "sessions_before": "0 of 4 in use",
        "sessions": "0 of 4 in use",
        "heap_free_before": 100_000,
        "heap_free_after": 100_000,
    }
    f.update(changes)
    return f


def test_a_sound_flood_passes():
    assert flood_problems(flood_figures()) == []


def test_a_flood_answered_with_failures_fails():
    problems = flood_problems(flood_figures(done=0, failure=400))
    assert len(problems) == 2


def test_a_flood_in_which_no_burst_filled_the_table_fails():
    f = flood_figures(done=20, rejected=980, table_full_logged=980)
    f["rejection_conditions"] = {"resource-constraint": 980}
    assert len(flood_problems(f)) == 1


def fleet_figures(**changes):
    f = {"asked": 300, "answered": 300, "lost": 0, "failed": 0, "rejected": 0}
    f.update(twice=0, wrong_board=0, alive=True)
    f.update(changes)
    return f


def test_a_fleet_answering_every_request_passes():
    assert fleet_problems(fleet_figures()) == []


def test_a_fleet_with_rejected_readouts_is_not_served_with_zero_lost_answers():
    problems = fleet_problems(fleet_figures(answered=290, rejected=10))
    assert len(problems) == 1 and "10 rejected" in problems[0]


def test_a_fleet_whose_boards_answer_twice_fails():
    assert len(fleet_problems(fleet_figures(twice=3))) == 1

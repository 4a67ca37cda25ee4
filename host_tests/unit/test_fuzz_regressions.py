# Every violation `make fuzz` found, cut down to its few bytes (tools/fuzz.py --shrink).
# The XML layer must give the same events and the same error for any chunking of its input,
# so each case is fed whole, byte by byte and at the split point that once broke it.
import asyncio

from fakeclient import FakeClient
from xmltest_support import HEADER, Events, Sink, stream

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from sensordata.wire import NS
from xmlstream.element import Element, tostring
from xmlstream.stream import XMLStream
from xmlstream.tokenizer import Tokenizer, XMLError
from xmpp import stanza as st

HEAPSIZE = "384k"  # the XML layer, the sensor and the JID checks, compiled from source


def _run(chunks, **kw):
    """(events, error condition or None) for the chunks fed in order."""
    h = Events()
    t = Tokenizer(h, **kw)
    for c in chunks:
        try:
            t.feed(c)
        except XMLError as e:
            return h.events, e.condition
    return h.events, None


def _bytewise(data):
    return [data[k : k + 1] for k in range(len(data))]


def _same_in_every_chunking(data, splits=(), **kw):
    """The error condition, after checking that every chunking agrees on it and on the
    events reported before it (up to the shorter list: a chunk's end decides how much of
    a failing stream is reported before the error)."""
    whole, cond = _run([data], **kw)
    ways = [_bytewise(data)] + [[data[:k], data[k:]] for k in splits]
    for chunks in ways:
        ev, got = _run(chunks, **kw)
        assert got == cond, (got, cond, [len(c) for c in chunks][:4])
        n = min(len(ev), len(whole))
        assert ev[:n] == whole[:n]
        if cond is None:
            assert ev == whole
    return cond


# -- chunking: events -------------------------------------------------------------------


def test_text_before_a_tag_split_after_its_lt_is_reported_once_when_a_value_holds_gt():
    # Fuzz seed 1: the chunk after '<' held a '>' inside a value; the text came out twice.
    data = stream(b"<m><b>hi <x a='>' c='1'/></b></m>")
    k = data.index(b"hi <") + 4
    assert _same_in_every_chunking(data, (k,)) is None
    sink = Sink()
    xs = XMLStream(sink)
    xs.feed(data[:k])
    xs.feed(data[k:])
    assert sink.stanzas[0].find("b").text == "hi "


def test_text_followed_by_an_unfinished_tag_gives_the_same_events_in_any_chunking():
    # Fuzz seed 1 case 556: whole reported the text, byte by byte did not.
    data = stream(b"<p p=''> <x")
    assert _same_in_every_chunking(data, (len(data) - 1, len(data) - 2)) is None


def test_unfinished_tag_with_gt_in_a_value_is_judged_only_up_to_that_gt():
    # Fuzz seed 1 cases 23761 and 61845 (make fuzz, 100 000 cases): whole input judged the
    # bytes after the '>' in the value; a chunking that ended at that '>' had not seen them.
    for tail in (b"<m d='>'i", b"<m id='' id='>'"):
        data = stream(tail)
        assert _same_in_every_chunking(data, (len(data) - 1, len(data) - 2)) is None
        assert _same_in_every_chunking(data + b">") == "not-well-formed"


# -- chunking: the size limit comes before what lies beyond it ------------------------------


def test_stream_header_longer_than_the_limit_is_a_policy_violation_however_it_arrives():
    # Fuzz seed 1 case 1716: accepted whole, policy-violation when it came in pieces.
    data = HEADER[:-1] + b" id='" + b"v" * 600 + b"'>"
    assert _same_in_every_chunking(data, (300,), max_stanza=512) == "policy-violation"


def test_broken_header_longer_than_the_limit_is_a_policy_violation_however_it_arrives():
    # Fuzz seed 1 case 294: not-well-formed whole, policy-violation in pieces.
    data = b"<stream:stream id='" + b"v" * 600 + b"' \xc1>"
    assert _same_in_every_chunking(data, (520,), max_stanza=512) == "policy-violation"


def test_mismatched_end_tag_past_the_limit_is_reported_as_the_limit():
    data = stream(b"<m>" + b"t" * 600 + b"</x>")
    assert _same_in_every_chunking(data, (300,), max_stanza=512) == "policy-violation"


def test_processing_instruction_past_the_limit_is_reported_as_the_limit():
    data = stream(b"<m>" + b"t" * 100 + b"<?pi " + b"p" * 600 + b"?></m>")
    assert _same_in_every_chunking(data, (400,), max_stanza=512) == "policy-violation"


def test_prolog_pi_longer_than_the_limit_is_a_policy_violation_however_it_arrives():
    data = b"<?pi " + b"c" * 600 + b"?>" + HEADER
    assert _same_in_every_chunking(data, (100,), max_stanza=512) == "policy-violation"


def test_errors_before_the_limit_are_still_reported_as_themselves():
    data = stream(b"<m>" + b"t" * 100 + b"</x>" + b"u" * 600)
    assert _same_in_every_chunking(data, (400,), max_stanza=512) == "not-well-formed"


def test_stanza_ending_in_text_over_the_limit_fails_in_every_chunking():
    head = stream(b"<message to='" + b"j" * 300 + b"'><body>")
    data = head + b"y" * 300
    cut = len(head) + 150
    assert _same_in_every_chunking(data, (cut,), max_stanza=512) == "policy-violation"
    _, cond = _run([head, data[len(head) : cut], data[cut:]], max_stanza=512)
    assert cond == "policy-violation"


def test_text_whose_next_tag_starts_at_the_limit_is_judged_by_the_limit_not_its_bytes():
    # The '<' is the last byte within the limit: the run of text ends past it, so its
    # invalid UTF-8 is not judged, fed whole or in pieces.
    head = stream(b"<m>" + b"t" * 200 + b"\xff")
    data = head + b"<b/></m>"
    size = len(data) - len(HEADER)
    limit = size - len(b"b/></m>")
    assert _same_in_every_chunking(data, (len(head),), max_stanza=limit) == "policy-violation"
    assert _same_in_every_chunking(data, max_stanza=size) == "not-well-formed"


def test_unfinished_tag_inside_a_stanza_over_the_limit_fails_in_every_chunking():
    head = stream(b"<message><body>" + b"t" * 300 + b"<x a='")
    data = head + b"v" * 300
    chunks = [head] + [b"v" * 100] * 3
    assert _run(chunks, max_stanza=512)[1] == "policy-violation"
    assert _same_in_every_chunking(data, (len(head),), max_stanza=512) == "policy-violation"


# -- chunking: invalid UTF-8 comes after what precedes it -----------------------------------


def test_invalid_utf8_after_an_earlier_error_in_the_same_chunk_reports_the_earlier_one():
    # Fuzz seed 1 case 593: not-well-formed whole (the UTF-8 check ran first), the
    # declaration's unsupported-encoding when fed in pieces.
    data = b"<?xml version='1.0' encoding=''?>\xf0:"
    assert _same_in_every_chunking(data, (10,)) == "unsupported-encoding"
    assert _same_in_every_chunking(stream(b"<!DOCTYPE x>\xf5")) == "restricted-xml"
    assert _same_in_every_chunking(stream(b"<a><?pi?>\xc0\x80</a>")) == "restricted-xml"


def test_invalid_utf8_is_reported_after_the_stanzas_that_precede_it():
    data = stream(b"<m>ok</m><n>\xed\xa0\x80</n>")
    assert _same_in_every_chunking(data, (len(HEADER) + 4,)) == "not-well-formed"
    events, _ = _run([data])
    assert ("text", "ok") in events and ("end", "m") in events


# -- XEP-0323: every iq gets an answer small enough to send --------------------------------


def _sensor():
    c = FakeClient()
    s = Sensor(c, Clock(synced=True))
    s.register_node("sht4x-44", MemoryDevice((("T", "numeric", "C", "momentary"),), ("1.0",)))
    return c, s


def _req(attrs, children=()):
    iq = {"type": "get", "id": "i1", "from": "owner@example.org/phone"}
    return Element("iq", st.NS_CLIENT, iq, [Element("req", NS, attrs, list(children))])


async def test_rejection_quoting_a_huge_seqnr_is_not_much_bigger_than_the_request():
    # Fuzz seed 1 case 383: the seqnr was quoted three times, the answer did not fit the
    # output buffer, and the requester got no answer at all.
    c, s = _sensor()
    req = _req({"seqnr": "x" * 3000})
    c.router.dispatch(req)
    (out,) = c.take()
    assert b"bad-request" in out and b"<rejected" in out
    assert len(out) < len(tostring(req)) + 600


async def test_rejection_quoting_a_huge_node_id_is_not_much_bigger_than_the_request():
    c, s = _sensor()
    req = _req({"seqnr": "1"}, [Element("node", NS, {"nodeId": "n" * 3000})])
    c.router.dispatch(req)
    (out,) = c.take()
    assert b"item-not-found" in out and b"Unknown node: nnn" in out
    assert len(out) < 1000
    await asyncio.sleep_ms(0)
    assert s.table.in_use() == 0

# Element serialization: escaping, namespaces, round trips, and the bounded writer.
from xmltest_support import HEADER, Sink, corpus, stream

from xmlstream.element import Element, escape_attr, escape_text, tostring
from xmlstream.stream import XMLStream
from xmlstream.writer import Writer, WriterFull


def _stanzas(data):
    sink = Sink()
    XMLStream(sink).feed(data)
    return sink.stanzas


def test_escape_text_escapes_amp_lt_gt():
    assert escape_text("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_escape_attr_escapes_quotes_too():
    assert escape_attr("'\"&<>") == "&apos;&quot;&amp;&lt;&gt;"


def test_escape_attr_keeps_whitespace_characters():
    assert escape_attr("a\nb\tc\r") == "a&#10;b&#9;c&#13;"


def test_built_stanza_serializes_without_redundant_xmlns():
    msg = Element("message", attrs={"to": "a@b"})
    msg.children.append(Element("body", text="x < y & z"))
    msg.children.append(Element("active", "http://jabber.org/protocol/chatstates"))
    assert tostring(msg) == (
        b"<message to='a@b'><body>x &lt; y &amp; z</body>"
        b"<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
    )


def test_namespace_is_written_where_it_differs_from_parent():
    el = Element("query", "jabber:iq:roster", children=[Element("item", "jabber:iq:roster")])
    assert tostring(el) == b"<query xmlns='jabber:iq:roster'><item/></query>"
    assert tostring(el, "jabber:iq:roster") == b"<query><item/></query>"


def test_non_ascii_is_written_as_utf8():
    assert tostring(Element("body", text="°C ☺")) == "<body>°C ☺</body>".encode()


def test_clark_attribute_gets_a_declared_prefix():
    out = tostring(Element("x", attrs={"{urn:a}t": "1"}))
    assert out == b"<x xmlns:ns0='urn:a' ns0:t='1'/>"


def test_write_calls_the_writer_with_pieces():
    class Pieces:
        def __init__(self):
            self.got = []

        def write(self, p):
            self.got.append(p)

    w = Pieces()
    Element("a", children=[Element("b")]).write(w)
    assert b"".join(w.got) == b"<a><b/></a>"
    assert len(w.got) == 3  # the start tag, the child, the end tag: streamed, not one string


class _RoundTrip(Sink):
    """Writes and parses back each stanza as it arrives, so one stanza is held at a time."""

    def stanza(self, el):
        assert _stanzas(HEADER + tostring(el)) == [el], el
        self.stanzas.append(el.name)


def _round_trip(name):
    sink = _RoundTrip()
    XMLStream(sink).feed(corpus(name))
    assert sink.stanzas, name


def test_round_trip_of_xep0323_device_traffic():
    _round_trip("xep0323_device.xml")


def test_round_trip_of_xep0323_requester_traffic():
    _round_trip("xep0323_requester.xml")


def test_round_trip_of_prosody_session():
    _round_trip("prosody_bob_2.xml")


def test_round_trip_of_ejabberd_style_stream():
    _round_trip("ejabberd_style.xml")


def test_round_trip_of_hostile_text_and_attributes():
    el = Element("message", attrs={"a": "'\"<>&\t\n\r x"}, text="]]> <&> \r\n ☺")
    assert _stanzas(stream(tostring(el)))[0] == Element(
        "message", "jabber:client", {"a": "'\"<>&\t\n\r x"}, text="]]> <&> \r\n ☺"
    )


def test_writer_collects_stanzas_in_its_buffer():
    w = Writer(64)
    w.element(Element("presence"))
    w.write(b" ")
    assert bytes(w.pending()) == b"<presence/> "
    w.consume(3)
    assert bytes(w.pending()) == b"esence/> "


def test_writer_refuses_a_stanza_that_does_not_fit_and_keeps_what_it_had():
    w = Writer(32)
    w.element(Element("presence"))
    try:
        w.element(Element("message", children=[Element("body", text="x" * 40)]))
    except WriterFull:
        pass
    else:
        raise AssertionError("no WriterFull")
    assert bytes(w.pending()) == b"<presence/>"
    assert w.free() == 32 - len(b"<presence/>")

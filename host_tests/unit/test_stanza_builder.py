# StanzaBuilder / XMLStream: namespaces resolved, one Element per stanza, sink calls.
from xmltest_support import HEADER, Sink, corpus, stream

from xmlstream.builder import STREAMS_NS
from xmlstream.stream import XMLStream
from xmlstream.tokenizer import XMLError

HEAPSIZE = "160k"  # the XML layer compiled from source, with margin for the heap's layout


def _parse(data, **kw):
    sink = Sink()
    XMLStream(sink, **kw).feed(data)
    return sink


def _condition(data):
    try:
        _parse(data)
    except XMLError as e:
        return e.condition
    return None


def test_header_attributes_go_to_stream_start_without_namespace_declarations():
    sink = _parse(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='"
        + STREAMS_NS.encode()
        + b"' id='abc' from='example.org' version='1.0' xml:lang='en'>"
    )
    assert sink.header == {"id": "abc", "from": "example.org", "version": "1.0", "xml:lang": "en"}


def test_each_depth_one_element_is_one_stanza():
    sink = _parse(stream(b"<message to='a@b'><body>hi</body></message> <presence/><iq/>"))
    assert [el.name for el in sink.stanzas] == ["message", "presence", "iq"]
    msg = sink.stanzas[0]
    assert msg.ns == "jabber:client"
    assert msg.get("to") == "a@b"
    assert msg.find("body").text == "hi"
    assert msg.find("body").ns == "jabber:client"
    assert msg.find("nope") is None


def test_default_namespace_is_inherited_and_scoped():
    sink = _parse(stream(b"<iq><query xmlns='jabber:iq:roster'><item jid='x'/></query><x/></iq>"))
    iq = sink.stanzas[0]
    assert iq.find("query").ns == "jabber:iq:roster"
    assert iq.find("query").find("item").ns == "jabber:iq:roster"
    assert iq.find("x").ns == "jabber:client"
    assert "xmlns" not in iq.find("query").attrs


def test_prefixed_elements_resolve_through_declarations():
    sink = _parse(corpus("ejabberd_style.xml"))
    features = sink.stanzas[0]
    assert (features.name, features.ns) == ("features", STREAMS_NS)
    data = sink.stanzas[1].find("data", "jabber:x:data")
    assert data is not None
    assert data.get("{jabber:x:data}type") == "result"
    assert data.find("field").find("value").text == "1"


def test_stream_features_keep_children_in_their_namespaces():
    sink = _parse(corpus("prosody_bob_1.xml"))
    mech = sink.stanzas[0].find("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl")
    assert [m.text for m in mech.children] == ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
    assert sink.stanzas[1].name == "success"


def test_stream_error_goes_to_stream_error():
    sink = _parse(corpus("ejabberd_style.xml"))
    assert len(sink.errors) == 1
    assert sink.errors[0].find("conflict").ns == "urn:ietf:params:xml:ns:xmpp-streams"
    assert sink.ended


def test_xml_lang_is_kept_under_its_qualified_name():
    sink = _parse(stream(b"<message xml:lang='de'/>"))
    assert sink.stanzas[0].attrs == {"xml:lang": "de"}


def test_xep0323_fields_message_is_built():
    sink = _parse(corpus("xep0323_device.xml"))
    fields = sink.stanzas[2].find("fields", "urn:xmpp:iot:sensordata")
    ts = fields.find("node").find("timestamp")
    assert ts.children[0].attrs["unit"] == "°C"
    assert ts.children[0].get("value") == "21.53"
    assert len(ts.children) == 8
    err = sink.stanzas[3].find("failure").find("error")
    assert err.text == "No answer from sensor <NACK> at 0x44 & retry"


def test_wrong_root_name_is_invalid_namespace():
    assert _condition(b"<stream xmlns='jabber:client'>") == "invalid-namespace"


def test_wrong_stream_namespace_is_invalid_namespace():
    assert _condition(b"<stream:stream xmlns='jabber:client' xmlns:stream='urn:x'>") == (
        "invalid-namespace"
    )


def test_wrong_content_namespace_is_invalid_namespace():
    data = HEADER.replace(b"jabber:client", b"jabber:server")
    assert _condition(data) == "invalid-namespace"


def test_missing_content_namespace_is_invalid_namespace():
    data = HEADER.replace(b"xmlns='jabber:client'", b"")
    assert _condition(data) == "invalid-namespace"


def test_unbound_root_prefix_is_bad_namespace_prefix():
    assert _condition(b"<stream:stream xmlns='jabber:client'>") == "bad-namespace-prefix"


def test_unbound_prefix_in_stanza_is_bad_namespace_prefix():
    assert _condition(stream(b"<iq><x:query/></iq>")) == "bad-namespace-prefix"


def test_unbound_attribute_prefix_is_bad_namespace_prefix():
    assert _condition(stream(b"<iq x:y='1'/>")) == "bad-namespace-prefix"


def test_prefix_declarations_end_with_their_element():
    assert _condition(stream(b"<iq><a xmlns:p='urn:p'/><p:b/></iq>")) == "bad-namespace-prefix"


def test_reset_gives_a_clean_parser_for_the_restarted_stream():
    sink = Sink()
    xs = XMLStream(sink)
    xs.feed(corpus("prosody_alice_1.xml"))
    assert sink.stanzas[-1].name == "success"
    xs.reset()
    xs.feed(corpus("prosody_alice_2.xml"))
    assert sink.stanzas[-1].name == "iq"
    assert sink.ended


def test_reset_after_error_gives_a_clean_parser():
    sink = Sink()
    xs = XMLStream(sink)
    try:
        xs.feed(stream(b"<a><b></a>"))
    except XMLError:
        pass
    xs.reset()
    xs.feed(stream(b"<presence/>"))
    assert sink.stanzas[-1].name == "presence"


def test_mixed_content_keeps_the_runs_of_text_in_order():
    el = _parse(HEADER + b"<message><body>a<b/>b<i>x</i>c&amp;<b/></body></message>").stanzas[0]
    assert el.find("body").text == "abc&"
    assert el.find("body").find("i").text == "x"


def _allocated_parsing(body):
    import micropython

    xs = XMLStream(Sink())
    xs.feed(HEADER)
    before = micropython.mem_total()
    xs.feed(b"<message><body>" + body + b"</body></message>")
    return micropython.mem_total() - before


def test_mixed_content_costs_about_what_its_elements_do():
    # Each run of text was joined to the text so far: these 3.4 KB allocated 210 KB on x64,
    # 4.5 times the same elements next to one run of the same text (the 128 KB test heap
    # ran out first).
    run = b"x" * 30
    mixed = _allocated_parsing((run + b"<b/>") * 100)
    one_run = _allocated_parsing(b"<b/>" * 100 + run * 100)
    assert mixed < 2 * one_run, (mixed, one_run)


def test_a_stanza_may_weigh_an_eighth_of_max_stanza_and_no_more():
    # max_stanza 160: weight 20, where an element weighs 2 and an attribute 1.
    light = b"<iq>" + b"<a/>" * 9 + b"</iq>"
    assert len(_parse(stream(light), max_stanza=160).stanzas) == 1
    try:
        _parse(stream(b"<iq x='1'>" + b"<a/>" * 9 + b"</iq>"), max_stanza=160)
    except XMLError as e:
        assert e.condition == "policy-violation", e
    else:
        raise AssertionError("a stanza of weight 21 was accepted")


def test_attributes_whose_prefixes_name_the_same_namespace_are_duplicates():
    # Namespaces in XML 1.0 §6.3: a:x and b:x are one attribute when a and b bind one URI.
    data = stream(b"<m xmlns:a='urn:u' xmlns:b='urn:u' a:x='1' b:x='2'/>")
    assert _condition(data) == "not-well-formed"
    el = _parse(stream(b"<m xmlns:a='urn:u' xmlns:b='urn:v' a:x='1' b:x='2'/>")).stanzas[0]
    assert el.attrs == {"{urn:u}x": "1", "{urn:v}x": "2"}

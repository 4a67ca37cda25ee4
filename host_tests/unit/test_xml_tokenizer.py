# The tokenizer's events: what XMPP servers really send, split at every possible point.
from xmltest_support import (
    HEADER,
    Events,
    Null,
    corpus,
    corpus_names,
    error_of,
    events,
    stream,
)

from xmlstream.tokenizer import Tokenizer, XMLError

HEAPSIZE = "160k"  # the XML layer compiled from source, with margin for the heap's layout


def test_memoryview_and_bytearray_chunks_are_accepted():
    data = corpus("xep0323_device.xml")
    mv = memoryview(data)
    chunks = [mv[:100], bytearray(data[100:700]), mv[700:]]
    assert events(data, chunks) == events(data)


def test_prosody_stream_has_expected_stanzas():
    ev = events(corpus("prosody_alice_2.xml"))
    starts = [e[1] for e in ev if e[0] == "start"]
    assert starts[0] == "stream:stream"
    assert "stream:features" in starts
    assert starts.count("message") >= 1
    assert ev[-1] == ("end", "stream:stream")


def test_never_closed_root_reports_stanzas_as_they_complete():
    h = Events()
    t = Tokenizer(h)
    t.feed(stream(b"<presence/>"))
    assert h.events[-1] == ("end", "presence")


def test_xml_declaration_is_accepted_and_not_reported():
    ev = events(b"<?xml version='1.0' encoding='UTF-8'?>" + HEADER)
    assert ev[0][0] == "start" and ev[0][1] == "stream:stream"


def test_stream_without_xml_declaration_is_accepted():
    assert events(HEADER)[0][1] == "stream:stream"


def test_both_quote_styles_and_whitespace_around_equals():
    ev = events(stream(b'<a x = "1" y\t=\n\'2\' z=\'say "hi"\' w="it\'s"/>'))
    assert ev[1] == (
        "start",
        "a",
        [("w", "it's"), ("x", "1"), ("y", "2"), ("z", 'say "hi"')],
        False,
    )


def test_a_double_quoted_value_between_single_quoted_ones_is_no_duplicate():
    # XML 1.0 §3.1: each value picks its own quotes. Split at "'", the middle attribute is not
    # a segment the fast path reads; the tag is still well-formed.
    ev = events(stream(b"<a x='1' y=\"2\" z='3'/><b x='1' y=\"'\" z='3' w='4'></b>"))
    assert ev[1] == ("start", "a", [("x", "1"), ("y", "2"), ("z", "3")], False)
    assert ev[3] == ("start", "b", [("w", "4"), ("x", "1"), ("y", "'"), ("z", "3")], False)


def test_greater_than_inside_attribute_value_is_data():
    ev = events(stream(b"<a x='1>2' y=\"a/>b\"/>"))
    assert ev[1] == ("start", "a", [("x", "1>2"), ("y", "a/>b")], False)
    assert ev[2] == ("end", "a")


def test_prefixes_and_namespace_attributes_are_flagged():
    ev = events(stream(b"<m xml:lang='en'/><n xmlns='urn:x'/><p:q xmlns:p='urn:p'/>"))
    assert ev[1] == ("start", "m", [("xml:lang", "en")], False)
    assert ev[3] == ("start", "n", [("xmlns", "urn:x")], True)
    assert ev[5][1] == "p:q" and ev[5][3] is True


def test_five_predefined_entities_are_decoded():
    ev = events(stream(b"<a v='&lt;&gt;&amp;&quot;&apos;'>&lt;&gt;&amp;&quot;&apos;</a>"))
    assert ev[1][2] == [("v", "<>&\"'")]
    assert ev[2] == ("text", "<>&\"'")


def test_an_escaped_reference_stays_a_reference_and_a_stray_ampersand_is_refused():
    # &amp; is read last: '&amp;lt;' is the text '&lt;', whatever else the run holds.
    ev = events(stream(b"<a v='&amp;lt;&lt;&amp;amp;'>&amp;gt;&quot;&amp;&amp;#60;</a>"))
    assert ev[1][2] == [("v", "&lt;<&amp;")]
    assert ev[2] == ("text", '&gt;"&&#60;')
    for bad in (b"&&lt;", b"&lt;&", b"&amp&lt;", b"&lt;amp;&"):
        assert error_of(stream(b"<a>" + bad + b"</a>")) == "not-well-formed", bad


def test_character_references_become_utf8():
    ev = events(stream(b"<a>&#65;&#x42;&#xe9;&#x263A;&#128512;&#10;</a>"))
    assert ev[2] == ("text", "AB\u00e9\u263a\U0001f600\n")


def test_utf8_sequence_split_across_chunks_is_decoded():
    data = stream("<a t='é'>→😀</a>".encode())
    for k in range(len(HEADER), len(data)):
        assert events(data, [data[:k], data[k:]]) == events(data)
    assert events(data)[2] == ("text", "→😀")


def test_empty_element_tag_gives_start_and_end():
    ev = events(stream(b"<a/><b />"))
    assert ev[1:] == [
        ("start", "a", [], False),
        ("end", "a"),
        ("start", "b", [], False),
        ("end", "b"),
    ]


def test_cdata_is_merged_with_surrounding_text():
    ev = events(stream(b"<a>x<![CDATA[<y> & ]]]]>z</a>"))
    assert ev[2] == ("text", "x<y> & ]]z")


def test_whitespace_keepalives_between_stanzas_are_dropped():
    ev = events(stream(b" \n\t <a/>\r\n  <b/>   "))
    assert [e[0] for e in ev] == ["start", "start", "end", "start", "end"]


def test_text_is_reported_once_per_run():
    data = stream(b"<a>one two three</a>")
    chunks = [data[:-9], data[-9:-7], data[-7:]]
    assert events(data, chunks)[2] == ("text", "one two three")


def test_xml_declaration_and_whitespace_in_prolog_are_skipped():
    ev = events(b"<?xml version='1.0'?>\n \n" + HEADER)
    assert ev[0][1] == "stream:stream"


def test_end_of_root_is_reported():
    assert events(stream(b"</stream:stream>"))[-1] == ("end", "stream:stream")


def test_whitespace_in_end_tag_is_accepted():
    assert events(stream(b"<a></a \n>"))[-1] == ("end", "a")


def test_reset_starts_a_new_document():
    h = Events()
    t = Tokenizer(h)
    t.feed(stream(b"<a>partial"))
    t.reset()
    h.events.clear()
    t.feed(b"<?xml version='1.0'?>" + HEADER)
    assert h.events[0][1] == "stream:stream"


def test_null_handler_parses_every_corpus_file():
    # The fast path with nothing kept (the bench's anchor): every file, no error.
    names = corpus_names()
    assert len(names) >= 5, names
    for name in names:
        Tokenizer(Null()).feed(corpus(name))


def test_line_ends_in_text_are_read_as_lf_at_every_split_but_a_cr_reference_stays():
    data = stream(b"<m><b>a\r\nb\rc&#13;d<![CDATA[e\r\nf]]>\r</b></m>")
    want = ("text", "a\nb\nc\rde\nf\n")
    assert want in events(data)
    for k in range(len(HEADER), len(data)):
        assert want in events(data, [data[:k], data[k:]]), k


# Siblings written alike are read along the first one's layout, in place: each way a later
# sibling can differ must fall back to the full reading, with the same events or the same
# error as a tag read on its own, whole and at every split point.
_SIBLINGS = (
    b"<n a='1' b='2'/><n a='3' b='4'/>",  # alike: read in place
    b"<n a='1' b='2'/><n a='3'/>",  # fewer attributes
    b"<n a='1' b='2'/><n a='3' b='4' c='5'/>",  # more
    b"<n a='1' b='2'/><n a='3' c='4'/>",  # another key
    b"<n a='1' b='2'/><n a='3'  b='4'/>",  # other spacing
    b"<n a='1' b='2'/><n a='3' b=\"4\"/>",  # other quotes
    b"<n a='1' b='2'/><n a='\"' b='&amp;'/>",  # the other quote, a reference
    b"<n a='1' b='2'/><n a='3' b='4' />",  # space before '/>'
    b"<n a='1' b='2'></n><n a='3' b='4'>t</n>",  # not empty
    b"<n a='1' b='2'/><n a='' b=''/>",  # empty values
    b"<n a='1' b='2'/><n aa='3' b='4'/>",  # the first key runs on
    b"<n a='1' b='2'/><n a='3 b=' b='4'/>",  # the next key's segment inside a value
    b"<n a='1' b='2'></n><n a='3' b='>'></n>",  # the tag's first '>' inside its last value
    # From the third sibling on, a value equal to the last sibling's is compared in place:
    # each way it can differ must be read as if it had not been kept.
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b='u'/><n a='t' b='u'/>",  # equal: kept
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b='v'/><n a='t' b='u'/>",  # one differs, then not
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='tt' b='uu'/>",  # a kept value begins each
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='' b=''/>",  # empty ones
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' c='u'/>",  # another key after a kept value
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t'  b='u'/>",  # other spacing after it
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b=\"u\"/>",  # other quotes after it
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b=\"v\"/>",  # kept, in other quotes than the last
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b='u' />",  # space before '/>'
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b='u' c='v'/>",  # one more attribute
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t' b='u'></n>",  # not empty
    b"<n a='1' b='2'/><n a='t' b='u'/><n a='t b=' b='u'/>",  # the kept value and a key in one
)


def test_siblings_written_alike_or_not_give_the_events_of_each_tag_read_alone():
    for body in _SIBLINGS:
        data = stream(b"<m>" + body + b"</m>")
        # Alone: each sibling in a stanza of its own, where nothing is remembered.
        alone = events(stream(b"".join(b"<m>" + t + b"</m>" for t in _tags(body))))
        got = events(data)
        assert _inner(got) == _inner(alone), body
        for cut in range(len(HEADER), len(data)):
            assert events(data, [data[:cut], data[cut:]]) == got, (body, cut)


def test_a_sibling_read_in_place_is_judged_like_any_tag():
    for second, condition in (
        (b"<n a='1' a='2'/>", "not-well-formed"),  # duplicate attribute
        (b"<n a='1' b='<'/>", "not-well-formed"),
        (b"<n a='1' b='&x;'/>", "restricted-xml"),  # undefined entity
        (b"<n a='1' b='\xff'/>", "not-well-formed"),  # invalid UTF-8
        (b"<n a='1' b='2' junk/>", "not-well-formed"),
        (b"<na='1' b='2'/>", "not-well-formed"),
        (b"<n a='1' b='2'", None),  # unfinished: nothing to judge yet
        (b"<n a='1' b='/>", None),  # the last value's opening quote ends the tag's body
        (b"<n a='3 4 b='5'/>", "not-well-formed"),  # the next key's segment inside a value
        # After a sibling whose values are kept (a='1', b='2'): a kept value in bad company.
        (b"<n a='1\" b='2'/>", "not-well-formed"),  # the other quote after it
        (b"<n a=\"1' b='2'/><x/>", "not-well-formed"),  # before it: a value up to the '<'
        (b"<n a='1' b='2\"/><x/>", "not-well-formed"),  # the last one, after it
        (b"<n a='1' b=\"2'/><x/>", "not-well-formed"),  # and before it
        (b"<n a='1' b='2'  a='1'/>", "not-well-formed"),  # twice
        (b"<n a='1' b='2' <n a='1' b='2'/>", "not-well-formed"),  # a '<' after it
    ):
        data = stream(b"<m><n a='1' b='2'/><n a='1' b='2'/>" + second)
        for cut in (None, len(data) - 3, len(data) - len(second) + 4):
            assert error_of(data, cut) == condition, (second, cut)


def test_a_kept_value_is_not_read_in_a_sibling_that_quotes_it_otherwise():
    # A value is kept with its quotes: 'x"y' must not read whole in a sibling that quotes
    # it with '"', where it ends at 'x'.
    for tags in (
        b"<n a='x\"y' b='1'/><n a='x\"y' b='1'/><n a=\"x\"y\" b=\"1\"/>",
        b"<n a='1' b='x\"y'/><n a='1' b='x\"y'/><n a=\"1\" b=\"x\"y\"/>",
    ):
        data = stream(b"<m>" + tags)
        for cut in (None, len(data) - 5, len(data) - 16):
            assert error_of(data, cut) == "not-well-formed", (tags, cut)


def test_a_value_holding_a_quote_is_never_cached_so_a_sibling_cannot_end_inside_one():
    # Read in place, a value is cut at the next key segment; only a value without quotes
    # proves it ended there. "it's", missed twice, would otherwise have been cached.
    seen = b'<x v="it\'s"/>' * 3
    data = stream(b"<m>" + seen + b"<n a='1' b='2'/><n a='it's' b='2'/>")
    for cut in (None, len(data) - 5, len(data) - 16):
        assert error_of(data, cut) == "not-well-formed", cut


def _tags(body):
    """The top-level tags of a run of siblings (each `<n .../>` or `<n ...>...</n>`)."""
    out = []
    i = 0
    while i < len(body):
        j = body.find(b"/>", i) + 2
        k = body.find(b"</n>", i)
        if k >= 0 and (j < 2 or k < j):
            j = k + 4
        out.append(body[i:j])
        i = j
    return out


def _inner(ev):
    """Events without the wrapping stanzas."""
    return [e for e in ev if not (e[0] in ("start", "end") and e[1] == "m")]


def _full_cache(h):
    """A tokenizer whose value cache is full (32 values, each missed twice): from then on
    its misses are decoded inline."""
    t = Tokenizer(h)
    t.feed(HEADER + b"<m>" + b"".join(b"<v a='x%d'/><v a='x%d'/>" % (k, k) for k in range(32)))
    assert t._recent is None
    t.feed(b"</m>")
    return t


# Values that leave the inline decode for _value: whitespace, a control, non-ASCII, a
# reference, '<'; in a tag read in place (the second <n>) and in one split (<s>). Those that
# begin like a number (digits, '.', '-' only are decoded without the tests) but go on
# otherwise must be read and refused alike.
_ODD_VALUES = (b"a\tb", b"a\r\nb", b"\xc3\xa9t\xc3\xa9", b"&amp;x", b"&#9;", b"", b"7")
_ODD_VALUES += (b"-12.5", b"-", b"/1", b"1 2", b"3\t", b"4&amp;", b"5\xc3\xa9", b"0x1F")
_BAD_VALUES = (
    (b"a\x01b", "not-well-formed"),
    (b"\xc0\x80", "not-well-formed"),  # overlong
    (b"\xed\xa0\x80", "not-well-formed"),  # a surrogate
    (b"a<b", "not-well-formed"),
    (b"&x;", "restricted-xml"),
    (b"\xff", "not-well-formed"),
    (b"1\x01", "not-well-formed"),
    (b"-1<2", "not-well-formed"),
    (b"2&x;", "restricted-xml"),
    (b".\xff", "not-well-formed"),
)


def test_a_full_value_cache_reads_every_value_as_a_fresh_parser_does():
    for v in _ODD_VALUES:
        body = b"<m><n a='1' b='2'/><n a='%s' b='%s'/><s c='1' d='%s'/></m>" % (v, v, v)
        h = Events()
        _full_cache(h).feed(body)
        got = _inner([e for e in h.events if e[1] != "v"])
        assert got == _inner(events(stream(body))), v


def test_a_full_value_cache_refuses_every_value_a_fresh_parser_refuses():
    for v, condition in _BAD_VALUES:
        for body in (b"<m><n a='1' b='2'/><n a='%s' b='2'/>" % v, b"<m><s c='1' d='%s'/>" % v):
            assert error_of(stream(body)) == condition, (v, body)
            t = _full_cache(Null())
            try:
                t.feed(body)
            except XMLError as e:
                assert e.condition == condition, (v, body)
            else:
                raise AssertionError((v, body))


def test_forgotten_names_and_values_are_read_again_alike_and_new_values_get_cached():
    # An XMPP client empties the caches once its login is done: what it read then must not
    # hold a place (a full value cache took no new value, ever) nor change what is read.
    body = b"<m>" + b"".join(b"<q a='y%d' xmlns='urn:x'/>" % (k % 3) for k in range(6)) + b"</m>"
    h = Events()
    t = _full_cache(h)
    t.feed(body)
    assert b"y1" not in t._values  # the full cache took no new value
    t.forget()
    assert not (t._heads or t._tags or t._keys or t._nskeys or t._values)
    del h.events[:]
    t.feed(body)
    assert _inner(h.events) == _inner(events(stream(body))[1:])  # [1:]: the header
    assert b"y1" in t._values and b"q a=" in t._heads


def test_a_number_written_twice_does_not_take_a_place_in_the_value_cache():
    # XEP-0323: a request's seqnr is often its iq's id, and neither comes again; a flag does.
    t = Tokenizer(Null())
    t.feed(HEADER + b"<iq id='7'><req seqnr='7' momentary='true'/><req momentary='true'/></iq>")
    assert b"true" in t._values
    assert b"7" not in t._values
    t.feed(b"<iq id='-1.5'><req seqnr='-1.5'/></iq><iq id='x7'><req seqnr='x7'/></iq>")
    assert b"-1.5" not in t._values and b"x7" in t._values  # only digits, '.', '-' count

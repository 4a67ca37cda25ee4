# What XML 1.0, Namespaces in XML and RFC 6120 §11 exclude, refused however it arrives:
# characters outside XML's Char, comments and PIs anywhere, reserved namespace names; and a
# name cache that never lets one kind of tag stand for another.
from xmltest_support import HEADER, Null, Sink, error_of, events, stream

from xmlstream.stream import XMLStream
from xmlstream.tokenizer import Tokenizer, XMLError

HEAPSIZE = "160k"  # the XML layer compiled from source, with margin for the heap's layout


def test_a_cached_tag_head_is_never_taken_for_the_other_kind_of_tag():
    # The head of "<a/>" and the first segment of "<a''/>" are the same bytes, as are the
    # head of "<message to='x'/>" and the body of "<message to=/>": each must still be judged.
    assert error_of(stream(b"<m><a/><a''/></m>")) == "not-well-formed"
    assert error_of(stream(b"<message to='x'/><message to=/>")) == "not-well-formed"
    sink = Sink()
    xs = XMLStream(sink)
    try:
        xs.feed(stream(b"<m xmlns:p='u'><p:a/><p:a''/></m>"))
    except XMLError as e:
        assert e.condition == "not-well-formed", e
    else:
        raise AssertionError("accepted")


def test_markup_after_a_chunk_boundary_is_judged_as_when_whole():
    # '<!' ending a chunk, then bytes without '<' or '>': the same error as the whole input.
    cases = (
        (b"<message><!--" + b"x" * 600, 2, "restricted-xml"),
        (b"<!DOCTYPE " + b"x" * 600, 2, "restricted-xml"),
        (b"<message><!x" + b"x" * 600, 2, "not-well-formed"),
        (b"<![CDATA[" + b"x" * 600, 2, "bad-format"),  # CDATA outside a stanza
    )
    for body, cut, condition in cases:
        whole = error_of(stream(body), max_stanza=512)
        at = len(HEADER) + body.index(b"<!") + cut
        got = error_of(stream(body), at, max_stanza=512)
        assert whole == condition and got == whole, (body[:12], got, whole)


def test_a_bad_value_in_a_tag_with_a_stray_lt_is_judged_as_in_pieces():
    # In pieces, a '<' before the tag's '>' is all that can be judged: the tag never ends.
    # Whole, the value's undefined entity (or bad character) came first: another condition.
    for body in (b"<m d='&b;'''<>", b"<m d='&b;' e<>", b"<m d='\x01'''<>", b"<m d='&#0;''<'>"):
        data = stream(body)
        whole = error_of(data)
        for cut in range(len(HEADER) + 1, len(data)):
            got = error_of(data, cut)
            assert got == whole == "not-well-formed", (body, cut, got, whole)


def test_characters_xml_does_not_allow_are_not_well_formed():
    for bad in (b"\x00", b"\x01", b"\x0b", b"\x1f", b"\xef\xbf\xbe", b"\xef\xbf\xbf"):
        assert error_of(stream(b"<a>x" + bad + b"y</a>")) == "not-well-formed", bad
        assert error_of(stream(b"<a v='x" + bad + b"y'/>")) == "not-well-formed", bad
        assert error_of(stream(b"<a><![CDATA[x" + bad + b"y]]></a>")) == "not-well-formed", bad
    # TAB, LF, CR and the rest of Unicode stay allowed
    assert error_of(stream(b"<a v='\t\xc3\xa9'>x\ty\n\xe2\x82\xac\xef\xbf\xbd</a>")) is None


def test_comments_and_processing_instructions_are_restricted_before_the_root_too():
    assert error_of(b"<!-- c --><stream:stream/>") == "restricted-xml"
    assert error_of(b"<?xml version='1.0'?><?pi x?><stream:stream/>") == "restricted-xml"


def test_the_reserved_namespace_names_cannot_be_bound():
    for decl in (
        b"xmlns:p='http://www.w3.org/2000/xmlns/'",
        b"xmlns='http://www.w3.org/2000/xmlns/'",
        b"xmlns='http://www.w3.org/XML/1998/namespace'",
        b"xmlns:p='http://www.w3.org/XML/1998/namespace'",  # only xml: may name it
        b"xmlns:xml='urn:other'",
    ):
        sink = Sink()
        try:
            XMLStream(sink).feed(stream(b"<m " + decl + b"/>"))
        except XMLError as e:
            assert e.condition == "not-well-formed", (decl, e)
        else:
            raise AssertionError(decl)
    # Binding xml: to its own name is allowed (Namespaces in XML 1.0 §3).
    XMLStream(Sink()).feed(stream(b"<m xmlns:xml='http://www.w3.org/XML/1998/namespace'/>"))


def test_character_references_may_have_leading_zeros():
    assert error_of(stream(b"<a>&#x00000041;&#0000065;</a>")) is None


def test_character_references_may_have_any_number_of_leading_zeros():
    # XML 1.0 §4.1: CharRef is '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';', of any length.
    zeros = b"0" * 60
    ev = events(stream(b"<a>&#x" + zeros + b"41;&#" + zeros + b"66;</a>"))
    assert ev[2] == ("text", "AB")
    assert error_of(stream(b"<a>&#x" + zeros + b";</a>")) == "not-well-formed"
    assert error_of(stream(b"<a>&#" + zeros + b"1" + b"2" * 40 + b";</a>")) == "not-well-formed"


def test_whitespace_in_attribute_values_is_normalized_but_references_are_kept():
    # XML 1.0 §3.3.3 (every attribute is CDATA without a DTD): a literal TAB, LF or CR, and
    # a CR LF pair, each read as one space; &#9; &#10; &#13; stay what they reference.
    data = stream(b"<m x='a\tb\nc\r\nd\re' y='&#9;&#10;&#13;' z='p\n&amp;\nq'>t\ta\r\nb</m>")
    want = [
        ("start", "m", [("x", "a b c d e"), ("y", "\t\n\r"), ("z", "p & q")], False),
        ("text", "t\ta\nb"),  # text keeps TAB; only its line ends are normalized
        ("end", "m"),
    ]
    got = events(data)
    assert got[1:] == want, got
    # The same at every split point (the tag's cached forms and the slow path alike),
    # and again once its values have been cached.
    for k in range(len(HEADER), len(data)):
        assert events(data, [data[:k], data[k:]])[1:] == want, k
    t_events = events(data + data[len(HEADER) :])
    assert t_events[1:4] == want and t_events[4:] == want


def test_non_ascii_name_characters_are_judged_by_the_xml_name_rules():
    # XML 1.0 §2.3: é and 日 may start a name, a middle dot only continue one; ×, an arrow
    # and a no-break space are no name characters at all.
    for body in ("<é/>", "<日本 a·b='1'/>", "<a·/>", "<p:é xmlns:p='u'/>", "<x é='1'/>"):
        assert error_of(stream(body.encode())) is None, body
    for body in ("<a×b/>", "<·a/>", "<a\u2190/>", "<x a\u00a0b='1'/>", "<p:·a xmlns:p='u'/>",
                 "<x ·='1'/>", "<é/><é×/>"):  # fmt: skip
        data = stream(body.encode())
        assert error_of(data) == "not-well-formed", body
        # at every split point too: the fast path's caches and the slow path judge alike
        for k in range(len(HEADER), len(data)):
            t = Tokenizer(Null())
            try:
                t.feed(data[:k])
                t.feed(data[k:])
            except XMLError as e:
                assert e.condition == "not-well-formed", (body, k, e.condition)
            else:
                raise AssertionError("accepted %r cut at %d" % (body, k))


def test_a_long_undefined_entity_name_is_an_xml_error_not_a_recursion_error():
    # The entity-name regular expression recurses once per byte (as _char's do, which are
    # bounded): 2 KB of name in one reference must still be judged as XML.
    assert error_of(stream(b"<a>&" + b"n" * 2000 + b";</a>")) in (
        "restricted-xml",
        "not-well-formed",
    )


def test_restricted_markup_trickled_in_is_refused_before_its_end():
    # A peer sending '<!DOCTYPE' or '<!--' a byte at a time, never a '>': refused as soon as
    # it can be told, not kept waiting for the tag's end.
    for body in (b"<!DOCTYPE x", b"<message><!-- c"):
        t = Tokenizer(Null())
        data = stream(body)
        t.feed(data[: len(HEADER) + 3])
        got = None
        for k in range(len(HEADER) + 3, len(data)):
            try:
                t.feed(data[k : k + 1])
            except XMLError as e:
                got = e.condition
                break
        assert got == "restricted-xml", (body, got)

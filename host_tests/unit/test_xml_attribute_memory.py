# A stanza within max_stanza must cost the heap about what the builder's weight allows
# (builder.py: ~50 KB on x64 for 4096 bytes), whatever its shape. Failing now: a single start
# tag with hundreds of attributes (or namespace declarations) costs several times that
# before the builder sees it, and runs out of this device-like heap.
import gc

from xmltest_support import HEADER, Null, Sink, error_of

from xmlstream.stream import XMLStream
from xmlstream.tokenizer import Tokenizer, XMLError

HEAPSIZE = "160k"  # the XML layer compiled from source, with margin for the heap's layout

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _names():
    for a in _LETTERS:
        for b in _LETTERS:
            yield a + b


def _one_tag(segment, prefix=b""):
    # Built in one preallocated buffer: a list of its pieces would itself fill this heap.
    buf = bytearray(4096)
    head = b"<iq><x" + prefix
    buf[: len(head)] = head
    n = len(head)
    for name in _names():
        seg = segment % name.encode()
        if n + len(seg) > 4000:
            break
        buf[n : n + len(seg)] = seg
        n += len(seg)
    buf[n : n + 7] = b"/></iq>"
    return bytes(buf[: n + 7])


def _refused_or_built(body):
    sink = Sink()
    xs = XMLStream(sink, max_stanza=4096)
    xs.feed(HEADER)
    gc.collect()
    try:
        xs.feed(body)
    except XMLError as e:
        assert e.condition == "policy-violation", e
        return
    assert len(sink.stanzas) == 1


def test_a_tag_of_many_attributes_is_refused_or_built_within_the_heap():
    _refused_or_built(_one_tag(b" %s=''"))


def test_a_tag_of_many_namespace_declarations_is_refused_or_built_within_the_heap():
    _refused_or_built(_one_tag(b" xmlns:%s='u'"))


def test_a_tag_of_many_prefixed_attributes_is_refused_or_built_within_the_heap():
    _refused_or_built(_one_tag(b" p:%s=''", b" xmlns:p='u'"))


def _tag(n, quote=b"'", mixed=False):
    attrs = b"".join(b" a%d=%s1%s" % (k, quote, quote) for k in range(n))
    if mixed:
        attrs += b' m="x"'  # both quote styles: the careful parser reads this tag
    return HEADER + b"<message" + attrs + b"/>"


def _error_at_every_split(data):
    seen = set()
    for cut in range(len(HEADER), len(data)):
        gc.collect()  # each parse leaves its garbage: this heap is kept device-small
        t = Tokenizer(Null())
        try:
            t.feed(data[:cut])
            t.feed(data[cut:])
        except XMLError as e:
            seen.add((e.condition, str(e)))
            continue
        seen.add(None)
    return seen


def test_an_element_may_have_64_attributes_in_either_quote_style():
    for quote in (b"'", b'"'):
        for mixed in (False, True):
            n = 63 if mixed else 64
            assert error_of(_tag(n, quote, mixed)) is None, (quote, mixed)


def test_a_65th_attribute_is_a_policy_violation_at_every_split_point():
    for quote in (b"'", b'"'):
        for mixed in (False, True):
            data = _tag(64 if mixed else 65, quote, mixed)
            assert len(data) - len(HEADER) > 320  # long enough to be counted
            (seen,) = _error_at_every_split(data)
            assert seen[0] == "policy-violation" and "attributes" in seen[1], seen

# What a tag fed in tiny pieces costs in allocations (not in heap held: test_xml_memory.py).
# The byte-by-byte feed leaves the heap fragmented, so the heap here is roomy: what is measured
# is the total allocated, which a quadratic copy would make 9 MB.
from xmltest_support import HEADER, Sink

from xmlstream.stream import XMLStream

HEAPSIZE = "256k"


def test_a_long_tag_fed_byte_by_byte_is_not_copied_once_per_byte():
    # A tag arriving in tiny pieces (a slow link, or a server that means harm) is joined
    # every few pieces, not grown by one copy per piece: appending each byte to the pending
    # token allocated about 9 MB for this 3.9 KB tag.
    import micropython

    tag = b"<message to='a' x='" + b"v" * 3900 + b"'/>"
    sink = Sink()
    xs = XMLStream(sink, max_stanza=4096)
    xs.feed(HEADER)
    before = micropython.mem_total()
    for k in range(len(tag)):
        xs.feed(tag[k : k + 1])
    allocated = micropython.mem_total() - before
    assert len(sink.stanzas[0].get("x")) == 3900
    assert allocated < 2_000_000, allocated

# Real server output (tools/capture_corpus.py) and hand-written XEP-0323 / ejabberd-style
# streams must give identical events however the bytes are chunked.
# The recorded reference events are the test's own bulk, hence the larger heap; the parser's
# own memory is tested at small heaps in test_xml_memory.py.
from xmltest_support import corpus, corpus_names, events, same_events

HEAPSIZE = "256k"


def _every_split_gives_the_same_events(name):
    data = corpus(name)
    whole = events(data)
    assert len(whole) > 4
    for k in range(1, len(data)):
        assert same_events(whole, [data[:k], data[k:]]), (name, k)


def _names(keep):
    """The corpus files `keep` selects; never none (a renamed file would test nothing)."""
    names = [n for n in corpus_names() if keep(n)]
    assert names, "no corpus file selected"
    return names


def test_prosody_sasl_stream_is_identical_at_every_split_point():
    for name in _names(lambda n: n.endswith("_1.xml")):
        _every_split_gives_the_same_events(name)


def test_prosody_session_stream_is_identical_at_every_split_point():
    for name in _names(lambda n: n.startswith("prosody_") and n.endswith("_2.xml")):
        _every_split_gives_the_same_events(name)


def test_hand_written_corpus_is_identical_at_every_split_point():
    for name in _names(lambda n: not n.startswith("prosody_")):
        _every_split_gives_the_same_events(name)


def test_whole_corpus_fed_byte_by_byte_gives_the_same_events():
    for name in corpus_names():
        data = corpus(name)
        assert same_events(events(data), (data[k : k + 1] for k in range(len(data)))), name


def test_corpus_fed_in_three_odd_chunks_gives_the_same_events():
    for name in corpus_names():
        data = corpus(name)
        whole = events(data)
        for a in range(1, len(data), 37):
            for b in range(a + 1, len(data), 101):
                assert same_events(whole, [data[:a], data[a:b], data[b:]]), (name, a, b)

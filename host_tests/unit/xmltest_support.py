# Shared by the xmlstream tests: event recorders and the corpus of captured streams.
import os

from xmlstream.tokenizer import Tokenizer, XMLError

_HERE = __file__.rpartition("/")[0] or "."
CORPUS_DIR = _HERE + "/xml_corpus"
HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" version='1.0'>"
)


def corpus_names():
    return sorted(n for n in os.listdir(CORPUS_DIR) if n.endswith(".xml"))


def corpus(name):
    with open(CORPUS_DIR + "/" + name, "rb") as f:
        return f.read()


class Events:
    """Tokenizer handler that records every event as a tuple."""

    def __init__(self):
        self.events = []

    def start(self, name, attrs, ns):
        self.events.append(("start", name, sorted(attrs.items()), ns))

    def end(self, name):
        self.events.append(("end", name))

    def text(self, s):
        self.events.append(("text", s))


class Expect(Events):
    """Handler that checks each event against a recorded list as it arrives (no copy kept)."""

    def __init__(self, expected):
        self.expected = expected
        self.n = 0
        self.events = self

    def append(self, ev):
        assert ev == self.expected[self.n], (self.n, ev, self.expected[self.n])
        self.n += 1

    def done(self):
        assert self.n == len(self.expected), (self.n, len(self.expected))


def same_events(expected, chunks, **kw):
    """Assert feeding chunks gives exactly the expected events."""
    h = Expect(expected)
    t = Tokenizer(h, **kw)
    for c in chunks:
        t.feed(c)
    h.done()
    return True


class Null:
    def start(self, name, attrs, ns):
        pass

    def end(self, name):
        pass

    def text(self, s):
        pass


class Sink:
    """StanzaBuilder sink that records what it is given."""

    def __init__(self):
        self.header = None
        self.stanzas = []
        self.errors = []
        self.ended = False

    def stream_start(self, attrs):
        self.header = attrs

    def stanza(self, el):
        self.stanzas.append(el)

    def stream_error(self, el):
        self.errors.append(el)

    def stream_end(self):
        self.ended = True


def events(data, chunks=None, **kw):
    """Events for data fed whole, or in the given list of chunks."""
    h = Events()
    t = Tokenizer(h, **kw)
    for c in chunks if chunks is not None else [data]:
        t.feed(c)
    return h.events


def error_of(data, cut=None, **kw):
    """The XMLError condition raised while feeding data (None if none was): whole, or in two
    pieces split at index `cut`."""
    t = Tokenizer(Null(), **kw)
    try:
        if cut is None:
            t.feed(data)
        else:
            t.feed(data[:cut])
            t.feed(data[cut:])
    except XMLError as e:
        return e.condition
    return None


def stream(body):
    return HEADER + body


class NoRoomForTheCopy:
    """What the parser kept of the last chunk (nothing), but joining the next chunk to it
    finds the heap full, once: the copy of a chunk is the parser's most frequent allocation."""

    def __init__(self):
        self.fails = 1

    def __len__(self):
        return 0

    def __add__(self, chunk):
        if self.fails:
            self.fails -= 1
            raise MemoryError()
        return bytes(chunk)

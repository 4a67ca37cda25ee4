# Any input either parses or raises XMLError: deterministic mutations of real traffic.
from xmltest_support import Null, corpus

from xmlstream.stream import XMLStream
from xmlstream.tokenizer import Tokenizer, XMLError

# The mutants are whole-stream copies (a few KB each); how much heap the parser itself may
# use is test_xml_memory's subject, so give the copies room against fragmentation.
HEAPSIZE = "256k"
_SPECIAL = b"<>/'\"=&;#!?[]-: \n\x00\x80\xc3\xe2\xed\xf0\xff"


class _Rand:
    # Small LCG: the same mutations on every run.
    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x % n


def _mutants(data, count, seed):
    r = _Rand(seed)
    for _ in range(count):
        b = data
        for _ in range(1 + r.next(3)):
            pos = r.next(len(b))
            op = r.next(3)
            c = _SPECIAL[r.next(len(_SPECIAL)) :][:1]
            if op == 0:
                b = b[:pos] + c + b[pos + 1 :]
            elif op == 1:
                b = b[:pos] + b[pos + 1 + r.next(8) :]
            else:
                b = b[:pos] + c + b[pos:]
        yield b, r.next(64) + 1


class _Sink:
    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        pass

    def stream_error(self, el):
        pass

    def stream_end(self):
        pass


def _survives(make, name, count, seed):
    rejected = 0
    for data, step in _mutants(corpus(name), count, seed):
        p = make()
        try:
            for k in range(0, len(data), step):
                p.feed(data[k : k + step])
        except XMLError:
            rejected += 1
    # Mutants of both kinds, or the mutation (or the parser) proves nothing.
    assert 0 < rejected < count, (name, rejected)


def test_mutated_xep0323_traffic_only_raises_xml_errors():
    _survives(lambda: Tokenizer(Null()), "xep0323_device.xml", 400, 1)


def test_mutated_prosody_traffic_only_raises_xml_errors():
    _survives(lambda: Tokenizer(Null()), "prosody_bob_1.xml", 400, 2)


def test_mutated_traffic_through_the_stanza_builder_only_raises_xml_errors():
    _survives(lambda: XMLStream(_Sink()), "ejabberd_style.xml", 400, 3)
    _survives(lambda: XMLStream(_Sink()), "xep0323_requester.xml", 400, 4)

"""What both fuzz engines (fuzz_mp.py, fuzz_thing_mp.py) share; runs inside MicroPython.

The case's randomness (every case is made from (SEED, index) alone: the engine seeds
`random` per case, these only draw from it), the violation they raise, and the check that
one stanza the board sent is a well-formed stanza of its own.
"""

import random

from xmlstream.builder import StanzaBuilder
from xmlstream.errors import XMLError
from xmlstream.tokenizer import Tokenizer

HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" version='1.0'>"
)


class Violation(Exception):
    def __init__(self, check, detail):
        super().__init__(check, detail)
        self.check = check
        self.detail = detail


def _r(n):
    return random.getrandbits(16) % n if n > 1 else 0


def _pick(seq):
    return seq[_r(len(seq))]


def _chance(k):
    return _r(k) == 0


class _Stanzas:
    def __init__(self):
        self.stanzas = []

    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        self.stanzas.append(el)


def parse_sent(b):
    """The one stanza in bytes the board sent, parsed; a Violation unless it is exactly one
    well-formed stanza without control characters."""
    sink = _Stanzas()
    t = Tokenizer(StanzaBuilder(sink, max_stanza=1 << 30), len(b) + len(HEADER), 64)
    try:
        t.feed(HEADER)
        t.feed(b)
    except XMLError as e:
        raise Violation("answers", "sent stanza is not well-formed (%s): %r" % (e.condition, b))
    if len(sink.stanzas) != 1:
        raise Violation("answers", "sent bytes hold %d stanzas: %r" % (len(sink.stanzas), b))
    for ch in b:
        if ch < 32 and ch not in (9, 10, 13):
            raise Violation("answers", "control character in sent stanza: %r" % b)
    return sink.stanzas[0]

"""XMLStream: tokenizer + stanza builder, the parser an XMPP connection owns.

xs = XMLStream(sink, max_stanza=4096, max_depth=16)
xs.feed(data)   # calls sink.stream_start/stanza/stream_error/stream_end; raises XMLError
xs.reset()      # at every stream restart (after STARTTLS and SASL): a clean parser
xs.forget()     # empty the name caches: at each stream of a login, and once online
xs.get("id")    # an attribute of the stanza being read: the one an XMLError cut short
"""

from xmlstream.builder import StanzaBuilder
from xmlstream.element import CLIENT_NS
from xmlstream.tokenizer import Tokenizer


class XMLStream:
    def __init__(self, sink, max_stanza=4096, max_depth=16, content_ns=CLIENT_NS):
        self._builder = StanzaBuilder(sink, content_ns, max_stanza)
        self._tok = Tokenizer(self._builder, max_stanza, max_depth)

    def feed(self, data):
        self._tok.feed(data)

    def reset(self):
        self._tok.reset()
        self._builder.reset()

    def forget(self):
        self._tok.forget()

    def get(self, key):
        """Attribute `key` of the stanza being read (its start tag parsed), or None."""
        stack = self._builder._stack
        return stack[0].get(key) if stack else None

from xmpp.outbox import Outbox, TooLarge


def _take(o):
    """What the sender sends: the queued bytes, then dropped from the buffer."""
    data = bytes(o.w.pending())
    o.sent(len(data))
    return data


class _Stanza:
    def __init__(self, *pieces):
        self.pieces = pieces

    def write(self, w, parent_ns=None):
        for p in self.pieces:
            w.write(p)


def test_queued_stanzas_come_out_in_order_in_one_take():
    o = Outbox(64)
    assert o.put_nowait(_Stanza("<a/>"))
    assert o.put_nowait(b"<b/>")
    assert _take(o) == b"<a/><b/>"
    assert _take(o) == b""


def test_non_ascii_text_is_written_as_utf8():
    o = Outbox(64)
    o.put_nowait(_Stanza("<m>", "21 °C", "</m>"))
    assert _take(o) == "<m>21 °C</m>".encode()


def test_a_stanza_that_does_not_fit_is_refused_whole_and_the_rest_kept():
    o = Outbox(16)
    assert o.put_nowait(b"<a>0123456</a>")
    assert not o.put_nowait(_Stanza("<b>", "0123", "</b>"))
    assert _take(o) == b"<a>0123456</a>"


def test_a_stanza_larger_than_the_buffer_raises():
    o = Outbox(8)
    try:
        o.put_nowait(b"<abcdefgh/>")
    except TooLarge:
        return
    raise AssertionError("expected TooLarge")


def test_a_stanza_larger_than_the_buffer_raises_while_others_are_queued_too():
    # Not "full for now": it will never fit, so no sender should wait for room for it.
    o = Outbox(16)
    assert o.put_nowait(b"<a/>")
    try:
        o.put_nowait(_Stanza("<b>", "0123456789", "</b>"))
    except TooLarge:
        assert _take(o) == b"<a/>"
        return
    raise AssertionError("expected TooLarge")


async def test_put_waits_for_space_then_queues():
    import asyncio

    o = Outbox(10)
    o.put_nowait(b"12345678")
    task = asyncio.create_task(o.put(b"abcd"))
    await asyncio.sleep_ms(0)
    assert not task.done()
    assert _take(o) == b"12345678"
    await asyncio.sleep_ms(0)
    await task
    assert _take(o) == b"abcd"


def test_memory_is_preallocated():
    import gc

    o = Outbox(256)
    o.put_nowait(b"<warm/>")
    _take(o)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(100):
        o.put_nowait(b"<presence/>")
        _take(o)
    gc.collect()
    assert gc.mem_alloc() - before < 256


def test_a_stanza_that_fails_to_serialize_leaves_nothing_behind():
    from xmlstream.element import Element

    o = Outbox(256)
    bad = Element("message", "jabber:client", {"to": "a@b"}, [Element("x", "urn:x", {"n": 5})])
    try:
        o.put_nowait(bad)
    except TypeError:
        pass
    assert o.put_nowait(Element("presence", "jabber:client"))
    assert _take(o) == b"<presence/>"

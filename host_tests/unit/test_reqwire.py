# The requester's momentary request, written from its layout: the very bytes its elements give.
import asyncio

from reqtest import DEV, start

from sensordata import reqwire
from xmlstream.element import tostring
from xmpp import stanza as st

HEAPSIZE = "160k"  # the requester and the XML layer compiled from source, with margin

_SHAPES = (
    (DEV, None, None),
    (DEV, ("bme280-76",), None),
    (DEV, ("a", "b"), ("Temperature", "Humidity")),
    (DEV, None, ("T",)),
    ("thing@example.org/it's <\"&> a %s", ("n'1&<2>", "°C µ"), ("100%",)),
)


def test_a_momentary_request_is_byte_for_byte_the_one_its_elements_write():
    lay = reqwire.layout()
    for to, nodes, fields in _SHAPES:
        for id_, seqnr in (("c1e8d45", "582131"), ("c1", "-7")):
            want = tostring(st.iq("get", to, id_, reqwire.req(seqnr, nodes, fields)))
            assert reqwire.iq(lay, to, id_, seqnr, nodes, fields) == want, (to, nodes, fields)


async def test_request_data_sends_those_bytes_and_other_requests_from_elements():
    c, r, seen, cb = start(sessions=3)
    s = r.request_data(DEV, cb, node_ids=["n1"])
    t = r.request_data(DEV, cb, flags=("momentary", "status"))
    u = r.request_data(DEV, cb, when="2026-11-23T21:00:00Z")
    await asyncio.sleep_ms(0)
    sent = c.take()
    ids = sorted(r.client.router.pending)

    def written(id_, seqnr, *rest):
        return tostring(st.iq("get", DEV, id_, reqwire.req(seqnr, *rest)))

    assert sent[0] == written(ids[0], s.seqnr, ["n1"])
    assert sent[1] == written(ids[1], t.seqnr, None, None, ("momentary", "status"))
    assert sent[2] == written(ids[2], u.seqnr, None, None, None, "2026-11-23T21:00:00Z")

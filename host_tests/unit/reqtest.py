"""A Requester over a FakeClient, and a callback that records what it is told: what the
requester-role tests start from."""

import asyncio

from fakeclient import FakeClient

from sensordata.requester import Requester
from sensordata.wire import NS
from xmlstream.element import Element
from xmpp import stanza as st

DEV = "thing@example.org/sensor"


def start(timeout_ms=1000, sessions=2):
    """(client, requester, seen, callback): seen gets (result, node_id, fields, error_msg)."""
    c = FakeClient()
    r = Requester(c, sessions=sessions, timeout_ms=timeout_ms)
    seen = []

    def cb(session, result, node_id=None, timestamp=None, fields=None, error_msg=None):
        seen.append((result, node_id, fields, error_msg))

    return c, r, seen, cb


def iq_id(sent):
    """The id of a stanza the requester sent (bytes, either quote style)."""
    s = sent.replace(b'"', b"'")
    i = s.index(b"id='") + 4
    return s[i : s.index(b"'", i)].decode()


def answer(id_, child=None, type_="result"):
    """The device's iq answer with that id, holding `child` if given."""
    kids = [child] if child is not None else None
    return Element("iq", st.NS_CLIENT, {"type": type_, "id": id_, "from": DEV}, kids)


def message(child):
    """A message from the device carrying `child`."""
    return Element("message", st.NS_CLIENT, {"from": DEV}, [child])


def numeric(name):
    return Element("numeric", NS, {"name": name, "value": "1", "momentary": "true"})


def fields(seqnr, done="true"):
    """The device's <fields> message for seqnr: one node, one timestamp, field T."""
    ts = Element("timestamp", NS, {"value": "2026-11-23T21:02:03Z"}, [numeric("T")])
    node = Element("node", NS, {"nodeId": "n1"}, [ts])
    attrs = {"seqnr": seqnr, "done": done} if done else {"seqnr": seqnr}
    return message(Element("fields", NS, attrs, [node]))


async def accepted(c, r, cb, **kw):
    """A request made and accepted by the device; its session."""
    s = r.request_data(DEV, cb, **kw)
    await asyncio.sleep_ms(0)
    req = c.take()[0]
    c.router.dispatch(answer(iq_id(req), Element("accepted", NS, {"seqnr": s.seqnr})))
    return s


async def settle(cond):
    """Let the tasks run until cond() holds (or give up after many rounds)."""
    for _ in range(1000):
        if cond():
            return
        await asyncio.sleep_ms(1)


def cancels(sent):
    return [x for x in sent if b"<cancel" in x]

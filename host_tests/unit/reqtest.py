"""A Requester over a FakeClient, and a callback that records what it is told: what the
requester-role tests start from."""

from fakeclient import FakeClient

from sensordata.requester import Requester
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

"""A Requester over a FakeClient, and a callback that records what it is told: what the
requester-role tests start from."""

from fakeclient import FakeClient

from sensordata.requester import Requester

DEV = "thing@example.org/sensor"


def start(timeout_ms=1000, sessions=2):
    """(client, requester, seen, callback): seen gets (result, node_id, fields, error_msg)."""
    c = FakeClient()
    r = Requester(c, sessions=sessions, timeout_ms=timeout_ms)
    seen = []

    def cb(session, result, node_id=None, timestamp=None, fields=None, error_msg=None):
        seen.append((result, node_id, fields, error_msg))

    return c, r, seen, cb

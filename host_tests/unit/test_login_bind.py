# Resource binding (RFC 6120 §7) against a scripted server answer, no socket.
from xmlstream.element import Element
from xmpp import login
from xmpp import stanza as st
from xmpp.errors import LoginFailed

HEAPSIZE = "256k"  # login.py compiled from source


class _Opt:
    jid = "dev@example.org"
    resource = "sensor"
    retry_permanent_ms = 600_000


class _Transport:
    def __init__(self):
        self.sent = []

    async def write(self, data):
        self.sent.append(data)


class _Client:
    def __init__(self, answer):
        self.opt = _Opt()
        self.transport = _Transport()
        self.full_jid = None
        self._answer = answer

    async def next_stanza(self):
        return self._answer


def _features():
    return Element("features", st.NS_STREAMS, None, [Element("bind", st.NS_BIND)])


def _error(cond, type_):
    err = Element("error", st.NS_CLIENT, {"type": type_}, [Element(cond, st.NS_STANZAS)])
    return Element("iq", st.NS_CLIENT, {"type": "error", "id": "bind"}, [err])


async def _floor(answer):
    try:
        await login.bind(_Client(answer), _features())
    except LoginFailed as e:
        return e.retry_floor_ms
    return None


async def test_a_bind_refusal_of_type_wait_is_retried_on_the_usual_backoff():
    assert await _floor(_error("resource-constraint", "wait")) == 0


async def test_a_bind_conflict_waits_the_long_retry():
    assert await _floor(_error("conflict", "cancel")) == 600_000


async def test_the_jid_the_server_binds_is_kept():
    jid = Element("jid", st.NS_BIND, None, None, "dev@example.org/sensor-42")
    ok = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "result", "id": "bind"},
        [Element("bind", st.NS_BIND, None, [jid])],
    )
    c = _Client(ok)
    await login.bind(c, _features())
    assert c.full_jid == "dev@example.org/sensor-42"

# The XEP-0050 "read" command at its edges: who may see and run it, and session ids.
import asyncio

from fakeclient import FakeClient

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from thing.chat import Chat
from thing.uptime import Uptime
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "256k"  # chat, ad-hoc, the sensor and the XML layer, compiled from source

OWNER = "owner@example.org/phone"
EVE = "eve@evil.example/x"
NS_COMMANDS = "http://jabber.org/protocol/commands"
FIELDS = (
    ("Temperature", "numeric", "°C", "momentary"),
    ("RSSI", "numeric", "dBm", "status"),
)


class _Thing:
    def __init__(self):
        self.client = FakeClient()
        self.clock = Clock(synced=True)
        self.sensor = Sensor(self.client, self.clock)
        self.dev = MemoryDevice(FIELDS, ("21.5", "-60"))
        self.sensor.register_node("t1", self.dev)
        self.uptime = Uptime()
        self.chat = Chat(self)


def _norm(b):
    return b.replace(b'"', b"'")


def _command(frm, attrs, type_="set", node="read"):
    cmd = Element("command", NS_COMMANDS, dict({"node": node}, **attrs))
    return Element("iq", st.NS_CLIENT, {"type": type_, "id": "c1", "from": frm}, [cmd])


async def _run(t, el):
    t.client.router.dispatch(el)
    await asyncio.sleep_ms(20)
    (out,) = t.client.take()
    return _norm(out)


def _sid(out):
    return out.split(b"sessionid='")[1].split(b"'")[0].decode()


async def test_a_stranger_cannot_run_the_command():
    t = _Thing()
    out = await _run(t, _command(EVE, {"action": "execute"}))
    assert b"type='error'" in out and b"<forbidden" in out
    assert b"21.5" not in out and t.dev.reads == 0


async def test_a_stranger_sees_no_commands_in_the_list():
    t = _Thing()
    q = Element("query", st.NS_DISCO_ITEMS, {"node": NS_COMMANDS})
    get = Element("iq", st.NS_CLIENT, {"type": "get", "id": "d1", "from": EVE}, [q])
    out = await _run(t, get)
    assert b"type='result'" in out and b"<item" not in out
    get.attrs["from"] = OWNER
    out = await _run(t, get)
    assert b"node='read'" in out


async def test_a_command_get_or_another_node_is_refused():
    t = _Thing()
    out = await _run(t, _command(OWNER, {}, type_="get"))
    assert b"type='error'" in out and b"<bad-request" in out
    out = await _run(t, _command(OWNER, {}, node="reboot"))
    assert b"type='error'" in out and b"<item-not-found" in out


async def test_complete_runs_the_command_and_cancel_without_a_session_is_a_bad_action():
    t = _Thing()
    out = await _run(t, _command(OWNER, {"action": "complete"}))
    assert b"status='completed'" in out and b"var='t1/Temperature'" in out
    out = await _run(t, _command(OWNER, {"action": "cancel"}))
    assert b"<bad-request" in out and b"<bad-action" in out


async def test_only_the_exact_form_of_an_issued_session_id_is_recognised():
    t = _Thing()
    sid = _sid(await _run(t, _command(OWNER, {})))
    prefix = sid.split("-")[0]
    other = "%08x" % ((int(prefix, 16) + 1) & 0xFFFFFFFF)
    bogus = (
        prefix + "x1",  # no '-' after the prefix
        prefix + "-0",  # never issued: counts start at 1
        prefix + "-2",  # not issued yet
        prefix + "-" + "0" * 20 + "1",  # too long to be one of ours
        prefix + "-+1",
        prefix + "- 1",
        prefix + "-x",
        other + "-1",  # another run's
    )
    for s in bogus:
        out = await _run(t, _command(OWNER, {"sessionid": s}))
        assert b"<bad-sessionid" in out, (s, out)
    out = await _run(t, _command(OWNER, {"sessionid": sid}))
    assert b"<session-expired" in out


async def test_the_form_leaves_out_missing_values_and_writes_booleans_as_xs_boolean():
    t = _Thing()
    f = (("Open", "boolean", "", "momentary"), ("Lux", "numeric", "lx", "momentary"))
    t.sensor.register_node("door", MemoryDevice(f, (True, None)))
    out = await _run(t, _command(OWNER, {}))
    assert b"var='door/Open'" in out, out
    assert b"<value>true</value>" in out, out
    assert b"door/Lux" not in out, out

# Chat commands and the XEP-0050 command, driven through a real Router, Roster and Sensor.
import asyncio

from fakeclient import FakeClient

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from thing.chat import Chat
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "256k"  # chat, ad-hoc, the sensor and the XML layer, compiled from source

OWNER = "owner@example.org/phone"
NS_COMMANDS = "http://jabber.org/protocol/commands"
FIELDS = (
    ("Temperature", "numeric", "°C", "momentary"),
    ("RSSI", "numeric", "dBm", "status"),
    ("Chip", "string", "", "identity"),
)


class _Thing:
    def __init__(self):
        self.client = FakeClient()
        self.clock = Clock(synced=True)
        self.sensor = Sensor(self.client, self.clock)
        self.dev = MemoryDevice(FIELDS, ("21.5", "-60", "SHT40"))
        self.sensor.register_node("t1", self.dev)
        self.wifi = MemoryDevice(FIELDS[1:], ("-61", "ESP32"))
        self.sensor.register_node("wifi", self.wifi)
        self.chat = Chat(self)


def _chat(frm, body, thread=None, type_="chat"):
    kids = [Element("body", st.NS_CLIENT, None, None, body)]
    if thread:
        kids.append(Element("thread", st.NS_CLIENT, None, None, thread))
    return Element("message", st.NS_CLIENT, {"from": frm, "type": type_}, kids)


def _norm(b):
    return b.replace(b'"', b"'")


async def _ask(t, frm, body, thread=None):
    t.client.router.dispatch(_chat(frm, body, thread))
    await asyncio.sleep_ms(20)
    return [_norm(x) for x in t.client.take()]


async def test_read_of_one_node_gives_all_its_fields_and_the_summary_only_measurements():
    t = _Thing()
    (one,) = await _ask(t, OWNER, "read wifi")
    assert b"RSSI -61 dBm" in one and b"Chip ESP32" in one
    (all_,) = await _ask(t, OWNER, "read")
    assert b"t1: Temperature 21.5" in all_ and b"RSSI" not in all_


async def test_a_reply_keeps_the_thread():
    t = _Thing()
    (out,) = await _ask(t, OWNER, "help", thread="th1")
    assert b"<thread>th1</thread>" in out


async def test_refusals_are_bounded_for_a_crowd_and_none_go_to_servers():
    t = _Thing()
    sent = []
    for k in range(10):
        sent += await _ask(t, "stranger%d@else.example/x" % (k % 5), "read")
    assert 1 <= len(sent) <= 4
    assert await _ask(t, "example.org", "Welcome to example.org!") == []


def _command(frm, attrs, type_="set"):
    cmd = Element("command", NS_COMMANDS, dict({"node": "read"}, **attrs))
    return Element("iq", st.NS_CLIENT, {"type": type_, "id": "c1", "from": frm}, [cmd])


async def _run(t, el):
    t.client.router.dispatch(el)
    await asyncio.sleep_ms(20)
    (out,) = t.client.take()
    return _norm(out)


async def test_the_command_reads_and_says_which_nodes_failed():
    t = _Thing()
    out = await _run(t, _command(OWNER, {"action": "execute"}))
    assert b"status='completed'" in out and b"var='t1/Temperature'" in out
    assert b"<note" not in out
    t = _Thing()  # a new readout (reads within 250 ms are shared)
    t.wifi.fail = OSError(5)
    out = await _run(t, _command(OWNER, {}))
    assert b"<note type='warn'>wifi: " in out and b"var='t1/Temperature'" in out


async def test_a_failed_command_carries_an_error_note():
    t = _Thing()
    t.dev.fail = t.wifi.fail = OSError(5)
    out = await _run(t, _command(OWNER, {}))
    assert b"status='completed'" in out and b"<note type='error'>" in out


async def test_ended_sessions_and_actions_a_one_stage_command_lacks_get_their_conditions():
    t = _Thing()
    out = await _run(t, _command(OWNER, {"sessionid": "r1", "action": "cancel"}))
    assert b"<not-allowed" in out and b"<session-expired xmlns='%s'" % NS_COMMANDS.encode() in out
    out = await _run(t, _command(OWNER, {"action": "next"}))
    assert b"<bad-request" in out and b"<bad-action" in out
    out = await _run(t, _command(OWNER, {"action": "bogus"}))
    assert b"<bad-request" in out and b"<malformed-action" in out


async def test_session_ids_differ_across_restarts():
    a, b = _Thing(), _Thing()
    x = await _run(a, _command(OWNER, {}))
    y = await _run(b, _command(OWNER, {}))
    sid = lambda out: out.split(b"sessionid='")[1].split(b"'")[0]  # noqa: E731
    assert sid(x) != sid(y)


def _info(frm, node):
    q = Element("query", st.NS_DISCO_INFO, {"node": node})
    return Element("iq", st.NS_CLIENT, {"type": "get", "id": "d1", "from": frm}, [q])


async def test_command_nodes_in_disco():
    t = _Thing()
    out = await _run(t, _info("eve@evil.example/x", "read"))
    assert b"type='error'" in out and b"<forbidden" in out
    out = await _run(t, _info(OWNER, "read"))
    assert b"category='automation'" in out and b"type='command-node'" in out
    out = await _run(t, _info(OWNER, NS_COMMANDS))
    assert b"type='command-list'" in out


async def test_the_body_read_is_the_one_in_the_client_namespace():
    t = _Thing()
    foreign = Element("body", "urn:x", None, None, "read")
    msg = _chat(OWNER, "help")
    msg.children.insert(0, foreign)
    t.client.router.dispatch(msg)
    await asyncio.sleep_ms(20)
    (out,) = t.client.take()
    assert b"Commands:" in out

# Chat commands at their edges: what is ignored, how commands are read, the reply limits.
import asyncio

from esp32ticks import install
from fakeclient import FakeClient

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from thing import chat as chat_module
from thing import uptime as uptime_module
from thing.chat import Chat, format_value
from thing.uptime import Uptime
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "256k"  # chat, ad-hoc, the sensor and the XML layer, compiled from source

OWNER = "owner@example.org/phone"
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
        self.uptime = Uptime()
        self.chat = Chat(self)


def _chat(frm, body, thread=None, type_="chat"):
    kids = [Element("body", st.NS_CLIENT, None, None, body)]
    if thread:
        kids.append(Element("thread", st.NS_CLIENT, None, None, thread))
    return Element("message", st.NS_CLIENT, {"from": frm, "type": type_}, kids)


def _norm(b):
    return b.replace(b'"', b"'")


async def _send(t, msg):
    t.client.router.dispatch(msg)
    await asyncio.sleep_ms(20)
    return [_norm(x) for x in t.client.take()]


async def _ask(t, frm, body):
    return await _send(t, _chat(frm, body))


def _body(out):
    return out.split(b"<body>")[1].split(b"</body>")[0].decode()


async def test_a_message_delivered_late_from_offline_storage_is_not_answered():
    t = _Thing()
    msg = _chat(OWNER, "read")
    msg.children.append(Element("delay", "urn:xmpp:delay", {"stamp": "2026-11-23T21:02:03Z"}))
    assert await _send(t, msg) == []
    assert await _send(t, _chat("eve@evil.example/x", "read")) != []  # refusals still go out
    msg = _chat("mallory@evil.example/x", "read")
    msg.children.append(Element("delay", "urn:xmpp:delay", {"stamp": "2026-11-23T21:02:03Z"}))
    assert await _send(t, msg) == []


async def test_a_blank_body_is_ignored_quietly():
    t = _Thing()
    for body in ("", "   ", "\n\t"):
        assert await _ask(t, OWNER, body) == []
    assert not any(line.startswith("E ") for line in t.client.log.lines), t.client.log.lines


async def test_commands_and_field_names_are_read_in_any_case():
    t = _Thing()
    (out,) = await _ask(t, OWNER, "HELP")
    assert "Commands:" in _body(out)
    (out,) = await _ask(t, OWNER, "Read wifi rssi")
    assert _body(out) == "wifi: RSSI -61 dBm", _body(out)


async def test_only_the_start_of_a_long_body_is_read():
    t = _Thing()
    (out,) = await _ask(t, OWNER, "read" + " " * 250 + "wifi")
    assert _body(out).startswith("t1: Temperature 21.5"), _body(out)


async def test_unknown_nodes_and_fields_are_named_in_the_answer():
    t = _Thing()
    (out,) = await _ask(t, OWNER, "read garage")
    assert _body(out) == "Unknown node 'garage'. Try: nodes", _body(out)
    (out,) = await _ask(t, OWNER, "read t1 Pressure")
    assert _body(out) == "No field 'Pressure'. Try: nodes", _body(out)


async def test_a_node_that_fails_is_named_with_its_error_in_a_readout():
    t = _Thing()
    t.dev.fail = OSError(5)
    (out,) = await _ask(t, OWNER, "read")
    assert _body(out).startswith("t1: "), _body(out)
    (out,) = await _ask(t, OWNER, "read t1")
    assert _body(out).startswith("t1: "), _body(out)


def test_booleans_read_yes_or_no_and_a_missing_value_is_named():
    f = ("Door", "boolean", "", "momentary")
    assert format_value(f, True) == "Door yes"
    assert format_value(f, False) == "Door no"
    assert format_value(("T", "numeric", "°C", "momentary"), None) == "T missing"


async def test_a_component_gets_no_refusal_even_when_nobody_was_refused_before():
    t = _Thing()
    assert await _ask(t, "example.org", "Welcome to example.org!") == []
    assert await _ask(t, "example.org/motd", "read") == []


async def test_the_unknown_command_limit_counts_a_sender_once_whatever_its_resource():
    t = _Thing()
    assert len(await _ask(t, "owner@example.org/a", "hello")) == 1
    assert await _ask(t, "owner@example.org/b", "hello") == []


async def test_a_command_clears_only_its_senders_unknown_command_limit():
    t = _Thing()
    t.client.roster.allow = set(("owner@example.org", "bot@example.org"))
    assert len(await _ask(t, "bot@example.org/x", "hello")) == 1
    assert len(await _ask(t, OWNER, "help")) == 1
    assert await _ask(t, "bot@example.org/x", "hello again") == []


async def test_the_unknown_command_answer_comes_again_after_a_minute():
    ticks = install(chat_module, uptime_module)
    t = _Thing()
    assert len(await _ask(t, OWNER, "hello")) == 1
    ticks.advance(59_999)
    assert await _ask(t, OWNER, "hello") == []
    ticks.advance(1)
    assert len(await _ask(t, OWNER, "hello")) == 1


async def test_a_stranger_is_refused_again_after_five_minutes_not_before():
    ticks = install(chat_module, uptime_module)
    t = _Thing()
    eve = "eve@evil.example/x"
    assert len(await _ask(t, eve, "read")) == 1
    ticks.advance(120_000)
    assert await _ask(t, eve, "read") == []
    ticks.advance(179_999)
    assert await _ask(t, eve, "read") == []
    ticks.advance(1)
    assert len(await _ask(t, eve, "read")) == 1

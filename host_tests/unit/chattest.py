"""A Thing with chat and the ad-hoc command over a FakeClient (a real Router, Roster and
Sensor), and what the tests send it: chat messages and commands, answers taken once every
handler has ended."""

from fakeclient import FakeClient
from waits import until

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.sensor import Sensor
from thing.chat import Chat
from thing.uptime import Uptime
from xmlstream.element import Element
from xmpp import stanza as st

OWNER = "owner@example.org/phone"
NS_COMMANDS = "http://jabber.org/protocol/commands"
FIELDS = (
    ("Temperature", "numeric", "°C", "momentary"),
    ("RSSI", "numeric", "dBm", "status"),
    ("Chip", "string", "", "identity"),
)


class ChatThing:
    """Node `t1` (the three FIELDS; left out with thermometer=False) and node `wifi`."""

    def __init__(self, thermometer=True):
        self.client = FakeClient()
        self.clock = Clock(synced=True)
        self.sensor = Sensor(self.client, self.clock)
        self.dev = MemoryDevice(FIELDS, ("21.5", "-60", "SHT40"))
        if thermometer:
            self.sensor.register_node("t1", self.dev)
        self.wifi = MemoryDevice(FIELDS[1:], ("-61", "ESP32"))
        self.sensor.register_node("wifi", self.wifi)
        self.uptime = Uptime()
        self.chat = Chat(self)


def chat(frm, body, thread=None, type_="chat"):
    kids = [Element("body", st.NS_CLIENT, None, None, body)]
    if thread:
        kids.append(Element("thread", st.NS_CLIENT, None, None, thread))
    return Element("message", st.NS_CLIENT, {"from": frm, "type": type_}, kids)


def command(frm, attrs, type_="set", node="read"):
    cmd = Element("command", NS_COMMANDS, dict({"node": node}, **attrs))
    return Element("iq", st.NS_CLIENT, {"type": type_, "id": "c1", "from": frm}, [cmd])


def norm(b):
    return b.replace(b'"', b"'")


def body_of(out):
    return out.split(b"<body>")[1].split(b"</body>")[0].decode()


async def handled(t):
    """Wait until the router's handlers are done: each sends its answer before it ends."""
    await until(lambda: not t.client.router.tasks, what="a handler still runs")


async def send(t, el):
    """Everything `el` is answered with."""
    t.client.router.dispatch(el)
    await handled(t)
    return [norm(x) for x in t.client.take()]


async def ask(t, frm, body, thread=None, type_="chat"):
    return await send(t, chat(frm, body, thread, type_))


async def run(t, el):
    """The one answer to a command."""
    (out,) = await send(t, el)
    return out

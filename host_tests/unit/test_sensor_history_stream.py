# A long history is sent as it is read: what the sensor holds is about one message, and a
# sample added meanwhile does not come out of order.
import gc

from fakeclient import FakeClient
from waits import until

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.history import History
from sensordata.sensor import Sensor
from sensordata.wire import NS
from xmlstream.element import Element, tostring
from xmpp import stanza as st

HEAPSIZE = "320k"  # a history of the largest size the config allows, and the sensor


TH = (
    ("Temperature", "numeric", "\u00b0C", "momentary"),
    ("Humidity", "numeric", "%", "momentary"),
    ("Chip", "string", "", "identity"),
)


class _Wire(FakeClient):
    """Keeps only the size and the head of each stanza sent: a long readout costs the test
    no heap, so what the sensor itself holds is what is measured."""

    def __init__(self):
        super().__init__(allow=("owner@example.org",))
        self.sizes = []
        self.last = b""
        self.held = 0  # the most heap in use at a send, after a collection

    def _keep(self, el):
        gc.collect()
        self.held = max(self.held, gc.mem_alloc())
        b = tostring(el)
        self.sizes.append(len(b))
        self.last = b[:200] + b[-40:]

    def send(self, el):
        self._keep(el)
        return True

    async def send_wait(self, el):
        self._keep(el)


async def test_a_long_history_is_sent_under_the_budget_without_holding_it_all_serialized():
    # sensor.history may be 1024 (thing/config.py): 1024 samples of two fields are ~280 KB
    # of XML, far more than a board's heap; the readout must stream them, message by message.
    c = _Wire()
    s = Sensor(c, Clock(synced=True), sessions=2, history=1024, sample_s=60)
    s.register_node("sht4x-44", MemoryDevice(TH, ("21.53", "45.2", "SHT40")), comm_timeout=200)
    t0 = int(s.clock.now()) - 1024 * 60
    h = s.node("sht4x-44").history
    for k in range(1024):
        h.add(t0 + 60 * k, ("2%d.25" % (k % 10), "40.5", None))
    gc.collect()
    before = gc.mem_alloc()
    req = Element("req", NS, {"seqnr": "1", "historical": "true"})
    c.router.dispatch(
        Element(
            "iq", st.NS_CLIENT, {"type": "get", "id": "q1", "from": "owner@example.org/p"}, [req]
        )
    )
    await until(lambda: not s.table.in_use(), what="the readout did not end")
    last = c.last.replace(b'"', b"'")
    assert b"<fields" in last and b"done='true'" in last, last
    assert sum(c.sizes) > 200_000 and max(c.sizes) < 2048, (sum(c.sizes), max(c.sizes))
    # What the readout holds is about one message, not the whole history as XML.
    assert c.held - before < 32_768, c.held - before


def test_history_read_while_samples_are_added_stays_oldest_first():
    # The sensor sends history as it reads it; the sampler may add between two messages.
    h = History(4, (("T", "numeric", "C", "momentary"),))
    for t in (1, 2, 3, 4):
        h.add(t, ("%d.0" % t,))
    got = []
    for t, _ in h.between():
        got.append(t)
        if t == 1:
            h.add(5, ("5.0",))  # reuses the slot of 1 (read)
            h.add(6, ("6.0",))  # reuses the slot of 2 (not read yet)
    assert got == [1, 3, 4], got

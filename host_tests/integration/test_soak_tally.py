"""The soak's tally over a real slixmpp requester: a device that answers a request twice is
caught, though slixmpp's XEP-0323 plugin drops the second answer (KeyError in its handler)
and its callback fires once."""

from sdrequester import SDRequester
from slixmpp.xmlstream import ET
from soak import _tally, request, wait_all

NS = "urn:xmpp:iot:sensordata"


def answer_twice(device):
    """A stand-in device: `accepted`, then the same final `fields` twice."""
    x = device.xmpp

    def on_stanza(stanza):
        req = stanza.xml.find("{%s}req" % NS)
        if stanza.name == "iq" and stanza["type"] == "get" and req is not None:
            seqnr = req.get("seqnr")
            iq = x.make_iq_result(stanza["id"], ito=stanza["from"])
            iq.append(ET.Element("{%s}accepted" % NS, seqnr=seqnr))
            iq.send()
            for _ in range(2):
                msg = x.Message()
                msg["to"] = stanza["from"]
                msg.append(ET.Element("{%s}fields" % NS, seqnr=seqnr, done="true"))
                msg.send()
        return stanza

    x.add_filter("in", on_stanza)


def test_a_request_answered_twice_is_reported_twice(prosody, clients):
    device = clients.connect(prosody, "sensor", resource="sensor")
    answer_twice(device)
    requester = SDRequester(clients, prosody, "requester")
    reqs = []
    for _ in range(3):
        request(requester, device.jid, reqs)
    wait_all(clients, reqs, 10)
    requester.settle(0.5)  # the second answers
    t = _tally(reqs)
    assert t["done"] == 3
    assert t["twice"] == [r.seqnr for r in reqs]

"""slixmpp's XEP-0323 requester, driven synchronously (tests, demo, benchmarks).

r = SDRequester(clients, server, "requester")
seqnr = r.request(device_full_jid, nodeIds=["bme280-76"], flags={"momentary": "true"})
results = r.wait(seqnr)   # [(result, info dict), ...] up to the final one
"""

import asyncio
import time

FINAL = ("done", "rejected", "failure", "cancelled")
_NS = "{urn:xmpp:iot:sensordata}"


def final_seqnrs(xml):
    """The seqnr of every final answer an incoming stanza (an ElementTree element) carries.

    Read from the XML, because slixmpp's plugin forgets a request at its first final answer:
    a second one raises KeyError in its handler and never reaches the callback."""
    kind, kids = xml.tag.rpartition("}")[2], xml.findall
    if kind == "message":
        finals = [e for e in kids(_NS + "fields") if e.get("done") in ("true", "1")]
        finals += kids(_NS + "failure")
    elif kind == "iq" and xml.get("type") == "error":
        finals = kids(_NS + "rejected")
    elif kind == "iq" and xml.get("type") == "result":
        finals = kids(_NS + "cancelled")
    else:
        finals = []
    return [e.get("seqnr") for e in finals]


class SDRequester:
    def __init__(self, clients, server, user="requester", **kwargs):
        self.client = clients.connect(
            server,
            user,
            plugins=("xep_0030", "xep_0199", "xep_0323"),
            plugin_config={"xep_0323": {"threaded": False}},
            **kwargs,
        )
        self.plugin = self.client.xmpp.plugin["xep_0323"]
        self.results = {}
        self.times = {}
        self.finals_seen = {}  # seqnr -> final answers received, whatever slixmpp made of them
        self.client.xmpp.add_filter("in", self._count_finals)

    @property
    def jid(self):
        return self.client.jid

    def _count_finals(self, stanza):
        for seqnr in final_seqnrs(stanza.xml):
            # Only requests this requester made: after a reconnection a stale answer to the
            # same full JID may name a seqnr the new plugin has not issued yet.
            if seqnr in self.results:
                self.finals_seen[seqnr] = self.finals_seen.get(seqnr, 0) + 1
        return stanza

    def _callback(self, seqnr_box):
        def cb(from_jid, result, nodeId=None, timestamp=None, fields=None, error_msg=None):
            info = {
                "from": str(from_jid),
                "node": nodeId,
                "timestamp": timestamp,
                "fields": fields,
                "error": error_msg,
            }
            self.results.setdefault(seqnr_box[0], []).append((result, info))
            if result in FINAL:
                self.times[seqnr_box[0]] = time.perf_counter()

        return cb

    def request(self, to, nodeIds=None, fields=None, flags=None):
        box = [None]
        seqnr = self.plugin.request_data(
            self.client.jid, to, self._callback(box), nodeIds=nodeIds, fields=fields, flags=flags
        )
        box[0] = seqnr
        self.results.setdefault(seqnr, [])
        return seqnr

    def cancel(self, seqnr):
        self.plugin.cancel_request(seqnr)

    def finished(self, seqnr):
        return any(r in FINAL for r, _ in self.results.get(seqnr, ()))

    def wait(self, seqnr, timeout=30.0, until=FINAL):
        """Run the loop until `seqnr` has a result in `until`; all its results so far.

        The timeout only guards against a hang: a loaded host's board may take its time."""

        async def poll():
            while not any(r in until for r, _ in self.results.get(seqnr, ())):
                await asyncio.sleep(0.002)

        try:
            self.client.run(poll(), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            raise AssertionError(
                "seqnr %s: no %s within %.0f s; got %r"
                % (seqnr, until, timeout, self.results.get(seqnr))
            ) from None
        return self.results[seqnr]

    def settle(self, seconds):
        """Let the loop run (deliver late stanzas) for a while."""
        self.client.run(asyncio.sleep(seconds), seconds + 1)


def fields_of(results):
    """{(node, field name): value} over every 'fields' result."""
    out = {}
    for result, info in results:
        if result == "fields":
            for f in info["fields"]:
                out[(info["node"], f["name"])] = f
    return out

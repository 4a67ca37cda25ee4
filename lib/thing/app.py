"""The application a board runs: XMPP client + XEP-0323 sensor + chat, for a board's nodes.

The same code runs on an ESP32 (from firmware/main.py, after WiFi and NTP) and on the host
(firmware/host.py, through tools/run-host); only the node list and the CA bytes differ.
"""

from sensordata.clock import Clock
from sensordata.sensor import Sensor
from thing.uptime import Uptime
from xmpp.client import Client
from xmpp.log import Log

VERSION = "0.1.0"
_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


class Thing:
    """Everything one board runs, wired together; several can live in one process."""

    def __init__(self, cfg, nodes, ca_der, clock=None, log=None):
        x = cfg["xmpp"]
        s = cfg.get("sensor") or {}
        self.uptime = Uptime()
        self.log = log or Log(x["jid"].split("@")[0], _LEVELS.get(cfg.get("log", "info"), 20))
        self.clock = clock or Clock()
        self.client = Client(
            x, ca_der, self.log, cfg.get("name") or "xmpp-sensor", VERSION, cfg.get("allow", ())
        )
        self.sensor = Sensor(
            self.client,
            self.clock,
            s.get("sessions", 4),
            s.get("history", 8),
            s.get("sample_s", 60),
            s.get("fields_budget", 1536),  # config.check knows this default too
        )
        comm = s.get("comm_timeout_ms", 2000)
        for node_id, device in nodes:
            self.sensor.register_node(node_id, device, comm)
        self._requests = s.get("requests", 2)
        self._requester = None
        self.chat = None  # the chat commands; None on a build without thing/chat.py
        try:
            from thing import chat  # optional on very small builds
        except ImportError:
            chat = None
        if chat is not None:
            self.chat = chat.Chat(self)

    @property
    def requester(self):
        """The requester role (reading other things), made on first use: a board that only
        answers never loads its code (5 KB of a 32-bit heap from .mpy files)."""
        r = self._requester
        if r is None:
            from sensordata.requester import Requester

            r = self._requester = Requester(self.client, self._requests)
        return r

    async def run(self):
        self.sensor.start_sampling()
        self.uptime.start()
        try:
            await self.client.run()
        finally:
            self.uptime.stop()
            self.sensor.stop()

    def stop(self):
        self.client.stop()


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


async def main(cfg, nodes, ca_der):
    thing = Thing(cfg, nodes, ca_der)
    await thing.run()
    return thing

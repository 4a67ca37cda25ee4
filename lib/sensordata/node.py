"""One registered node: its device, its readout timeout, its history, one readout at a time.

Concurrent requests for the same node share the readout under way, and a readout younger
than 250 ms is shared instead of repeated: four requesters asking at once cost one trip.
A part that fails or times out fails this node only; the caller gets the reason as text.
"""

import asyncio
import time

from micropython import const

from sensordata.history import History
from xmlstream.element import escape_attr
from xmpp.ticks import since

_COALESCE_MS = const(250)
# A readout's result until it has one: what the callers get if even its failure cannot be told.
_UNKNOWN = (None, None, "Internal error")


class Node:
    def __init__(self, node_id, device, comm_timeout, clock, log, history=0):
        self.id = node_id
        self.device = device
        self.fields = device.FIELDS
        # Whether neither the node id nor any field's name, unit or data type needs escaping:
        # then a readout writes them as declared (escaping '°C' alone took ~4% of a
        # readout's instructions).
        self.plain = _plain(node_id, self.fields)
        # A part may need longer than the configured timeout even when it works (an SCD4x
        # waits up to an interval for its first sample): it says so in read_ms.
        self.comm_timeout = max(comm_timeout, getattr(device, "read_ms", 0))
        self.clock = clock
        self.log = log
        self._inflight = None  # [Event, result] of the readout under way
        self.last = None  # (ticks, unix time, values) of the last good readout
        self.history = History(history, self.fields) if history else None

    def has_field(self, name):
        for f in self.fields:
            if f[0] == name:
                return True
        return False

    async def read(self):
        """(values, unix time, error text or None): one readout, shared if very recent.

        The device is read in a task of its own that every caller waits for: a caller that
        is cancelled (its request cancelled, its requester gone) leaves the readout running,
        so a part is never abandoned mid-conversion and then sent a command while busy.
        """
        last = self.last
        # since(): a readout over 6.2 days old (on an ESP32) is old, though ticks wrapped.
        if last is not None and since(time.ticks_ms(), last[0]) < _COALESCE_MS:
            return last[2], last[1], None
        slot = self._inflight
        if slot is None:
            slot = [asyncio.Event(), _UNKNOWN]
            asyncio.create_task(self._readout(slot))
            self._inflight = slot  # only once the task exists: nothing else would ever end it
        await slot[0].wait()
        return slot[1]

    async def _readout(self, slot):
        now = None
        try:
            # Inside the try: on an ESP32 the Unix time is an int on the heap, so may fail too.
            synced = self.clock.synced
            now = self.clock.now()
            try:
                values = await asyncio.wait_for_ms(self.device.read(), self.comm_timeout)
            finally:
                if not synced:
                    # Its time was false (1970, or 2000 on an ESP32); NTP may have answered
                    # since, and a request that waited for this readout would send that time
                    # as real, with the readings or in its <failure> (no time if this fails).
                    now = None
                    now = self.clock.now()
        except asyncio.TimeoutError:
            self.log.warn("node %s: no answer within %d ms" % (self.id, self.comm_timeout))
            slot[1] = None, now, "Timeout: no answer within %d ms" % self.comm_timeout
        except Exception as e:  # noqa: BLE001 - a failing part fails its node only
            self.log.warn("node %s: readout failed: %r" % (self.id, e))
            slot[1] = None, now, "Readout failed: %s" % (e,)
        else:
            if self.clock.synced:  # not shared later with a false time
                self.last = (time.ticks_ms(), now, values)
            slot[1] = values, now, None
        finally:
            self._inflight = None
            slot[0].set()


def _plain(node_id, fields):
    # escape_attr returns the very str it was given when nothing needs escaping.
    try:
        if escape_attr(node_id) is not node_id:
            return False
        return all(not x or escape_attr(x) is x for f in fields for x in f[:1] + f[2:3] + f[4:])
    except Exception:  # noqa: BLE001 - e.g. a unit that is no str: left to the readout to fail
        return False

"""A slixmpp 1.17 XEP-0323 sensor: the reference implementation, as a peer and a baseline.

Registered with {'threaded': False}: with threads, its replies can stall until another
stanza wakes its loop (see the field notes). One node, "Device22", two momentary fields.
"""

from slixmpp.plugins.xep_0323.device import Device

NODE = "Device22"


def make_device(temperature="23.4", humidity="41.5"):
    d = Device(NODE)
    d._add_field(name="Temperature", typename="numeric", unit="C")
    d._add_field(name="Humidity", typename="numeric", unit="%")
    d._set_momentary_timestamp(d._get_timestamp())
    d._add_field_momentary_data("Temperature", temperature, flags={"automaticReadout": "true"})
    d._add_field_momentary_data("Humidity", humidity, flags={"automaticReadout": "true"})
    return d


class FailingDevice(Device):
    """A node whose part does not answer: slixmpp reports it with a <failure> and, while
    other nodes of the request are still being read, without done='true'."""

    def request_fields(self, fields, flags, session, callback):
        callback(
            session,
            result="error",
            nodeId=self.nodeId,
            timestamp_block=None,
            error_msg="No answer",
        )
        return True


def start(clients, server, user="slixsensor", failing=None):
    """A logged-in slixmpp client serving NODE (and a FailingDevice named `failing`);
    returns the localxmpp Client."""
    c = clients.connect(
        server,
        user,
        resource="sensor",
        plugins=("xep_0030", "xep_0199", "xep_0323"),
        plugin_config={"xep_0323": {"threaded": False}},
    )
    plugin = c.xmpp.plugin["xep_0323"]
    if failing:
        plugin.register_node(failing, FailingDevice(failing), commTimeout=5)
    plugin.register_node(NODE, make_device(), commTimeout=5)
    return c

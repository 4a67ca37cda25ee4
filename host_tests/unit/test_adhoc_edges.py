# The XEP-0050 "read" command at its edges: who may see and run it, and session ids.

from chattest import NS_COMMANDS, OWNER, ChatThing, command, run

from sensordata.device import MemoryDevice
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "256k"  # chat, ad-hoc, the sensor and the XML layer, compiled from source

EVE = "eve@evil.example/x"


def _sid(out):
    return out.split(b"sessionid='")[1].split(b"'")[0].decode()


async def test_a_stranger_cannot_run_the_command():
    t = ChatThing()
    out = await run(t, command(EVE, {"action": "execute"}))
    assert b"type='error'" in out and b"<forbidden" in out
    assert b"21.5" not in out and t.dev.reads == 0


async def test_a_stranger_sees_no_commands_in_the_list():
    t = ChatThing()
    q = Element("query", st.NS_DISCO_ITEMS, {"node": NS_COMMANDS})
    get = Element("iq", st.NS_CLIENT, {"type": "get", "id": "d1", "from": EVE}, [q])
    out = await run(t, get)
    assert b"type='result'" in out and b"<item" not in out
    get.attrs["from"] = OWNER
    out = await run(t, get)
    assert b"node='read'" in out


async def test_a_command_get_or_another_node_is_refused():
    t = ChatThing()
    out = await run(t, command(OWNER, {}, type_="get"))
    assert b"type='error'" in out and b"<bad-request" in out
    out = await run(t, command(OWNER, {}, node="reboot"))
    assert b"type='error'" in out and b"<item-not-found" in out


async def test_complete_runs_the_command_and_cancel_without_a_session_is_a_bad_action():
    t = ChatThing()
    out = await run(t, command(OWNER, {"action": "complete"}))
    assert b"status='completed'" in out and b"var='t1/Temperature'" in out
    out = await run(t, command(OWNER, {"action": "cancel"}))
    assert b"<bad-request" in out and b"<bad-action" in out


async def test_only_the_exact_form_of_an_issued_session_id_is_recognised():
    t = ChatThing()
    sid = _sid(await run(t, command(OWNER, {})))
    prefix = sid.split("-")[0]
    other = "%08x" % ((int(prefix, 16) + 1) & 0xFFFFFFFF)
    bogus = (
        prefix + "x1",  # no '-' after the prefix
        prefix + "-0",  # never issued: counts start at 1
        prefix + "-2",  # not issued yet
        prefix + "-" + "0" * 10 + "1",  # 11 digits: one more than any count of ours has
        prefix + "-+1",
        prefix + "- 1",
        prefix + "-x",
        other + "-1",  # another run's
    )
    for s in bogus:
        out = await run(t, command(OWNER, {"sessionid": s}))
        assert b"<bad-sessionid" in out, (s, out)
    out = await run(t, command(OWNER, {"sessionid": sid}))
    assert b"<session-expired" in out


async def test_the_form_leaves_out_missing_values_and_writes_booleans_as_xs_boolean():
    t = ChatThing()
    f = (("Open", "boolean", "", "momentary"), ("Lux", "numeric", "lx", "momentary"))
    t.sensor.register_node("door", MemoryDevice(f, (True, None)))
    out = await run(t, command(OWNER, {}))
    assert b"var='door/Open'" in out, out
    assert b"<value>true</value>" in out, out
    assert b"door/Lux" not in out, out


async def test_a_strangers_command_is_refused_with_a_log_line():
    t = ChatThing()
    await run(t, command(EVE, {"action": "execute"}))
    assert any("refused" in line and EVE in line for line in t.client.log.lines), (
        t.client.log.lines
    )


async def test_the_command_node_answers_disco_items_as_it_answers_disco_info():
    # XEP-0030 §4.1: a node that exists but has no items is an empty list, not item-not-found.
    t = ChatThing()

    def items(frm):
        q = Element("query", st.NS_DISCO_ITEMS, {"node": "read"})
        return Element("iq", st.NS_CLIENT, {"type": "get", "id": "d1", "from": frm}, [q])

    out = await run(t, items(OWNER))
    assert b"type='result'" in out and b"node='read'" in out and b"<item " not in out, out
    out = await run(t, items(EVE))
    assert b"<forbidden" in out, out

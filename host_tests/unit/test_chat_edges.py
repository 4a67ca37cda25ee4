# Chat commands at their edges: what is ignored, how commands are read, the reply limits.

from chattest import OWNER, ChatThing, ask, body_of, chat, send
from esp32ticks import install
from waits import until

from thing import chat as chat_module
from thing import uptime as uptime_module
from thing.chat import format_value
from xmlstream.element import Element

HEAPSIZE = "256k"  # chat, ad-hoc, the sensor and the XML layer, compiled from source


async def test_a_message_delivered_late_from_offline_storage_is_not_answered():
    t = ChatThing()
    msg = chat(OWNER, "read")
    msg.children.append(Element("delay", "urn:xmpp:delay", {"stamp": "2026-11-23T21:02:03Z"}))
    assert await send(t, msg) == []
    assert await send(t, chat("eve@evil.example/x", "read")) != []  # refusals still go out
    msg = chat("mallory@evil.example/x", "read")
    msg.children.append(Element("delay", "urn:xmpp:delay", {"stamp": "2026-11-23T21:02:03Z"}))
    assert await send(t, msg) == []


async def test_a_blank_body_is_ignored_quietly():
    t = ChatThing()
    for body in ("", "   ", "\n\t"):
        assert await ask(t, OWNER, body) == []
    assert not any(line.startswith("E ") for line in t.client.log.lines), t.client.log.lines


async def test_commands_and_field_names_are_read_in_any_case():
    t = ChatThing()
    (out,) = await ask(t, OWNER, "HELP")
    assert "Commands:" in body_of(out)
    (out,) = await ask(t, OWNER, "Read wifi rssi")
    assert body_of(out) == "wifi: RSSI -61 dBm", body_of(out)


async def test_a_reply_that_quotes_the_board_runs_the_command_below_the_quote():
    # Conversations' and Gajim's "reply" quotes the message answered (XEP-0393 block quote,
    # XEP-0461's fallback body): the command is what follows the quote.
    t = ChatThing()
    quoted = "> Example: read bme280-76 Temperature\n>> older\n\nread wifi RSSI"
    (out,) = await ask(t, OWNER, quoted)
    assert body_of(out) == "wifi: RSSI -61 dBm", body_of(out)
    assert await ask(t, OWNER, "> only a quote\n>\n") == []  # nothing below: nothing asked
    (out,) = await ask(t, OWNER, ">" * 4000 + "\nnodes")  # one long quoted line
    assert "wifi" in body_of(out), body_of(out)


async def test_of_several_bodies_the_one_in_the_messages_own_language_is_read():
    # RFC 6121 §5.2.3: a body without xml:lang is in the stanza's language, the primary one;
    # the others are translations.
    t = ChatThing()
    msg = chat(OWNER, "hilfe")
    msg.attrs["xml:lang"] = "en"
    msg.children[0].attrs = {"xml:lang": "de"}
    msg.children.append(Element("body", "jabber:client", None, None, "read wifi RSSI"))
    (out,) = await send(t, msg)
    assert body_of(out) == "wifi: RSSI -61 dBm", body_of(out)


async def test_only_the_start_of_a_long_body_is_read():
    t = ChatThing()
    (out,) = await ask(t, OWNER, "read" + " " * 250 + "wifi")
    assert body_of(out).startswith("t1: Temperature 21.5"), body_of(out)


async def test_unknown_nodes_and_fields_are_named_in_the_answer():
    t = ChatThing()
    (out,) = await ask(t, OWNER, "read garage")
    assert body_of(out) == "Unknown node 'garage'. Try: nodes", body_of(out)
    (out,) = await ask(t, OWNER, "read t1 Pressure")
    assert body_of(out) == "No field 'Pressure'. Try: nodes", body_of(out)
    # A person's words come back as typed, not as Python escapes of them.
    (out,) = await ask(t, OWNER, "read garçon")
    assert body_of(out) == "Unknown node 'garçon'. Try: nodes", body_of(out)
    (out,) = await ask(t, OWNER, "read t1 Température")
    assert body_of(out) == "No field 'Température'. Try: nodes", body_of(out)
    (out,) = await ask(t, OWNER, "lése")
    assert body_of(out).startswith("Unknown command 'lése'."), body_of(out)


async def test_a_node_that_fails_is_named_with_its_error_in_a_readout():
    t = ChatThing()
    t.dev.fail = OSError(5)
    for text in ("read", "read t1"):
        (out,) = await ask(t, OWNER, text)
        assert body_of(out) == "t1: Readout failed: [Errno 5] EIO", (text, body_of(out))


def test_booleans_read_yes_or_no_and_a_missing_value_is_named():
    f = ("Door", "boolean", "", "momentary")
    assert format_value(f, True) == "Door yes"
    assert format_value(f, False) == "Door no"
    assert format_value(("T", "numeric", "°C", "momentary"), None) == "T missing"


async def test_a_component_gets_no_refusal_even_when_nobody_was_refused_before():
    t = ChatThing()
    assert await ask(t, "example.org", "Welcome to example.org!") == []
    assert await ask(t, "example.org/motd", "read") == []


async def test_the_unknown_command_limit_counts_a_sender_once_whatever_its_resource():
    t = ChatThing()
    assert len(await ask(t, "owner@example.org/a", "hello")) == 1
    assert await ask(t, "owner@example.org/b", "hello") == []


async def test_a_command_clears_only_its_senders_unknown_command_limit():
    t = ChatThing()
    t.client.roster.allow = set(("owner@example.org", "bot@example.org"))
    assert len(await ask(t, "bot@example.org/x", "hello")) == 1
    assert len(await ask(t, OWNER, "help")) == 1
    assert await ask(t, "bot@example.org/x", "hello again") == []


async def test_the_unknown_command_answer_comes_again_after_a_minute():
    ticks = install(chat_module, uptime_module)
    t = ChatThing()
    assert len(await ask(t, OWNER, "hello")) == 1
    ticks.advance(59_999)
    assert await ask(t, OWNER, "hello") == []
    ticks.advance(1)
    assert len(await ask(t, OWNER, "hello")) == 1


async def test_a_stranger_is_refused_again_after_five_minutes_not_before():
    ticks = install(chat_module, uptime_module)
    t = ChatThing()
    eve = "eve@evil.example/x"
    assert len(await ask(t, eve, "read")) == 1
    ticks.advance(120_000)
    assert await ask(t, eve, "read") == []
    ticks.advance(179_999)
    assert await ask(t, eve, "read") == []
    ticks.advance(1)
    assert len(await ask(t, eve, "read")) == 1


async def test_a_message_from_the_boards_own_account_is_not_answered():
    # Fuzz (thing cases): the board refused itself, and another board sharing its account:
    # two of them would refuse each other every five minutes for as long as they run.
    t = ChatThing()
    for frm in ("dev@example.org/sensor", "dev@example.org/other", "Dev@Example.org"):
        assert await ask(t, frm, "read") == [], frm
        assert await ask(t, frm, "Sorry, you are not allowed to read this device.") == [], frm


async def test_an_unknown_node_or_field_is_echoed_40_characters_at_most():
    t = ChatThing()
    (out,) = await ask(t, OWNER, "read " + "n" * 60)
    assert body_of(out) == "Unknown node %r. Try: nodes" % ("n" * 40), body_of(out)
    (out,) = await ask(t, OWNER, "read t1 " + "f" * 60)
    assert body_of(out) == "No field %r. Try: nodes" % ("f" * 40), body_of(out)


async def test_a_long_thread_is_not_echoed_so_the_answer_still_fits_the_output():
    # Escaped, 3900 '>' are 15.6 KB: the answer would not fit the output buffer and be lost.
    t = ChatThing()
    (out,) = await ask(t, OWNER, "help", ">" * 3900)
    assert b"<thread>" not in out and b"Commands:" in out
    (out,) = await ask(t, OWNER, "help", "t" * 128)  # a thread of usual length still is
    assert b"<thread>" + b"t" * 128 + b"</thread>" in out


async def test_a_read_while_every_place_is_taken_is_answered_busy_and_quick_commands_still_run():
    t = ChatThing()
    t.dev.delay_ms = 300
    r = t.client.router
    for _ in range(4):
        r.dispatch(chat(OWNER, "read"))
    assert r.tasks == 4
    r.dispatch(chat(OWNER, "read"))
    r.dispatch(chat(OWNER, "nodes"))
    early = [body_of(x) for x in t.client.take()]
    assert len(early) == 2 and early[0].startswith("Busy"), early
    assert early[1].startswith("t1: "), early
    assert any("busy" in line for line in t.client.log.lines), t.client.log.lines
    await until(lambda: not r.tasks, what="the reads did not end")
    assert len(t.client.take()) == 4

# Chat commands and the XEP-0050 command, driven through a real Router, Roster and Sensor.

from chattest import (
    NS_COMMANDS,
    OWNER,
    ChatThing,
    ask,
    body_of,
    chat,
    command,
    handled,
    run,
)
from esp32ticks import DAY_MS, install

from thing import chat as chat_module
from thing import uptime as uptime_module
from xmlstream.element import Element
from xmpp import stanza as st

HEAPSIZE = "256k"  # chat, ad-hoc, the sensor and the XML layer, compiled from source


async def test_read_of_one_node_gives_all_its_fields_and_the_summary_only_measurements():
    t = ChatThing()
    (one,) = await ask(t, OWNER, "read wifi")
    assert b"RSSI -61 dBm" in one and b"Chip ESP32" in one
    (all_,) = await ask(t, OWNER, "read")
    assert b"t1: Temperature 21.5" in all_ and b"RSSI" not in all_


async def test_a_reply_keeps_the_thread():
    t = ChatThing()
    (out,) = await ask(t, OWNER, "help", thread="th1")
    assert b"<thread>th1</thread>" in out


async def test_refusals_are_bounded_for_a_crowd_and_none_go_to_servers():
    t = ChatThing()
    sent = []
    for k in range(10):
        sent += await ask(t, "stranger%d@else.example/x" % (k % 5), "read")
    assert 1 <= len(sent) <= 4
    assert await ask(t, "example.org", "Welcome to example.org!") == []


async def test_refusals_resume_when_the_ticks_of_the_last_ones_are_over_half_a_period_old():
    ticks = install(chat_module, uptime_module)
    t = ChatThing()
    for k in range(4):
        assert len(await ask(t, "stranger%d@else.example/x" % k, "read")) == 1
    ticks.advance(7 * DAY_MS)  # a week later
    (out,) = await ask(t, "newcomer@else.example/x", "read")
    assert b"not allowed" in out


async def test_an_answering_bot_gets_one_unknown_command_answer_not_an_endless_exchange():
    t = ChatThing()
    (first,) = await ask(t, OWNER, "Hello! I am the door bot.")
    assert b"Unknown command" in first
    # The peer answers whatever it is sent (another board, an auto-reply): each answer of
    # ours comes back as a new "command". One answer, then silence, ends the exchange.
    for _ in range(5):
        assert await ask(t, OWNER, "I do not understand: " + body_of(first)) == []
    (known,) = await ask(t, OWNER, "help")
    assert b"Commands:" in known
    (typo,) = await ask(t, OWNER, "raed")  # a known command in between: a person again
    assert b"Unknown command" in typo


async def test_unknown_command_answers_are_bounded_for_many_senders_too():
    t = ChatThing()
    t.client.roster.allow = set("bot%d@example.org" % k for k in range(8))
    sent = []
    for _ in range(3):
        for k in range(8):
            sent += await ask(t, "bot%d@example.org/x" % k, "Unknown command 'x'")
    assert 1 <= len(sent) <= 4


async def test_a_message_of_unrecognized_type_is_treated_as_normal():
    # RFC 6121 section 5.2.2: a type the application does not understand means "normal".
    t = ChatThing()
    (out,) = await ask(t, OWNER, "help", type_="urgent")
    assert b"type='normal'" in out and b"Commands:" in out


async def test_errors_headlines_and_groupchat_messages_are_never_answered():
    t = ChatThing()
    for type_ in ("error", "headline", "groupchat"):
        assert await ask(t, OWNER, "read", type_=type_) == []
        assert await ask(t, "eve@evil.example/x", "read", type_=type_) == []


async def test_a_readout_with_no_measurement_says_so():
    t = ChatThing(thermometer=False)  # only a node with status and identity fields
    (out,) = await ask(t, OWNER, "read")
    assert b"No field" not in out and b"No measurements" in out


async def test_the_command_reads_and_says_which_nodes_failed():
    t = ChatThing()
    out = await run(t, command(OWNER, {"action": "execute"}))
    assert b"status='completed'" in out and b"var='t1/Temperature'" in out
    assert b"<note" not in out
    t = ChatThing()  # a new readout (reads within 250 ms are shared)
    t.wifi.fail = OSError(5)
    out = await run(t, command(OWNER, {}))
    assert b"<note type='warn'>wifi: " in out and b"var='t1/Temperature'" in out


async def test_a_measurement_the_part_left_out_is_named_in_a_note_as_chat_names_it():
    t = ChatThing()
    t.dev.values = (None, "-60", "SHT40")  # read, but no temperature (a part's bad sample)
    out = await run(t, command(OWNER, {}))
    assert b"var='t1/Temperature'" not in out, out
    # Nothing else to show here: an error note (with other fields, a warning).
    assert b"<note type='error'>t1: Temperature missing</note>" in out, out


async def test_a_failed_command_carries_an_error_note():
    t = ChatThing()
    t.dev.fail = t.wifi.fail = OSError(5)
    out = await run(t, command(OWNER, {}))
    assert b"status='completed'" in out and b"<note type='error'>" in out


async def test_ended_sessions_and_actions_a_one_stage_command_lacks_get_their_conditions():
    t = ChatThing()
    sid = (await run(t, command(OWNER, {}))).split(b"sessionid='")[1].split(b"'")[0]
    out = await run(t, command(OWNER, {"sessionid": sid.decode(), "action": "cancel"}))
    assert b"<not-allowed" in out and b"<session-expired xmlns='%s'" % NS_COMMANDS.encode() in out
    out = await run(t, command(OWNER, {"action": "next"}))
    assert b"<bad-request" in out and b"<bad-action" in out
    out = await run(t, command(OWNER, {"action": "bogus"}))
    assert b"<bad-request" in out and b"<malformed-action" in out


async def test_a_session_id_the_board_never_issued_gets_bad_sessionid():
    t = ChatThing()
    out = await run(t, command(OWNER, {}))
    sid = out.split(b"sessionid='")[1].split(b"'")[0].decode()
    out = await run(t, command(OWNER, {"sessionid": sid}))
    assert b"<not-allowed" in out and b"<session-expired" in out
    for bogus in ("made-up", "", sid + "0"):
        out = await run(t, command(OWNER, {"sessionid": bogus}))
        assert (
            b"<bad-request" in out and b"<bad-sessionid xmlns='%s'" % NS_COMMANDS.encode() in out
        )


async def test_session_ids_differ_across_restarts():
    a, b = ChatThing(), ChatThing()
    x = await run(a, command(OWNER, {}))
    y = await run(b, command(OWNER, {}))
    sid = lambda out: out.split(b"sessionid='")[1].split(b"'")[0]  # noqa: E731
    assert sid(x) != sid(y)


def _info(frm, node):
    q = Element("query", st.NS_DISCO_INFO, {"node": node})
    return Element("iq", st.NS_CLIENT, {"type": "get", "id": "d1", "from": frm}, [q])


async def test_command_nodes_in_disco():
    t = ChatThing()
    out = await run(t, _info("eve@evil.example/x", "read"))
    assert b"type='error'" in out and b"<forbidden" in out
    out = await run(t, _info(OWNER, "read"))
    assert b"category='automation'" in out and b"type='command-node'" in out
    out = await run(t, _info(OWNER, NS_COMMANDS))
    assert b"type='command-list'" in out


async def test_the_body_read_is_the_one_in_the_client_namespace():
    t = ChatThing()
    foreign = Element("body", "urn:x", None, None, "read")
    msg = chat(OWNER, "help")
    msg.children.insert(0, foreign)
    t.client.router.dispatch(msg)
    await handled(t)
    (out,) = t.client.take()
    assert b"Commands:" in out


async def test_status_tells_the_uptime_of_a_board_up_for_weeks():
    ticks = install(chat_module, uptime_module, now=1_000)
    t = ChatThing()
    t.client.connects = 1
    for _ in range(20 * 24):  # 20 days, the uptime read once an hour as Thing.run() does
        ticks.advance(3_600_000)
        t.uptime.seconds()
    ticks.advance(3 * 3_600_000 + 4 * 60_000 + 5_000)
    (out,) = await ask(t, OWNER, "status")
    assert "Uptime: 20d 03:04:05" in body_of(out), body_of(out)


async def test_a_command_that_fails_on_the_board_still_gets_an_answer():
    t = ChatThing()

    def broken():
        raise MemoryError

    t.chat.status_text = broken  # as when the heap has no room for the status text
    (out,) = await ask(t, OWNER, "status")
    assert "status failed on the board (MemoryError)" in body_of(out)
    (again,) = await ask(t, OWNER, "nodes")  # the next command is answered as usual
    assert "t1" in body_of(again)


async def test_status_tells_the_last_problem_logged():
    t = ChatThing()
    t.client.connects = 1
    (out,) = await ask(t, OWNER, "status")
    assert "Last problem" not in body_of(out)
    t.client.log.warn("roster not loaded; only the allow list is authorized")
    t.client.log.info("online")
    (out,) = await ask(t, OWNER, "status")
    assert "Last problem logged: W roster not loaded" in body_of(out), body_of(out)


async def test_status_tells_how_many_requests_a_full_table_refused():
    t = ChatThing()
    t.client.connects = 1
    (out,) = await ask(t, OWNER, "status")
    assert "Sessions: 0 of 4 in use\n" in body_of(out) + "\n", body_of(out)
    t.sensor.table.rejected_full = 5
    (out,) = await ask(t, OWNER, "status")
    assert "Sessions: 0 of 4 in use (5 refused, the table full)" in body_of(out), body_of(out)


async def test_the_command_form_has_the_measurements_only():
    t = ChatThing()
    out = await run(t, command(OWNER, {}))
    assert b"var='t1/Temperature'" in out
    assert b"RSSI" not in out and b"Chip" not in out

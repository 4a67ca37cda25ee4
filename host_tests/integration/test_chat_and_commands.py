"""Reading a board from an ordinary XMPP client: chat commands and the XEP-0050 command."""

import asyncio
import time

import pytest
from hostboard import board_config
from slixmpp.exceptions import IqError

ONLINE = r"online as (\S+)"


@pytest.fixture
def online(prosody, board):
    cfg = board_config(prosody, allow=("requester",))
    cfg["sim"] = {"bme280-76": {"temperature": 19.25, "humidity": 40.0, "pressure": 1001.5}}
    fw = board(cfg)
    return fw, fw.wait_log(ONLINE).group(1)


def _ask(client, to, text, timeout=30):
    client.send_message(to, text)
    return client.wait_message(lambda m: m["body"] and m["from"] == to, timeout)["body"]


def test_help_lists_the_commands(prosody, clients, online):
    fw, me = online
    phone = clients.connect(prosody, "requester", resource="phone")
    answer = _ask(phone, me, "help")
    for cmd in ("nodes", "read", "status"):
        assert cmd in answer


def test_read_answers_with_the_measurements_in_plain_text(prosody, clients, online):
    fw, me = online
    phone = clients.connect(prosody, "requester", resource="phone")
    answer = _ask(phone, me, "read")
    assert "bme280-76: Temperature 19.25 °C" in answer
    assert "sht4x-44:" in answer and "bh1750-23:" in answer


def test_read_one_node_and_one_field(prosody, clients, online):
    fw, me = online
    phone = clients.connect(prosody, "requester", resource="phone")
    assert _ask(phone, me, "read bme280-76 Pressure") == "bme280-76: Pressure 1001.50 hPa"
    assert "Unknown node" in _ask(phone, me, "read nope")


def test_nodes_and_status(prosody, clients, online):
    fw, me = online
    phone = clients.connect(prosody, "requester", resource="phone")
    nodes = _ask(phone, me, "nodes")
    assert "bme280-76: Temperature, Humidity, Pressure" in nodes
    status = _ask(phone, me, "status")
    for line in ("Uptime:", "Heap free:", "Clock: synchronized", "Sessions: 0 of 4"):
        assert line in status


def test_a_stranger_gets_one_polite_refusal_and_no_data(prosody, clients, online):
    fw, me = online
    prosody.register("stranger", "stranger-secret")
    eve = clients.connect(prosody, "stranger")
    answer = _ask(eve, me, "read")
    assert "not allowed" in answer and "Temperature" not in answer
    eve.send_message(me, "read")
    with pytest.raises((TimeoutError, AssertionError)):
        eve.wait_message(lambda m: m["body"], timeout=1.0)


def test_chat_states_and_delayed_commands_are_ignored(prosody, clients, online):
    fw, me = online
    phone = clients.connect(
        prosody, "requester", resource="phone", plugins=("xep_0030", "xep_0085")
    )
    msg = phone.xmpp.make_message(mto=me, mtype="chat")
    msg["chat_state"] = "composing"
    msg.send()
    old = phone.xmpp.make_message(mto=me, mbody="read", mtype="chat")
    delay = old.xml.makeelement("{urn:xmpp:delay}delay", {"stamp": "2020-01-01T00:00:00Z"})
    old.xml.append(delay)
    old.send()
    assert _ask(phone, me, "help")  # the first answer is to this, not to the two before
    with pytest.raises((TimeoutError, AssertionError)):
        phone.wait_message(lambda m: m["body"], timeout=1.0)


def test_the_read_command_is_listed_and_returns_a_completed_form(prosody, clients, online):
    fw, me = online
    phone = clients.connect(
        prosody, "requester", resource="phone", plugins=("xep_0030", "xep_0004", "xep_0050")
    )
    items = phone.run(phone.xmpp.plugin["xep_0050"].get_commands(jid=me, timeout=30), 31)
    nodes = [i[1] for i in items["disco_items"]["items"]]
    assert nodes == ["read"]
    info = phone.run(phone.xmpp.plugin["xep_0030"].get_info(jid=me, timeout=30), 31)
    assert "http://jabber.org/protocol/commands" in info["disco_info"]["features"]
    iq = phone.xmpp.make_iq_set(ito=me)
    iq["command"]["node"] = "read"
    iq["command"]["action"] = "execute"
    result = phone.send_iq(iq)
    assert result["command"]["status"] == "completed"
    form = result["command"]["form"]
    fields = {f["var"]: f for f in form["fields"]}
    assert fields["bme280-76/Temperature"]["value"] == "19.25"
    assert fields["bme280-76/Temperature"]["label"] == "bme280-76 Temperature (°C)"
    assert form["type"] == "result"


def test_strangers_cannot_run_the_command(prosody, clients, online):
    fw, me = online
    prosody.register("stranger", "stranger-secret")
    eve = clients.connect(prosody, "stranger", plugins=("xep_0030", "xep_0004", "xep_0050"))
    iq = eve.xmpp.make_iq_set(ito=me)
    iq["command"]["node"] = "read"
    iq["command"]["action"] = "execute"
    with pytest.raises(IqError) as e:
        eve.send_iq(iq)
    assert e.value.condition == "forbidden"


def _answers(client, frm, window_s, first_s=30):
    """The bodies `frm` sends `client` until it has been silent for `window_s` (at most 20).

    The first may take up to `first_s`: a loaded host's board answers late, not never."""
    got = []
    while len(got) < 20:
        try:
            got.append(
                client.wait_message(
                    lambda m: m["body"] and m["from"] == frm, window_s if got else first_s
                )
            )
        except TimeoutError:
            break
    return [m["body"] for m in got]


def test_a_bot_that_answers_everything_gets_one_answer_not_an_endless_exchange(
    prosody, clients, online
):
    fw, me = online
    bot = clients.connect(prosody, "requester", resource="bot")

    def auto_reply(msg):
        if msg["from"] == me and msg["body"]:
            bot.send_message(me, "I did not understand: " + msg["body"][:40])

    bot.xmpp.add_event_handler("message", auto_reply)
    bot.send_message(me, "Good morning!")
    answers = _answers(bot, me, 1.5)
    assert len(answers) == 1 and answers[0].startswith("Unknown command")
    assert "Commands:" in _ask(bot, me, "help")  # known commands are answered as before


def test_a_message_of_unrecognized_type_is_answered_as_normal(prosody, clients, online):
    fw, me = online
    phone = clients.connect(prosody, "requester", resource="phone")
    # Raw: slixmpp drops a type it does not know.
    phone.xmpp.send_raw("<message to='%s' type='urgent'><body>help</body></message>" % me)
    msg = phone.wait_message(lambda m: m["body"] and m["from"] == me, 30)
    assert "Commands:" in msg["body"] and msg["type"] == "normal"


def test_the_boards_presence_carries_caps_that_slixmpp_verifies(prosody, clients, online):
    # XEP-0115: a client that sees the board online learns its features from the hash,
    # ad-hoc commands among them (Conversations offers commands only so); slixmpp keeps a
    # hash only once the disco#info it names hashes to it.
    fw, me = online
    phone = clients.connect(
        prosody, "requester", resource="phone", plugins=("xep_0030", "xep_0115")
    )
    phone.xmpp.send_presence_subscription(pto=me.split("/")[0])
    caps = phone.xmpp.plugin["xep_0115"]
    ver = None
    deadline = time.monotonic() + 30
    while not ver and time.monotonic() < deadline:
        phone.run(asyncio.sleep(0.1), 1)
        ver = phone.run(caps.get_verstring(me), 10)
    assert ver, "no verified caps from the board:\n" + fw.log[-2000:]
    info = phone.run(caps.get_caps(jid=me), 10)
    for feature in ("http://jabber.org/protocol/commands", "urn:xmpp:iot:sensordata"):
        assert feature in info["features"], info

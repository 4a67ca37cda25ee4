"""tools/query.py: argument handling and output offline; then live over a private Prosody
against slixmpp's own XEP-0323 sensor (its sensor role is only a stand-in here: the device
of this project gets its end-to-end test with the host board)."""

import asyncio
import io
import json

import pytest
import query
from localxmpp import Prosody
from localxmpp.client import ClientLoop
from slixmpp.plugins.xep_0323.device import Device
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

ACCOUNTS = {"sensor": "sensor-secret", "requester": "requester-secret", "mute": "mute-secret"}

# -- offline ---------------------------------------------------------------------------------


def args(*argv):
    return query.parse_args(["dev@example.org/sensor", "--jid", "me@example.org", *argv])


def test_a_bare_device_jid_gets_the_sensor_resource():
    assert query.parse_args(["dev@example.org", "--jid", "me@example.org"]).device == (
        "dev@example.org/sensor"
    )


@pytest.mark.parametrize(
    "argv, flags",
    [
        ((), None),
        (("--momentary",), {"momentary": "true"}),
        (("--all",), {"all": "true"}),
        (("--history",), {"historical": "true"}),
        (
            ("--from", "2026-01-01T00:00:00Z"),
            {"historical": "true", "from": "2026-01-01T00:00:00Z"},
        ),
        (
            ("--history", "--to", "2026-01-02T00:00:00Z"),
            {"historical": "true", "to": "2026-01-02T00:00:00Z"},
        ),
    ],
)
def test_readout_kinds_become_request_flags(argv, flags):
    assert query.flags_for(args(*argv)) == flags


def test_conflicting_or_missing_arguments_are_usage_errors(capsys):
    assert query.main(["dev@example.org", "--jid", "me@example.org", "--momentary", "--all"]) == 2
    assert query.main(["dev@example.org", "--jid", "me@example.org", "--all", "--from", "x"]) == 2
    assert query.main(["dev@example.org"]) == 2  # no --jid
    capsys.readouterr()


def test_a_server_port_that_is_no_number_is_a_usage_error(capsys):
    argv = ["dev@example.org", "--jid", "me@example.org", "--password", "pw"]
    assert query.main([*argv, "--server", "localhost:52x22"]) == 2
    assert "--server" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [
        ["--server", "localhost:0"],
        ["--server", "localhost:99999"],
        ["--server", "::1"],
        ["--timeout", "nan"],
        ["--timeout", "-1"],
        ["--jid", "bad jid@"],
    ],
)
def test_what_no_connection_could_use_is_a_usage_error_not_a_traceback(capsys, extra):
    argv = ["dev@example.org", "--jid", "me@example.org", "--password", "pw", *extra]
    assert query.main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_device_jid_slixmpp_cannot_address_is_a_usage_error(capsys):
    for device in ("de v@@x", "dev@example.org/"):
        assert query.main([device, "--jid", "me@example.org", "--password", "pw"]) == 2
        assert "device %s: not a JID" % device in capsys.readouterr().err


def test_a_server_may_be_an_ipv6_address_in_brackets():
    assert args("--server", "[::1]:5223").address == ("::1", 5223)
    assert args("--server", "[::1]").address == ("::1", 5222)


def test_a_history_bound_that_is_no_date_and_time_is_a_usage_error_before_any_login(capsys):
    argv = ["dev@example.org", "--jid", "me@example.org", "--password", "pw"]
    # As the device reads them (its own parser): what it would refuse after a login.
    for bad in (
        "yesterday",
        "2026-11-28",
        "2026-11-28 10:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-28T10:00:00+0100",
        "2026-11-28T10:00:00,5Z",
    ):
        assert query.main([*argv, "--from", bad]) == 2, bad
        assert "--from %s: not a date and time" % bad in capsys.readouterr().err
    assert query.main([*argv, "--to", "noon"]) == 2
    assert "--to noon" in capsys.readouterr().err
    for good in (
        "2026-11-28T10:00:00Z",
        "2026-11-28T10:00:00.5+01:00",
        "2026-11-28T10:00:00",
        "2026-11-28T24:00:00Z",
    ):
        assert args("--from", good, "--to", good).start == good


def test_a_count_without_watch_or_below_one_is_a_usage_error_not_ignored(capsys):
    argv = ["dev@example.org", "--jid", "me@example.org", "--password", "pw"]
    assert query.main([*argv, "--count", "3"]) == 2
    assert query.main([*argv, "--watch", "1", "--count", "0"]) == 2
    assert "--count" in capsys.readouterr().err
    assert args("--watch", "1", "--count", "3").count == 3


def test_no_password_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("QUERY_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert query.main(["dev@example.org", "--jid", "me@example.org"]) == 2
    assert "QUERY_PASSWORD" in capsys.readouterr().err


def test_a_missing_ca_file_is_a_usage_error_not_a_traceback(capsys, tmp_path):
    code = query.main(["dev@example.org", "--jid", "me@example.org", "--password", "pw",
                       "--ca", str(tmp_path / "no such ca.pem")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("query: --ca ") and "no such ca.pem" in err, err


def readout(*events):
    r = query.Readout(asyncio.new_event_loop())
    for kw in events:
        r.callback(**kw)
    return r


FIELDS = {
    "result": "fields",
    "nodeId": "bme280-76",
    "timestamp": "2026-11-23T21:02:03Z",
    "fields": [
        {"name": "Temperature", "typename": "numeric", "value": "21.53", "unit": "°C",
         "flags": {"momentary": "true", "automaticReadout": "true"}},
        {"name": "Chip", "typename": "string", "value": "BME280", "flags": {"identity": "true"}},
        {"name": "Pressure", "typename": "numeric", "value": "1013", "unit": "hPa",
         "flags": {"historicalHour": "true", "automaticReadout": "true"}},
    ],
}  # fmt: skip


def test_table_lines_up_the_fields():
    r = readout({"result": "accepted"}, FIELDS, {"result": "done"})
    assert r.exit_code() == 0
    assert query.table(r).splitlines() == [
        "NODE       TIMESTAMP             FIELD        VALUE   UNIT  TYPE",
        "bme280-76  2026-11-23T21:02:03Z  Temperature  21.53   °C    momentary",
        "bme280-76  2026-11-23T21:02:03Z  Chip         BME280        identity",
        "bme280-76  2026-11-23T21:02:03Z  Pressure     1013    hPa   historicalHour",
    ]


def test_a_failure_keeps_the_data_and_exits_1():
    r = readout(FIELDS, {"result": "failure", "nodeId": "sht4x-44", "error_msg": "No answer"})
    assert r.exit_code() == 1
    assert query.table(r).splitlines()[-1] == "error: node sht4x-44: No answer"


def test_a_rejection_exits_3_and_silence_4():
    assert readout({"result": "rejected", "error_msg": "Access denied"}).exit_code() == 3
    assert readout({"result": "accepted"}).exit_code() == 4


def test_json_output():
    r = readout(FIELDS, {"result": "done"})
    out = io.StringIO()
    query.show(r, args("--json"), out)
    data = json.loads(out.getvalue())
    assert data["result"] == "done" and data["device"] == "dev@example.org/sensor"
    assert data["rows"][0] == {
        "node": "bme280-76",
        "timestamp": "2026-11-23T21:02:03Z",
        "name": "Temperature",
        "type": "numeric",
        "value": "21.53",
        "unit": "°C",
        "flags": ["automaticReadout", "momentary"],
    }


# -- live --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    s = Prosody()
    try:
        s.register_all(ACCOUNTS)
        s.start()
        yield s
    finally:
        s.close()


@pytest.fixture
def sensor(server):
    """slixmpp's sensor on sensor@localhost/dev: node Device22 with two fields."""
    with ClientLoop() as clients:
        c = clients.client(server, "sensor", resource="dev", plugins=("xep_0030", "xep_0323"),
                           plugin_config={"xep_0323": {"threaded": False}})  # fmt: skip
        dev = Device("Device22")
        dev._add_field(name="Temperature", typename="numeric", unit="°C")
        dev._add_field(name="Humidity", typename="numeric", unit="%")
        dev._set_momentary_timestamp("2026-11-23T21:02:03")
        dev._add_field_momentary_data("Temperature", "21.5", flags={"automaticReadout": "true"})
        dev._add_field_momentary_data("Humidity", "40", flags={"automaticReadout": "true"})
        c.xmpp.plugin["xep_0323"].register_node("Device22", dev, commTimeout=0.5)
        c.connect()
        yield clients, c


def live(server, device, *argv, clients):
    """Run query.main in a worker thread while the sensor's loop keeps serving."""
    out = io.StringIO()
    full = [device, "--jid", server.jid("requester"), "--password", ACCOUNTS["requester"],
            "--server", "127.0.0.1:%d" % server.port, "--ca", str(server.ca_pem_path),
            "--timeout", "30", *argv]  # fmt: skip
    code = clients.loop.run_until_complete(asyncio.to_thread(query.main, full, out))
    return code, out.getvalue()


def test_reads_a_sensor_over_verified_tls(server, sensor):
    clients, c = sensor
    # slixmpp's sensor sends current values only when asked for them by flag.
    code, out = live(server, c.jid, "--node", "Device22", "--momentary", clients=clients)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["NODE", "TIMESTAMP", "FIELD", "VALUE", "UNIT", "TYPE"]
    assert any(line.split()[2:5] == ["Temperature", "21.5", "°C"] for line in lines[1:])


def test_json_and_a_field_subset(server, sensor):
    clients, c = sensor
    code, out = live(
        server, c.jid, "--field", "Humidity", "--momentary", "--json", clients=clients
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["result"] == "done"
    assert [(r["node"], r["name"], r["value"]) for r in data["rows"]] == [
        ("Device22", "Humidity", "40")
    ]


def test_a_rejected_request_exits_3(server, sensor):
    clients, c = sensor
    code, out = live(server, c.jid, "--node", "NoSuchNode", clients=clients)
    assert code == 3 and "rejected: Invalid nodeId NoSuchNode" in out


def test_an_offline_device_is_an_error_not_a_wait(server, sensor):
    clients, _ = sensor
    code, out = live(server, server.jid("sensor") + "/elsewhere", clients=clients)
    assert code == 3 and "rejected: " in out  # Prosody's own error reply
    assert "(the device is offline, or has no resource by that name)" in out


def test_a_device_that_never_answers_times_out_with_4(server, sensor):
    clients, _ = sensor
    mute = clients.connect(server, "mute", resource="dev")
    mute.xmpp.register_handler(Callback("swallow", StanzaPath("iq@type=get/req"), lambda iq: None))
    # The login has this time too: a loaded host may take more than a second for it.
    code, out = live(server, mute.jid, "--timeout", "5", clients=clients)
    assert code == 4 and "timeout: no answer within 5 s" in out


def test_every_node_a_failure_names_is_printed(server, sensor):
    # A board answers a readout in which two nodes failed with one <failure done='true'>
    # naming both (lib/sensordata/wire.py); slixmpp's requester reports the first only.
    clients, _ = sensor
    dev = clients.connect(server, "mute", resource="dev")

    def accept_then_fail(iq):
        seqnr, to = iq["req"]["seqnr"], iq["from"].full
        ns = "urn:xmpp:iot:sensordata"
        dev.xmpp.send_raw(
            "<iq type='result' id='%s' to='%s'><accepted xmlns='%s' seqnr='%s'/></iq>"
            % (iq["id"], to, ns, seqnr)
        )
        dev.xmpp.send_raw(
            "<message to='%s'><failure xmlns='%s' seqnr='%s' done='true'>"
            "<error nodeId='bme280-76' timestamp='2026-11-23T21:02:03Z'>Timeout</error>"
            "<error nodeId='sht4x-44' timestamp='2026-11-23T21:02:03Z'>No answer</error>"
            "</failure></message>" % (to, ns, seqnr)
        )

    dev.xmpp.register_handler(Callback("fail", StanzaPath("iq@type=get/req"), accept_then_fail))
    code, out = live(server, dev.jid, clients=clients)
    assert code == 1 and out.splitlines() == [
        "error: node bme280-76: Timeout",
        "error: node sht4x-44: No answer",
    ], out
    code, out = live(server, dev.jid, "--json", clients=clients)
    assert [e["node"] for e in json.loads(out)["errors"]] == ["bme280-76", "sht4x-44"]


def test_the_ca_may_be_the_der_file_a_board_gets(server, sensor):
    clients, c = sensor
    code, out = live(server, c.jid, "--momentary", "--ca", str(server.ca_der_path),
                     clients=clients)  # fmt: skip
    assert code == 0, out


def test_a_wrong_password_exits_5(server, sensor, capsys):
    clients, c = sensor
    full = [c.jid, "--jid", server.jid("requester"), "--password", "wrong",
            "--server", "127.0.0.1:%d" % server.port, "--ca", str(server.ca_pem_path),
            "--timeout", "30"]  # fmt: skip
    code = clients.loop.run_until_complete(asyncio.to_thread(query.main, full, io.StringIO()))
    err = capsys.readouterr().err
    assert code == 5 and err == (
        "query: login as requester@localhost failed: not-authorized (wrong JID or password?)\n"
    )


def test_plain_against_a_server_that_requires_tls_says_so_at_once(server, sensor, capsys):
    clients, c = sensor
    full = [c.jid, "--jid", server.jid("requester"), "--password", ACCOUNTS["requester"],
            "--server", "127.0.0.1:%d" % server.port, "--tls", "plain",
            "--timeout", "30"]  # fmt: skip
    code = clients.loop.run_until_complete(asyncio.to_thread(query.main, full, io.StringIO()))
    err = capsys.readouterr().err
    assert code == 5 and "no session within" not in err, err
    assert "offers no login without TLS" in err, err


def test_a_server_certificate_from_another_ca_is_refused(server, sensor, capsys):
    from localxmpp import CertificateAuthority

    clients, c = sensor
    other = CertificateAuthority.other()
    full = [c.jid, "--jid", server.jid("requester"), "--password", ACCOUNTS["requester"],
            "--server", "127.0.0.1:%d" % server.port, "--ca", str(other.pem_path),
            "--timeout", "30"]  # fmt: skip
    code = clients.loop.run_until_complete(asyncio.to_thread(query.main, full, io.StringIO()))
    err = capsys.readouterr().err
    assert code == 5 and "CERTIFICATE_VERIFY_FAILED" in err
    assert "(--ca: the CA that signed the server's certificate)" in err


def test_watch_repeats_the_readout(server, sensor):
    clients, c = sensor
    code, out = live(server, c.jid, "--momentary", "--json", "--watch", "0.1", "--count", "3",
                     clients=clients)  # fmt: skip
    rounds = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rounds) == 3 and all(r["result"] == "done" for r in rounds)


def test_ctrl_c_ends_a_watch_with_the_last_readouts_status(server, sensor, monkeypatch):
    # --watch runs until interrupted; "the exit status is then the last readout's", and a
    # readout interrupted before any finished is no success.
    clients, c = sensor
    real_show, shown = query.show, []

    def show_then_ctrl_c(readout, args, out):
        real_show(readout, args, out)
        shown.append(readout.result)
        if len(shown) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(query, "show", show_then_ctrl_c)
    code, out = live(server, c.jid, "--node", "NoSuchNode", "--watch", "0.1", clients=clients)
    assert shown == ["rejected", "rejected"] and code == 3, out

    def ctrl_c_at_once(xmpp, args):
        raise KeyboardInterrupt

    monkeypatch.setattr(query, "read_once", ctrl_c_at_once)
    code, out = live(server, c.jid, "--momentary", clients=clients)
    assert code == 130 and out == ""

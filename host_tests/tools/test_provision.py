"""tools/provision.py: a config written from arguments or answers, checked by the board's
own checker (lib/thing/config.py) before anything is written."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import hostport
import provision
import pytest
from localxmpp import CertificateAuthority

from thing import config as thing_config

MICROPYTHON = str(Path(sys.executable).parent / "micropython")

ARGS = [
    "--board", "esp32_devkitc",
    "--wifi-ssid", "home",
    "--wifi-password", "wifi-secret",
    "--jid", "dev@example.org",
    "--password", "xmpp-secret",
    "--server", "xmpp.example.org:5222",
    "--allow", "owner@example.org",
    "--allow", "a@example.org,b@example.org",
    "--no-input",
]  # fmt: skip


@pytest.fixture(scope="module")
def ca():
    return CertificateAuthority.shared()


def run(capsys, *argv):
    code = provision.main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_writes_a_config_the_board_accepts(tmp_path, capsys, ca):
    out = tmp_path / "dev.json"
    code, text, err = run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(out))
    assert code == 0, err
    cfg = json.loads(out.read_text())
    assert thing_config.check(cfg, on_board=True) == []
    assert cfg["xmpp"] == {
        "jid": "dev@example.org",
        "password": "xmpp-secret",
        "resource": "sensor",
        "host": "xmpp.example.org",
        "port": 5222,
        "tls": "starttls",
        "ca": "ca.der",
    }
    assert cfg["wifi"] == {"ssid": "home", "password": "wifi-secret"}
    assert cfg["allow"] == ["owner@example.org", "a@example.org", "b@example.org"]
    assert (tmp_path / "ca.der").read_bytes() == Path(ca.der_path).read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds passwords
    assert "make deploy-config" in text


def test_bad_answers_are_refused_with_the_checkers_own_messages(tmp_path, capsys, ca):
    out = tmp_path / "dev.json"
    argv = [a if a != "dev@example.org" else "dev@@example.org" for a in ARGS]
    argv[argv.index("xmpp.example.org:5222")] = "xmpp.example.org:70000"
    code, _, err = run(capsys, *argv, "--ca", str(ca.pem_path), "--out", str(out))
    assert code == 2
    assert "xmpp.jid: 'dev@@example.org' is not a bare JID like dev@example.org" in err
    assert "xmpp.port: 70000 is outside 1..65535" in err
    assert not out.exists()


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    out = tmp_path / "dev.json"
    code, _, err = run(capsys, "--no-input", "--out", str(out), "--board", "esp99", "--jid", "x y")
    assert code == 2
    for problem in (
        "xmpp.jid: 'x y' is not a bare JID",
        "xmpp.password: empty",
        "xmpp.ca: missing",
        "wifi.ssid: missing",
        "board: no boards/esp99 here",
        "allow: nobody could read the sensors",
    ):
        assert problem in err


def test_a_bad_ca_file_is_refused(tmp_path, capsys):
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    code, _, err = run(capsys, *ARGS, "--ca", str(junk), "--out", str(tmp_path / "c.json"))
    assert code == 2 and "ca: " in err and "neither a PEM nor a DER" in err


def test_passwords_can_come_from_the_environment(tmp_path, capsys, monkeypatch, ca):
    monkeypatch.setenv("XMPP_PASSWORD", "from-env")
    monkeypatch.setenv("WIFI_PASSWORD", "wifi-env")
    argv = [
        a for a in ARGS if a not in ("--password", "xmpp-secret", "--wifi-password", "wifi-secret")
    ]
    out = tmp_path / "dev.json"
    assert run(capsys, *argv, "--ca", str(ca.pem_path), "--out", str(out))[0] == 0
    cfg = json.loads(out.read_text())
    assert cfg["xmpp"]["password"] == "from-env" and cfg["wifi"]["password"] == "wifi-env"


def test_a_config_without_a_wifi_password_is_written_for_an_open_network_and_says_so(
    tmp_path, capsys, monkeypatch, ca
):
    monkeypatch.delenv("WIFI_PASSWORD", raising=False)
    i = ARGS.index("--wifi-password")
    argv = ARGS[:i] + ARGS[i + 2 :] + ["--ca", str(ca.pem_path)]
    code, text, _ = run(capsys, *argv, "--out", str(tmp_path / "open.json"))
    assert code == 0
    assert "password" not in json.loads((tmp_path / "open.json").read_text())["wifi"]
    assert "no WiFi password: 'home' is taken for an open network" in text
    code, text, _ = run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(tmp_path / "w.json"))
    assert code == 0 and "open network" not in text


def test_an_existing_file_is_kept_without_force(tmp_path, capsys, ca):
    out = tmp_path / "dev.json"
    out.write_text("{}")
    code, _, err = run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(out))
    assert code == 2 and "exists; give --force" in err and out.read_text() == "{}"
    assert run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(out), "--force")[0] == 0


def test_a_replaced_config_is_no_longer_readable_by_others(tmp_path, capsys, ca):
    out = tmp_path / "dev.json"
    out.write_text("{}")
    out.chmod(0o644)  # written by hand, or copied from the README
    code, _, err = run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(out), "--force")
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds passwords now


def test_plain_tls_needs_no_ca_and_the_host_board_no_wifi(tmp_path, capsys):
    out = tmp_path / "host.json"
    code, _, err = run(capsys, "--no-input", "--board", "host", "--jid", "dev@localhost",
                       "--password", "pw", "--tls", "plain", "--allow", "me@localhost",
                       "--out", str(out))  # fmt: skip
    assert code == 0, err
    cfg = json.loads(out.read_text())
    assert "wifi" not in cfg and thing_config.check(cfg, on_board=False) == []


def test_questions_fill_in_what_the_arguments_left_out(tmp_path):
    replies = iter(["esp32_devkitc", "home", "dev@example.org", "", "", "owner@example.org"])
    secrets = iter(["wifi-secret", "xmpp-secret"])
    prompts = []

    def read(prompt):
        prompts.append(prompt)
        return next(replies)

    answers = provision.ask({}, read, lambda prompt: next(secrets))
    assert answers["board"] == "esp32_devkitc" and answers["password"] == "xmpp-secret"
    assert "esp32_devkitc" in prompts[0] and "host" not in prompts[0]
    cfg = provision.build(answers)
    assert cfg["allow"] == ["owner@example.org"] and "host" not in cfg["xmpp"]
    # No CA was given: the board's checker says what is missing.
    assert thing_config.check(cfg) == [
        "xmpp.ca: missing (the server's CA certificate, DER; TLS is verified)"
    ]


def test_another_ca_beside_the_config_is_not_replaced_without_force(tmp_path, capsys, ca):
    # Two configs in one folder share its ca.der: a second server's CA would silently cut
    # the first board off its server.
    first = tmp_path / "first.json"
    assert run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(first))[0] == 0
    other = CertificateAuthority.other()
    second = tmp_path / "second.json"
    code, _, err = run(capsys, *ARGS, "--ca", str(other.pem_path), "--out", str(second))
    assert code == 2 and "ca.der beside it holds another CA" in err
    assert not second.exists()
    assert (tmp_path / "ca.der").read_bytes() == Path(ca.der_path).read_bytes()
    # The same CA again is no conflict; --force replaces it.
    third = tmp_path / "third.json"
    assert run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(third))[0] == 0
    code = run(capsys, *ARGS, "--ca", str(other.pem_path), "--out", str(second), "--force")[0]
    assert code == 0 and (tmp_path / "ca.der").read_bytes() == Path(other.der_path).read_bytes()


def test_a_missing_board_is_one_problem_and_a_missing_ca_names_the_option(tmp_path, capsys):
    code, _, err = run(capsys, "--no-input", "--out", str(tmp_path / "x.json"))
    assert code == 2
    assert [p for p in err.splitlines() if "board:" in p] == [
        "  - board: missing (one of esp32_devkitc, esp32c3, esp32s3_devkitc, host)"
    ]
    assert "xmpp.ca: missing: the CA that signed" in err and "(--ca; --tls plain" in err
    assert "certificate, DER" not in err


def test_the_ca_question_does_not_offer_none_when_tls_needs_one():
    prompts = []
    provision.ask({"board": "host", "jid": "a@b", "password": "p", "allow": "o@b"},
                  lambda p: prompts.append(p) or "", lambda p: "")  # fmt: skip
    assert any(p.startswith("CA certificate") for p in prompts)
    assert not any("empty for none" in p for p in prompts)
    prompts.clear()
    provision.ask({"board": "host", "jid": "a@b", "password": "p", "allow": "o@b", "tls": "plain"},
                  lambda p: prompts.append(p) or "", lambda p: "")  # fmt: skip
    assert not any(p.startswith("CA certificate") for p in prompts)


def test_a_boolean_is_not_taken_for_a_number_when_provision_checks_a_config():
    # Under CPython, where provision runs the board's own check(), True is an int too.
    cfg = {"xmpp": {"jid": "t@example.org", "password": "x", "tls": "plain", "port": True}}
    cfg["led_pin"] = True
    problems = thing_config.check(cfg, on_board=False)
    assert any("xmpp.port" in p for p in problems), problems
    assert any("led_pin" in p for p in problems), problems


def test_a_boolean_is_not_taken_for_an_adc_pin_when_provision_checks_a_config():
    # Under CPython True is an int: it would be GPIO1 to the board's ADC setup.
    cfg = {"xmpp": {"jid": "t@example.org", "password": "x", "tls": "plain"}}
    cfg["adc"] = [{"pin": True}]
    problems = thing_config.check(cfg, on_board=False)
    assert any(p.startswith("adc: ") for p in problems), problems


def test_a_password_outside_the_bmp_reaches_micropython_as_written(tmp_path, capsys):
    # run-host reads this file with MicroPython's json, which reads "\ud83d\udd11" as two
    # lone surrogates (extmod/modjson.c pairs none): the login would send other bytes.
    password = "\U0001f511 key"
    out = tmp_path / "host.json"
    argv = ["--board", "host", "--jid", "dev@example.org", "--password", password]
    argv += ["--tls", "plain", "--allow", "owner@example.org", "--no-input"]
    code, _, err = run(capsys, *argv, "--out", str(out))
    assert code == 0, err
    read = "import json\nprint(json.load(open(%r))['xmpp']['password'].encode())" % str(out)
    proc = subprocess.run([MICROPYTHON, "-c", read], capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == repr(password.encode()), proc.stderr


def test_a_password_the_board_cannot_prepare_for_scram_is_refused(tmp_path, capsys, ca):
    # The server salts SASLprep(password); a board maps spaces and soft hyphens like it, but
    # cannot normalize: U+2168 is "IX" to the server.
    out = tmp_path / "dev.json"
    argv = [a if a != "xmpp-secret" else "\u2168-secret" for a in ARGS]
    code, _, err = run(capsys, *argv, "--ca", str(ca.pem_path), "--out", str(out))
    assert code == 2
    assert "xmpp.password: the server reads it otherwise from U+2168 on" in err
    assert "\u2168" not in err and not out.exists()  # the password itself is not printed
    argv = [a if a != "xmpp-secret" else "no-break\u00a0space" for a in ARGS]
    code, _, err = run(capsys, *argv, "--ca", str(ca.pem_path), "--out", str(out))
    assert code == 0, err


def test_a_password_typed_at_the_prompt_keeps_its_spaces():
    replies = iter(["esp32_devkitc", "home", "dev@example.org", "", "", "owner@example.org"])
    secrets = iter(["  wifi pass phrase ", " xmpp "])
    answers = provision.ask({}, lambda p: next(replies), lambda p: next(secrets))
    assert answers["wifi_password"] == "  wifi pass phrase " and answers["password"] == " xmpp "


@pytest.mark.parametrize(
    "server, expected",
    [
        ("xmpp.example.org", ("xmpp.example.org", None)),
        ("xmpp.example.org:5223", ("xmpp.example.org", 5223)),
        ("[::1]", ("::1", None)),
        ("[::1]:5222", ("::1", 5222)),
    ],
)
def test_a_server_is_a_host_and_maybe_a_port(server, expected):
    assert hostport.split(server) == expected


@pytest.mark.parametrize("server", ["::1", "host:abc", "host:", "[::1", "[::1]x"])
def test_a_server_that_is_not_host_and_port_is_refused(tmp_path, capsys, ca, server):
    argv = list(ARGS)
    argv[argv.index("xmpp.example.org:5222")] = server
    code, _, err = run(capsys, *argv, "--ca", str(ca.pem_path), "--out", str(tmp_path / "c.json"))
    assert code == 2 and "server: %r" % server in err, err
    assert not (tmp_path / "c.json").exists()


def test_a_config_is_not_written_over_its_own_ca_nor_to_a_directory(tmp_path, capsys, ca):
    for out in (tmp_path / "ca.der", tmp_path):
        code, _, err = run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(out))
        assert code == 2 and ("over its own CA" in err or "is a directory" in err), err
    assert not (tmp_path / "ca.der").exists()


def test_a_config_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, capsys, ca):
    (tmp_path / "f").write_text("a file where a folder is needed")
    out = tmp_path / "f" / "c.json"
    code, _, err = run(capsys, *ARGS, "--ca", str(ca.pem_path), "--out", str(out))
    assert code == 2 and "cannot be written" in err and "Traceback" not in err, err


def test_port_0_is_the_checkers_to_refuse_not_dropped_for_the_default(tmp_path, capsys, ca):
    argv = list(ARGS)
    argv[argv.index("xmpp.example.org:5222")] = "xmpp.example.org:0"
    code, _, err = run(capsys, *argv, "--ca", str(ca.pem_path), "--out", str(tmp_path / "c.json"))
    assert code == 2 and "xmpp.port: 0 is outside 1..65535" in err, err

"""The local server harness works: real slixmpp traffic through real Prosody and ejabberd."""

import os
import re
import signal
import socket
import ssl
import time

import fakeserver as fs
import pytest
from localxmpp import Prosody, pid_alive, port_accepts
from localxmpp.client import ConnectError
from localxmpp.processes import group_pids
from slixmpp.exceptions import IqTimeout


def test_slixmpp_logs_in_over_verified_starttls_with_scram_sha1(prosody, clients):
    client = clients.connect(prosody, "sensor")
    assert client.jid == "sensor@localhost/test"
    assert client.tls_version in ("TLSv1.2", "TLSv1.3")
    first = client.features[0]
    assert first["starttls"] and first["starttls_required"]
    assert first["mechanisms"] == []  # no SASL before TLS when encryption is required
    assert "SCRAM-SHA-1" in client.mechanisms
    assert "SCRAM-SHA-256" not in client.mechanisms


def test_sha256_variant_offers_only_scram_sha256(prosody_sha256, clients):
    client = clients.connect(prosody_sha256, "requester")
    assert "SCRAM-SHA-256" in client.mechanisms
    assert "SCRAM-SHA-1" not in client.mechanisms


def test_plain_variant_lets_a_client_log_in_without_tls(prosody_plain, clients):
    client = clients.connect(prosody_plain, "sensor", mode="plaintext")
    first = client.features[0]
    assert first["starttls"] and not first["starttls_required"]
    # Prosody keeps PLAIN for encrypted sessions unless allow_plain_without_tls is set.
    assert "SCRAM-SHA-1" in first["mechanisms"] and "PLAIN" not in first["mechanisms"]
    assert client.tls_version is None


@pytest.mark.parametrize(
    "prosody", [{"require_encryption": False, "allow_plain_without_tls": True}], indirect=True
)
def test_plain_auth_without_tls_is_offered_only_when_asked_for(prosody, clients):
    client = clients.client(prosody, "sensor", mode="plaintext")
    client.connect()
    assert "PLAIN" in client.features[0]["mechanisms"]


def test_direct_tls_port_serves_verified_tls_from_the_first_byte(prosody_direct_tls, clients):
    client = clients.connect(prosody_direct_tls, "sensor", mode="direct_tls")
    assert client.features[0]["mechanisms"]  # no STARTTLS step: SASL offered at once
    assert not client.features[0]["starttls"]


def test_certificate_from_another_ca_is_rejected(prosody, clients, other_ca):
    client = clients.client(prosody, "sensor", ca_pem_path=other_ca.pem_path)
    with pytest.raises((ConnectError, TimeoutError)):
        client.connect(timeout=3)


def test_server_certificate_for_another_domain(make_prosody, clients):
    server = make_prosody(domain="example.test")
    client = clients.connect(server, "sensor")
    assert client.jid == "sensor@example.test/test"


@pytest.mark.parametrize("prosody", [{}, {"password_hash": "SHA-256"}], indirect=True)
def test_register_through_prosodyctl_makes_an_account_that_logs_in(prosody, clients):
    prosody.register("Other.User", "pässword")  # not the fast path: nodeprep and saslprep
    client = clients.connect(prosody, "Other.User")
    assert client.jid == "other.user@localhost/test"


def test_two_clients_exchange_a_message_and_a_ping(prosody, clients):
    sensor = clients.connect(prosody, "sensor", resource="dev")
    requester = clients.connect(prosody, "requester")
    requester.send_message(sensor.jid, "hello sensor")
    msg = sensor.wait_message(lambda m: m["body"] == "hello sensor", timeout=30)
    assert msg["from"] == requester.jid
    requester.ping(sensor.jid, timeout=30)  # answered (no IqTimeout), however slowly


def test_stanza_size_limit_is_enforced(make_prosody, clients):
    server = make_prosody(stanza_size_limit=10_000)
    sensor = clients.connect(server, "sensor", resource="dev")
    requester = clients.connect(server, "requester")
    requester.send_message(sensor.jid, "x" * 5_000)
    assert len(sensor.wait_message(timeout=30)["body"]) == 5_000
    requester.send_message(sensor.jid, "x" * 20_000)
    error = requester.wait_event("stream_error", timeout=30)
    assert error["condition"] == "policy-violation"


def test_restart_keeps_port_and_accounts(prosody, clients):
    old_pid, port = prosody.pid, prosody.port
    prosody.restart()
    assert prosody.pid != old_pid and not pid_alive(old_pid)
    assert prosody.port == port
    clients.connect(prosody, "sensor")


def test_frozen_server_stops_answering_until_thawed(prosody, clients):
    sensor = clients.connect(prosody, "sensor", resource="dev")
    requester = clients.connect(prosody, "requester")
    prosody.freeze()
    with pytest.raises(IqTimeout):
        requester.ping(sensor.jid, timeout=0.5)
    prosody.thaw()
    requester.ping(sensor.jid, timeout=30)  # answered again (no IqTimeout), however slowly


def test_stop_leaves_no_process_behind(prosody):
    pid = prosody.pid
    prosody.freeze()  # a stopped process must still die
    prosody.stop()
    assert not pid_alive(pid)
    assert group_pids(pid) == []
    assert not port_accepts(prosody.port)


def test_a_server_that_dies_on_start_reports_its_log(tmp_path):
    server = Prosody(extra_config='modules_enabled = { "no_such_module_here" }\nthis is not lua')
    try:
        with pytest.raises(RuntimeError, match="Prosody did not open port"):
            server.start(timeout=5)
    finally:
        server.close()


def test_ejabberd_serves_verified_logins_routes_stanzas_and_stops_cleanly(ejabberd, clients):
    # One test, so xdist starts one ejabberd (~2.5 s with two accounts), not one per worker.
    sensor = clients.connect(ejabberd, "sensor", resource="dev")
    requester = clients.connect(ejabberd, "requester", mode="direct_tls")
    assert sensor.features[0]["starttls_required"]
    assert "SCRAM-SHA-1" in sensor.mechanisms
    requester.send_message(sensor.jid, "hi")
    assert sensor.wait_message(timeout=30)["body"] == "hi"
    requester.ping(sensor.jid, timeout=30)  # answered (no IqTimeout), however slowly
    clients.close()

    beams = group_pids(ejabberd.process.pgid)
    assert beams
    ejabberd.stop()
    assert [pid for pid in beams if pid_alive(pid)] == []
    assert not any(_is_epmd(pid) for pid in _all_pids())


def _all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _is_epmd(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"epmd" in f.read().split(b"\0")[0] and pid_alive(pid)
    except OSError:
        return False


def test_killing_the_owner_kills_the_server(tmp_path):
    """The watchdog covers what atexit can't: the test process dying by SIGKILL."""
    import subprocess
    import sys
    from pathlib import Path

    tools = Path(__file__).resolve().parents[2] / "tools"
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from localxmpp import Prosody\n"
        "p = Prosody().start(); print(p.pid, flush=True); time.sleep(60)\n" % str(tools)
    )
    env = dict(os.environ, TMPDIR=str(tmp_path))  # what it leaves behind goes with tmp_path
    owner = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    pid = int(owner.stdout.readline())
    assert pid_alive(pid)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 30  # a bound against a hang: the watchdog acts at once
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(pid)


# ---- the scripted fake server, driven by a raw socket -----------------------------------
CLIENT_HEADER = (
    b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client'"
    b" xmlns:stream='http://etherx.jabber.org/streams'>"
)


def _connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _read_until(sock, pattern):
    """Read until `pattern` (bytes regex) matches or the server closes; returns all bytes."""
    data = b""
    while not re.search(pattern, data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _read_all(sock):
    return _read_until(sock, rb"(?!)")


def test_fake_server_records_what_the_client_sent_and_counts_reconnects(fake_server):
    fake = fake_server([fs.Expect(fs.CLIENT_HEADER), fs.Send(fs.header()), fs.Close()])
    started = time.monotonic()
    for _ in range(2):
        with _connect(fake.port) as sock:
            sock.sendall(CLIENT_HEADER)
            assert b"<stream:stream" in _read_all(sock)
        time.sleep(0.2)
    fake.wait_closed(1)
    assert fake.connection_count == 2
    assert fake.connections[0].received == CLIENT_HEADER
    assert fake.connections[0].failure is None
    [delay] = fake.reconnect_delays()
    # From the first close to the second open: the 0.2 s pause, within the whole exchange.
    assert 0.15 < delay < time.monotonic() - started


def test_fake_server_starttls_presents_a_certificate_from_our_ca(fake_server, ca):
    script = fs.starttls() + [fs.Send(fs.header() + fs.features(fs.MECHANISMS))]
    fake = fake_server(script)
    context = ssl.create_default_context(cafile=str(ca.pem_path))
    with _connect(fake.port) as raw:
        raw.sendall(CLIENT_HEADER)
        assert b"<required/>" in _read_until(raw, rb"</stream:features>")
        raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        assert b"<proceed" in _read_until(raw, rb"<proceed[^>]*>")
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(CLIENT_HEADER)
            assert b"SCRAM-SHA-1" in _read_until(tls, rb"</stream:features>")
    conn = fake.wait_closed(0)
    assert conn.tls and conn.received.count(b"<stream:stream") == 2


def test_fake_server_stalled_tls_handshake_never_completes(fake_server, ca):
    fake = fake_server(fs.stalled_tls_handshake())
    context = ssl.create_default_context(cafile=str(ca.pem_path))
    with _connect(fake.port) as raw:
        raw.sendall(CLIENT_HEADER)
        _read_until(raw, rb"</stream:features>")
        raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        _read_until(raw, rb"<proceed[^>]*>")
        raw.settimeout(0.3)
        with pytest.raises(TimeoutError):
            context.wrap_socket(raw, server_hostname="localhost")
    assert fake.wait_received(0, rb"\x16\x03").tls is False  # the client hello arrived


def test_fake_server_reset_reaches_the_client_as_a_tcp_rst(fake_server):
    fake = fake_server(fs.reset_after_header())
    with _connect(fake.port) as sock:
        sock.sendall(CLIENT_HEADER)
        with pytest.raises(ConnectionResetError):
            while sock.recv(65536):
                pass


def test_fake_server_sends_slowly_at_the_given_rate(fake_server):
    fake = fake_server([fs.SendSlowly(b"x" * 50, rate=250), fs.Close()])
    started = time.monotonic()
    with _connect(fake.port) as sock:
        assert _read_all(sock) == b"x" * 50
    # 0.2 s at that rate; the upper bound only tells slowly from stuck on a loaded host.
    assert 0.15 < time.monotonic() - started < 30


def test_fake_server_expect_timeout_is_recorded_and_closes(fake_server):
    fake = fake_server([fs.Expect(b"never", timeout=0.2), fs.Send(b"unreachable")])
    with _connect(fake.port) as sock:
        sock.sendall(b"hello")
        assert _read_all(sock) == b""
    conn = fake.wait_closed(0)
    assert "never" in conn.failure and conn.steps_done == 0


def test_fake_server_see_other_host_redirects_to_a_second_fake(fake_server):
    target = fake_server([fs.Expect(fs.CLIENT_HEADER), fs.Send(fs.header(stream_id="second"))])
    first = fake_server(fs.see_other_host(target.port, tls=False))
    with _connect(first.port) as sock:
        sock.sendall(CLIENT_HEADER)
        error = _read_all(sock)
    host, port = re.search(rb"<see-other-host[^>]*>([^<]+):(\d+)<", error).groups()
    with _connect(int(port)) as sock:
        sock.sendall(CLIENT_HEADER)
        assert b"id='second'" in _read_until(sock, rb"<stream:stream[^>]*>")
    assert host == b"127.0.0.1" and target.connection_count == 1


@pytest.mark.parametrize(
    "script, expected",
    [
        (fs.plaintext_without_starttls(), rb"</stream:features>"),
        (fs.garbage_after_header(), rb"not xml"),
        (fs.doctype(), rb"<!DOCTYPE"),
        (fs.oversized_stanza(20_000, tls=False), rb"x{20000}</body>"),
    ],
    ids=["no-starttls", "garbage", "doctype", "oversized"],
)
def test_fake_server_ready_made_scripts_send_what_they_promise(fake_server, script, expected):
    fake = fake_server(script)
    with _connect(fake.port) as sock:
        sock.sendall(CLIENT_HEADER)
        data = _read_until(sock, expected)
    assert re.search(expected, data)
    if b"features" in expected:
        assert b"starttls" not in data and b"PLAIN" in data

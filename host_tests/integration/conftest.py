"""Fixtures for tests against real XMPP servers on loopback.

Every server is private to the test (or module) that asked for it: its own temp dir and free
ports, so xdist workers never share anything. Servers are stopped even when a test fails, and
a failing test gets the server's log tail in its report.

    def test_something(prosody, clients):
        requester = clients.connect(prosody, "requester")   # verified STARTTLS, logged in
        requester.send_message(prosody.jid("sensor") + "/dev", "hi")

Variants of `prosody` by indirect parametrization (any Prosody() keyword):

    @pytest.mark.parametrize("prosody", [{"password_hash": "SHA-256"}], indirect=True)
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from localxmpp import CertificateAuthority, Prosody  # noqa: E402
from localxmpp.client import ClientLoop  # noqa: E402

# Known accounts on every fixture server: user -> password.
ACCOUNTS = {"sensor": "sensor-secret", "requester": "requester-secret"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "report_" + report.when, report)
    return report


def _failed(request):
    return any(
        getattr(getattr(request.node, "report_" + when, None), "failed", False)
        for when in ("setup", "call")
    )


def _finish(request, server):
    if _failed(request):
        print("---- %s log tail ----\n%s" % (type(server).__name__, server.log_tail(60)))
    server.close()


@pytest.fixture(scope="session")
def ca():
    """The CA that signed every fixture server's certificate (pem_path, der_path, pem, der)."""
    return CertificateAuthority.shared()


@pytest.fixture(scope="session")
def other_ca():
    """An unrelated CA: a client trusting only this one must reject our servers."""
    return CertificateAuthority.other()


def _prosody(request, **options):
    server = Prosody(**options)
    try:
        server.register_all(ACCOUNTS)
        server.start()
    except BaseException:
        server.close()
        raise
    request.addfinalizer(lambda: _finish(request, server))
    return server


@pytest.fixture
def prosody(request):
    """A fresh running Prosody (STARTTLS required, SCRAM-SHA-1) with ACCOUNTS registered.

    Attributes: domain, port, direct_tls_port, accounts, ca_pem_path, ca_der_path, pid;
    methods: jid(user), start/stop/restart/freeze/thaw, register, log_tail.
    """
    return _prosody(request, **getattr(request, "param", {}))


@pytest.fixture
def prosody_sha256(request):
    """Prosody storing SCRAM-SHA-256 credentials: it offers SCRAM-SHA-256, not SHA-1."""
    return _prosody(request, password_hash="SHA-256")


@pytest.fixture
def prosody_plain(request):
    """Prosody that lets clients log in without TLS (STARTTLS offered, not required)."""
    return _prosody(request, require_encryption=False)


@pytest.fixture
def prosody_direct_tls(request):
    """Prosody also listening for XEP-0368 Direct TLS on `direct_tls_port`."""
    return _prosody(request, direct_tls=True)


@pytest.fixture
def make_prosody(request):
    """Factory: make_prosody(**Prosody options) -> a running Prosody with ACCOUNTS."""
    return lambda **options: _prosody(request, **options)


@pytest.fixture(scope="module")
def _ejabberd_server(request):
    from localxmpp import Ejabberd

    server = Ejabberd(direct_tls=True)
    try:
        server.start()
        server.register_all(ACCOUNTS)
    except BaseException:
        print(server.log_tail(60))
        server.close()
        raise
    yield server
    server.close()


@pytest.fixture
def ejabberd(request, _ejabberd_server):
    """A running ejabberd with ACCOUNTS (shared by a module: ~2.5 s to start and register).

    Same surface as `prosody`. A test may stop or freeze it: it is thawed after the test and
    started again for the next one.
    """
    server = _ejabberd_server
    if not server.running:
        server.start()
    yield server
    if _failed(request):
        print("---- ejabberd log tail ----\n" + server.log_tail(60))
    if server.running:
        server.thaw()


@pytest.fixture
def fake_server():
    """Factory: fake_server(script) -> a started FakeServer (see fakeserver.py), stopped after.

    kind: a FakeServer subclass that plays more kinds of steps (fakeserver_more.py).
    """
    from fakeserver import FakeServer

    servers = []

    def make(script, port=0, kind=FakeServer):
        server = kind(script, port).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def clients():
    """A ClientLoop: clients.connect(server, user) logs a slixmpp client in (verified TLS).

    Every client is disconnected and the loop closed after the test.
    """
    loop = ClientLoop()
    yield loop
    loop.close()

# A server's refusal during login, against a server played by the test: the refusal decides
# the wait before the next attempt and what is logged, also when the server's closing tag
# (RFC 6120 §5.4.2.2, §6.4.5: it closes right after) comes in the same read.
import asyncio

from scripted_server import CLOSE, Lines, Server

from xmpp.client import Client
from xmpp.log import Log

HEAPSIZE = "640k"  # the whole client, compiled from source on the heap

_START = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.org' "
    b"version='1.0'>"
)
_SASL = (
    _START + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    b"<mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
)


async def _attempt(script, **extra):
    """One login against `script` [(what the client sends last, our answer)]: the floor
    asked of the backoff and the log."""
    srv, out = Server(), Lines()
    cfg = {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1", "port": srv.port}
    cfg.update(tls="plain", connect_timeout_s=2)
    cfg.update(extra)
    c = Client(cfg, None, Log("test", out=out))
    c.close_wait_ms = 300
    floors, next_ms = [], c.backoff.next_ms

    def once(floor_ms=0):
        floors.append(floor_ms)
        c.stop()  # one attempt is the test
        return next_ms(floor_ms)

    c.backoff.next_ms = once
    run = asyncio.create_task(c.run())
    header = script[0][1]
    await srv.accept(header=header, again=True)
    for token, answer in script[1:]:
        await srv.wait_for(token)
        if answer.startswith(_START):
            srv.got = b""  # a new stream: the next token is looked for in what follows
        srv.peer.write(answer)
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()
    return c, floors, out.text


def _failure(cond):
    return b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><%s/></failure>" % cond


async def test_a_sasl_refusal_read_with_the_closing_tag_still_waits_the_long_floor():
    for close in (b"", CLOSE):
        c, floors, log = await _attempt(
            [(None, _SASL), (b"</auth>", _failure(b"account-disabled") + close)]
        )
        assert floors == [c.opt.retry_permanent_ms], (close, floors, log)
        assert "login failed: SASL SCRAM-SHA-1: account-disabled" in log, log
        assert c.last_error == "SASL SCRAM-SHA-1: account-disabled", c.last_error


async def test_a_starttls_refusal_read_with_the_closing_tag_is_logged_as_such():
    tls = _START + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    tls += b"</stream:features>"
    refusal = b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    for close in (b"", CLOSE):
        c, floors, log = await _attempt(
            [(None, tls), (b"<starttls", refusal + close)], tls="starttls"
        )
        assert "login failed: STARTTLS refused by server" in log, (close, log)
        assert c.last_error == "STARTTLS refused by server", c.last_error


async def test_a_close_read_with_the_logins_last_answer_keeps_the_client_offline():
    # The login got all it needed, but the server ended its stream in the same read: going
    # online would send presence into a closed stream and wait on it.
    from xmpp import login

    async def logged_in(c):  # negotiation has tests of its own: the features are the login
        c.xml.reset()
        await c.next_stanza()
        c.full_jid = "dev@example.org/sensor"

    real, login.login = login.login, logged_in
    try:
        srv, out = Server(), Lines()
        cfg = {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1"}
        cfg.update(port=srv.port, tls="plain", connect_timeout_s=2)
        c = Client(cfg, None, Log("test", out=out))
        c.backoff.next_ms = lambda floor_ms=0: c.stop() or 0
        run = asyncio.create_task(c.run())
        await srv.accept(extra=CLOSE)
        await srv.wait_closed()
        await asyncio.wait_for_ms(run, 10_000)
    finally:
        login.login = real
    assert c.connects == 0 and "online as" not in out.text, out.text
    assert srv.got.endswith(CLOSE) and b"<presence" not in srv.got, srv.got
    assert "the server closed the stream" in out.text, out.text
    srv.close()

# The client's reconnect loop, against a loopback port where nothing listens (no server).
import asyncio
import socket

from xmpp import errors
from xmpp.client import Client
from xmpp.log import Log

HEAPSIZE = "512k"  # the whole client, compiled from source on the heap


def _closed_port():
    s = socket.socket()
    s.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
    port = s.getsockname()[1] if hasattr(s, "getsockname") else 1
    s.close()
    return port


def _client(**extra):
    cfg = {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1", "tls": "plain"}
    cfg["port"] = _closed_port()
    cfg["connect_timeout_s"] = 1
    cfg.update(extra)
    return Client(cfg, None, Log("test"))


async def test_each_attempt_from_the_configured_host_starts_a_new_redirect_chain():
    c = _client()
    c._redirects = errors.MAX_REDIRECTS  # an earlier chain used up its hops
    try:
        await c._connection()
    except OSError:
        pass
    assert c._redirects == 0  # so a redirect in this chain is followed again


async def test_an_unexpected_exception_costs_a_reconnect_not_the_client():
    c = _client(backoff_base_s=0)
    calls = []

    async def broken():
        calls.append(1)
        if len(calls) >= 3:
            c.stop()
        raise KeyError("a bug somewhere")

    c._connection = broken
    await asyncio.wait_for_ms(c.run(), 5000)
    assert len(calls) == 3
    assert "KeyError" in c.last_error


async def test_a_connection_up_for_a_week_resets_the_backoff_though_ticks_wrapped():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative.
    from esp32ticks import DAY_MS, install

    from xmpp import client as client_module

    ticks = install(client_module, now=1_000)
    c = _client(backoff_base_s=0)
    heard = []
    c.backoff.connected_for = heard.append

    async def a_week_online():
        ticks.advance(7 * DAY_MS)
        c.stop()
        raise OSError(104)

    c._connection = a_week_online
    await asyncio.wait_for_ms(c.run(), 5000)
    assert heard and heard[0] >= 6 * DAY_MS, heard

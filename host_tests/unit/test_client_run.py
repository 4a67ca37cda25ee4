# The client's reconnect loop, against a loopback port where nothing listens (no server).
import asyncio
import socket
import sys

from scripted_server import CLOSE as _CLOSE
from scripted_server import HEADER as _HEADER
from scripted_server import Lines as _Lines
from scripted_server import Server as _Server
from waits import until

from xmpp import errors
from xmpp.client import Client
from xmpp.log import Log

HEAPSIZE = "640k"  # the whole client, compiled from source on the heap


def _closed_port():
    s = socket.socket()
    s.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
    port = s.getsockname()[1] if hasattr(s, "getsockname") else 1
    s.close()
    return port


def _client(log=None, **extra):
    cfg = {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1", "tls": "plain"}
    cfg["port"] = _closed_port()
    cfg["connect_timeout_s"] = 1
    cfg.update(extra)
    return Client(cfg, None, log or Log("test"))


def _tls_cfg():
    return {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1", "tls": "starttls"}


def test_the_tls_context_is_made_once_when_the_client_is_built():
    # 3 KB in one piece: made at each login, it found no room on a heap split up by then.
    from xmpp import client as xc

    made = []
    real = xc.tls_context
    xc.tls_context = lambda ca: made.append(ca) or ("context", ca)
    try:
        c = Client(_tls_cfg(), b"DER", Log("test"))
    finally:
        xc.tls_context = real
    assert made == [b"DER"]
    assert c.context == ("context", b"DER")


def test_a_ca_the_tls_layer_cannot_read_is_left_to_each_connection_attempt():
    # Each attempt makes the context again and logs why it failed, as a bad CA always did.
    c = Client(_tls_cfg(), b"not a certificate", Log("test"))
    assert c.context is None
    assert Client(dict(_tls_cfg(), tls="plain"), None, Log("test")).context is None


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


async def test_the_last_error_is_kept_to_a_line_whatever_the_server_said():
    # A SCRAM e= or a stream error's condition is the server's text: `status` shows
    # last_error, and a 3 KB one would hold heap and outgrow the chat's reply.
    c = _client(backoff_base_s=0)
    refusals = [
        errors.LoginFailed("SASL SCRAM-SHA-1: server-error: " + "é" * 3000),
        errors.StreamClosed("x" * 200),
    ]
    seen = []

    async def refused():
        seen.append(c.last_error)
        if not refusals:
            c.stop()
            return
        raise refusals.pop(0)

    c._connection = refused
    await asyncio.wait_for_ms(c.run(), 5000)
    assert seen[1] == "SASL SCRAM-SHA-1: server-error: " + "é" * 68, seen[1]
    assert seen[2] == "x" * 100, seen[2]


async def test_a_connection_up_for_a_week_resets_the_backoff_though_ticks_wrapped():
    # On an ESP32 ticks_diff() of a tick over 6.2 days old is negative.
    from esp32ticks import DAY_MS, install

    from xmpp import client as client_module

    ticks = install(client_module, now=1_000)
    c = _client(backoff_base_s=0)
    heard = []
    c.backoff.connected_for = heard.append

    async def a_week_online():
        c.connects += 1
        c._up_at = ticks.ticks_ms()
        ticks.advance(7 * DAY_MS)
        c.stop()
        raise OSError(104)

    c._connection = a_week_online
    await asyncio.wait_for_ms(c.run(), 5000)
    assert heard and heard[0] >= 6 * DAY_MS, heard


async def test_attempts_that_never_got_online_keep_the_backoff_growing_however_long():
    # A server that takes the TCP connection and then stalls the login: each attempt lasts
    # longer than stable_s, yet no connection was ever up; the waits must still grow.
    c = _client(backoff_base_s=0, stable_s=1)
    seen = []
    next_ms = c.backoff.next_ms

    def recording(floor_ms=0):
        seen.append(c.backoff.failures)
        return next_ms(floor_ms)

    c.backoff.next_ms = recording

    async def stalled_login():
        await asyncio.sleep_ms(1200)
        if len(seen) == 2:
            c.stop()
        raise asyncio.TimeoutError

    c._connection = stalled_login
    await asyncio.wait_for_ms(c.run(), 10_000)
    assert seen == [0, 1], seen


# -- closing the stream (RFC 6120 §4.4), against a server played by the test -----------------

# Far longer than the tests' guards: a client that ends only when it runs out fails them.
_LONG = 60_000


async def _logged_in(c):
    # Stream negotiation has tests of its own (test_login.py): here the header and features
    # the server sent are taken as a login.
    c.xml.reset()
    await c.next_stanza()
    c.full_jid = "dev@example.org/sensor"


async def _no_roster():
    pass


async def _online(srv, log=None, **extra):
    """A client online with `srv`, running; (client, its run task)."""
    from xmpp import login

    login.login = _logged_in
    c = _client(log, port=srv.port, **extra)
    c.roster.load = _no_roster
    run = asyncio.create_task(c.run())
    await srv.accept()
    await srv.wait_for(b"<presence")
    return c, run


async def test_the_presence_sent_online_names_our_disco_info_by_its_hash():
    # XEP-0115: clients learn our features (ad-hoc commands among them) from the presence.
    srv = _Server()
    c, run = await _online(srv)
    await srv.wait_for(b"</presence>")
    ver = c.router.caps().get("ver").encode()
    assert b"<presence><c xmlns='http://jabber.org/protocol/caps' " in srv.got, srv.got
    assert b"ver='%s'" % ver in srv.got and b"hash='sha-1'" in srv.got, srv.got
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_a_stopping_client_waits_for_the_servers_closing_tag_before_closing_tcp():
    srv = _Server()
    c, run = await _online(srv)
    c.close_wait_ms = _LONG  # a client that did not see the closing tag would hang
    c.stop()
    await srv.wait_for(_CLOSE)
    await asyncio.sleep_ms(300)
    assert srv.poll(), "TCP closed before the server closed its stream"
    srv.peer.write(_CLOSE)
    await asyncio.wait_for_ms(run, 10_000)
    await srv.wait_closed()
    srv.close()


async def test_the_names_the_login_read_are_not_kept_once_online():
    # Header and features are not read again on this connection: in the parser's caches
    # they would hold heap and places for as long as it lasts.
    srv = _Server()
    c, run = await _online(srv)
    tok = c.xml._tok
    assert not (tok._heads or tok._tags or tok._keys or tok._nskeys or tok._values)
    c.close_wait_ms = 200
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_the_login_code_is_unloaded_once_online_and_loaded_again_for_the_next_login():
    import xmpp

    names = ("xmpp.login", "xmpp.sasl", "xmpp.scram")
    for _ in range(2):  # the second login imports the modules anew (_online patches them)
        srv = _Server()
        c, run = await _online(srv)
        assert not [n for n in names if n in sys.modules or hasattr(xmpp, n[5:])]
        assert type(c.sasl_cache) is dict  # what the client keeps of the login
        c.close_wait_ms = 200
        c.stop()
        await asyncio.wait_for_ms(run, 10_000)
        srv.close()


async def test_stanzas_after_our_closing_tag_are_read_and_nothing_more_is_sent():
    srv = _Server()
    c, run = await _online(srv)
    c.close_wait_ms = _LONG
    c.stop()
    await srv.wait_for(_CLOSE)
    ping = b"<iq type='get' id='p1' from='example.org'><ping xmlns='urn:xmpp:ping'/></iq>"
    srv.peer.write(ping + b"<message from='a@example.org/x'><body>hi</body></message>" + _CLOSE)
    await asyncio.wait_for_ms(run, 10_000)  # the closing tag was found behind the stanzas
    await srv.wait_closed()
    assert srv.got.endswith(_CLOSE), srv.got  # RFC 6120 §4.4: no data after the closing tag
    srv.close()


async def test_a_chunk_the_parser_had_no_room_to_copy_is_read_again_not_the_connection_lost():
    from xmltest_support import NoRoomForTheCopy

    srv = _Server()
    c, run = await _online(srv)
    connects = c.connects
    c.xml._tok._pend = NoRoomForTheCopy()  # the next chunk's copy finds the heap full
    srv.peer.write(b"<iq type='get' id='p1' from='example.org'><ping xmlns='urn:xmpp:ping'/></iq>")
    await srv.wait_for(b"id='p1'")  # answered: the chunk was parsed the second time
    assert c.connects == connects and c.online.is_set()
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_stanzas_after_our_closing_tag_are_counted_not_queued_however_many():
    # More than a login's inbox holds: none is kept, and the wait goes on to the closing tag.
    srv = _Server()
    out = _Lines()
    c, run = await _online(srv, Log("test", out=out))
    c.close_wait_ms = _LONG
    c.stop()
    await srv.wait_for(_CLOSE)
    srv.peer.write(b"<message from='a@example.org/x'><body>hi</body></message>" * 6 + _CLOSE)
    await asyncio.wait_for_ms(run, 10_000)
    assert "6 stanza(s) after our closing tag not handled" in out.text, out.text
    assert not c.inbox
    srv.close()


async def test_a_link_found_dead_by_the_ping_gets_no_closing_tag():
    # Nobody reads a dead link: the closing tag and close_wait_ms would be wasted on it.
    srv = _Server()
    c, run = await _online(srv, ping_s=1, ping_timeout_s=1)
    await srv.wait_for(b"urn:xmpp:ping")
    await srv.wait_closed(6000)
    assert _CLOSE not in srv.got, srv.got
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_a_server_that_never_closes_its_stream_is_given_up_on_in_bounded_time():
    srv = _Server()
    out = _Lines()
    c, run = await _online(srv, Log("test", out=out))
    c.close_wait_ms = 200
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)  # a bound against a hang only
    # Given up after close_wait_ms: what it waited is logged, not timed here.
    assert "server did not close its stream in 200 ms" in out.text, out.text
    await srv.wait_closed()
    assert srv.got.endswith(_CLOSE)
    srv.close()


async def test_a_server_that_closes_first_gets_our_closing_tag_before_tcp_ends():
    srv = _Server()
    c, run = await _online(srv)
    srv.peer.write(_CLOSE)
    await srv.wait_closed()
    assert srv.got.endswith(_CLOSE), srv.got
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_a_stream_error_from_the_server_is_answered_with_our_closing_tag():
    srv = _Server()
    c, run = await _online(srv)
    srv.peer.write(
        b"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        b"</stream:error>" + _CLOSE
    )
    await srv.wait_closed()
    assert srv.got.endswith(_CLOSE), srv.got
    assert c.last_error == "conflict"
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_a_stop_during_login_ends_the_client_instead_of_bringing_it_online():
    from xmpp import login

    srv = _Server()
    gate = asyncio.Event()
    in_login = []

    async def slow_login(c):
        await _logged_in(c)
        in_login.append(c)
        await gate.wait()

    login.login = slow_login
    c = _client(port=srv.port)
    c.roster.load = _no_roster
    c.close_wait_ms = 300
    run = asyncio.create_task(c.run())
    await srv.accept()
    await until(lambda: in_login, what="the login never started")
    c.stop()
    gate.set()
    await asyncio.wait_for_ms(run, 10_000)
    assert not c.online.is_set()
    await srv.wait_closed()
    assert b"<presence/>" not in srv.got and b"<presence>" not in srv.got, srv.got
    srv.close()


def test_iq_ids_do_not_start_at_the_same_value_after_a_reboot():
    # Each boot makes a new Client; a late answer to the last boot's iq must not match.
    firsts = {_client().new_id() for _ in range(8)}
    assert len(firsts) == 8, firsts


def test_iq_ids_are_short_and_unique_within_a_boot():
    c = _client()
    ids = [c.new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert max(len(i) for i in ids) <= 8, ids[-1]


def test_a_stanza_sent_while_offline_is_refused_and_not_kept_for_the_next_connection():
    from xmlstream.element import Element

    c = _client()
    msg = Element("message", None, {"to": "owner@example.org"})
    assert c.send(msg) is False
    assert len(c.outbox) == 0
    c._online = c._routed = True
    assert c.send(msg) is True
    assert len(c.outbox) > 0


def test_at_most_four_stanzas_wait_in_the_inbox_during_login():
    from xmlstream.element import Element
    from xmlstream.errors import XMLError

    c = _client()
    for _ in range(4):
        c.stanza(Element("message"))
    try:
        c.stanza(Element("message"))
    except XMLError as e:
        assert e.condition == "policy-violation", e
    else:
        raise AssertionError("a fifth stanza was kept")
    assert len(c.inbox) == 4


def test_see_other_host_is_followed_three_hops_in_a_row_then_no_more():
    c = _client()
    hops = []
    for _ in range(errors.MAX_REDIRECTS + 1):
        c._redirect = None
        c._after_stream_error(errors.StreamClosed("see-other-host", None, "other.example.org"))
        hops.append(c._redirect)
    assert hops[:-1] == [("other.example.org", c.opt.port)] * errors.MAX_REDIRECTS, hops
    assert hops[-1] is None


def test_a_see_other_host_without_an_address_is_not_followed_to_its_text():
    # RFC 6120 §4.9.3.19: the address is the element's text. <text> is for people: taken as a
    # host, it was resolved (DNS blocks on a board) and tried at once, without a backoff.
    from xmlstream.element import Element
    from xmpp import stanza as st

    c = _client()
    err = Element(
        "error",
        st.NS_STREAMS,
        None,
        [
            Element("see-other-host", st.NS_STREAMS),
            Element("text", st.NS_STREAMS, None, None, "Moving, back soon"),
        ],
    )
    c._after_stream_error(errors.stream_closed(err))
    assert c._redirect is None
    moved = Element("see-other-host", st.NS_STREAMS, None, None, "other.example.org:5223")
    c._after_stream_error(errors.stream_closed(Element("error", st.NS_STREAMS, None, [moved])))
    assert c._redirect == ("other.example.org", 5223)


async def test_the_first_reason_a_connection_task_failed_is_the_one_reported():
    c = _client()

    async def fails(e):
        raise e

    first, later = OSError(104), errors.StreamClosed()
    await c._guard(fails(first))
    await c._guard(fails(later))
    assert c._why is first


def test_the_answer_to_a_request_as_large_as_the_stanza_limit_fits_the_output_buffer():
    # An error answer echoes the request's id and adds its <error/>: it can outgrow the
    # request, so the default output buffer has room beyond max_stanza.
    from xmlstream.element import Element, tostring
    from xmpp import stanza as st

    c = _client()
    c._online = c._routed = True
    frm = "owner@example.org/phone"
    iq = Element("iq", st.NS_CLIENT, {"type": "get", "id": "", "from": frm, "to": c.jid})
    iq.children = [Element("query", "urn:example:nothing")]
    iq.attrs["id"] = "i" * (c.opt.max_stanza - len(tostring(iq)))
    assert len(tostring(iq)) == c.opt.max_stanza
    c.router.dispatch(iq)
    out = bytes(c.outbox.w.pending())
    assert b"service-unavailable" in out and iq.attrs["id"].encode() in out
    assert len(out) > c.opt.max_stanza


def test_an_iq_answer_that_finds_the_output_congested_is_answered_resource_constraint():
    # RFC 6120 §8.2.3: the request is owed an answer with its id. A result that fits the
    # buffer but not beside what is queued cannot wait (handlers answer synchronously, and
    # a queue of waiting answers would grow with a peer's requests): a `wait` error, which
    # tells the requester to try again, is sent in its place.
    from xmlstream.element import Element
    from xmpp import stanza as st

    out = _Lines()
    c = _client(Log("test", out=out))
    c._online = c._routed = True
    big = Element("big", "urn:example:big", None, None, "x" * 3000)
    c.router.iq("urn:example:big", "big", lambda iq: st.result(iq, big))
    assert c.outbox.put_nowait(b" " * (c.outbox.size - 2500))
    iq = Element("iq", st.NS_CLIENT, {"type": "get", "id": "q1", "from": "o@example.org/p"})
    iq.children = [Element("big", "urn:example:big")]
    c.router.dispatch(iq)
    out_bytes = bytes(c.outbox.w.pending()).lstrip()
    assert out_bytes.startswith(b"<iq ") and b"id='q1'" in out_bytes, out_bytes
    assert b"type='error'" in out_bytes and b"<resource-constraint " in out_bytes, out_bytes
    assert b"type='wait'" in out_bytes and b"xxxx" not in out_bytes, out_bytes
    assert "output full" in out.text and "answered resource-constraint" in out.text, out.text


async def test_an_iq_answer_too_large_for_the_output_buffer_becomes_a_small_error_same_id():
    # RFC 6120 §8.2.3: an iq get/set is owed an answer, and it must carry the request's id.
    # A long id and a large payload together can outgrow the output buffer; the error
    # carries no payload, so it fits where the result cannot.
    from xmlstream.element import Element
    from xmpp import stanza as st

    srv = _Server()
    out = _Lines()
    c, run = await _online(srv, Log("test", out=out))
    big = Element("big", "urn:example:big", None, None, "x" * 2000)
    c.router.iq("urn:example:big", "big", lambda iq: st.result(iq, big))
    long_id = b"L" * 3500
    srv.peer.write(
        b"<iq type='get' id='%s' from='owner@example.org/phone'>"
        b"<big xmlns='urn:example:big'/></iq>"
        b"<iq type='get' id='p2' from='owner@example.org/phone'>"
        b"<ping xmlns='urn:xmpp:ping'/></iq>" % long_id
    )
    await srv.wait_for(b"id='p2'")
    answer = srv.got.split(b"<iq ")[1]
    assert long_id in answer and b"type='error'" in answer, answer[-300:]
    assert b"<resource-constraint " in answer and b"xxxx" not in answer, answer[-300:]
    assert "larger than the output buffer" in out.text, out.text
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


def test_an_accepted_readout_too_large_for_the_output_buffer_is_handled_as_its_tree_is():
    # The sensor's `accepted` is written without a tree (sensordata.wire.Accepted): it is
    # still an iq result to the client, answered resource-constraint when too large.
    from sensordata import wire
    from xmlstream.element import Element
    from xmpp import stanza as st

    iq = Element("iq", st.NS_CLIENT, {"type": "get", "id": "i" * 60, "from": "o@example.org/x"})
    seen = []
    tree = st.result(iq, wire.seq_element("accepted", "7", {"queued": "true"}))
    for el in (wire.Accepted(iq, "7", True), tree):
        out = _Lines()
        c = _client(Log("test", out=out), out_buffer=150)
        c._online = c._routed = True
        assert not c.send(el)
        lines = [line.split(": ", 1)[1] for line in out.text.splitlines()]
        seen.append((lines, bytes(c.outbox.w.pending())))
    assert "iq result to o@example.org/x larger" in seen[0][0][0], seen
    assert seen[0] == seen[1]


async def test_an_answer_that_cannot_fit_even_as_an_error_is_dropped_with_a_log_line():
    # A hostile server can send an id of '>' unescaped: each goes out as &gt;, four times
    # its size. No answer with that id fits; the link and the next stanzas go on.
    srv = _Server()
    out = _Lines()
    c, run = await _online(srv, Log("test", out=out))
    srv.peer.write(
        b'<iq type="get" id="%s" from="owner@example.org/phone">'
        b"<query xmlns='urn:example:nothing'/></iq>"
        b"<iq type='get' id='p2' from='owner@example.org/phone'>"
        b"<ping xmlns='urn:xmpp:ping'/></iq>" % (b">" * 3500)
    )
    await srv.wait_for(b"id='p2'")
    assert b"&gt;" not in srv.got, srv.got[-300:]
    assert "iq error to owner@example.org/phone not sent" in out.text, out.text
    assert c.outbox.dropped == 1
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_a_refused_login_closes_the_stream_and_waits_for_the_servers_closing_tag():
    from xmpp import login
    from xmpp.errors import LoginFailed

    async def refused(c):
        await _logged_in(c)
        raise LoginFailed("SASL PLAIN: not-authorized", 600_000)

    srv = _Server()
    login.login = refused
    c = _client(port=srv.port)
    c.close_wait_ms = _LONG
    run = asyncio.create_task(c.run())
    await srv.accept()
    await srv.wait_for(_CLOSE)
    assert "xmpp.login" not in sys.modules  # unloaded after a failure too
    await asyncio.sleep_ms(200)
    assert srv.poll(), "TCP closed before the server closed its stream"
    srv.peer.write(_CLOSE)
    await srv.wait_closed()
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_stanzas_queued_before_a_stop_still_go_before_the_closing_tag():
    from xmlstream.element import Element

    srv = _Server()
    c, run = await _online(srv)
    c.close_wait_ms = 200
    c.send(Element("message", "jabber:client", {"to": "a@example.org/x"}))
    c.stop()  # before the sender task had a turn
    await asyncio.wait_for_ms(run, 10_000)
    await srv.wait_closed()
    assert srv.got.endswith(
        b"<message to='a@example.org/x'/><presence type='unavailable'/>" + _CLOSE
    ), srv.got
    srv.close()


async def test_an_iq_that_came_with_the_last_login_answer_is_still_answered():
    # RFC 6120 §8.2.3: once bound, the board is addressable, and an iq to it may come in
    # the same read as the server's last login answer; it is owed exactly one answer.
    from xmpp import login

    srv = _Server()
    login.login = _logged_in
    c = _client(port=srv.port)
    c.roster.load = _no_roster
    c.close_wait_ms = 200
    run = asyncio.create_task(c.run())
    await srv.accept(b"<iq type='get' id='early'><ping xmlns='urn:xmpp:ping'/></iq>")
    await srv.wait_for(b"<presence")
    await srv.wait_for(b"id='early'")
    (answer,) = [t for t in srv.got.split(b"<") if b"id='early'" in t]
    assert b"type='result'" in answer, srv.got
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


class _Trickle:
    """A socket under congestion: every other write takes nothing, the others 2000 bytes."""

    def __init__(self, c, size):
        self.c = c
        self.got = bytearray(size)
        self.n = 0
        self.writes = 0
        self.held = 0  # the most bytes the client held for sending at once
        self.mem = 0
        self.most = 0  # the most the process allocated from one write to the next

    def write(self, data):
        import micropython

        c = self.c
        self.held = max(self.held, len(c.outbox) + len(c.transport._out))
        m = micropython.mem_total()
        if self.writes:  # from the first on: the setup is not counted
            self.most = max(self.most, m - self.mem)
        self.mem = m
        self.writes += 1
        k = 0 if self.writes % 2 else min(2000, len(data))
        self.got[self.n : self.n + k] = data[:k]
        self.n += k
        return k


async def test_a_congested_sender_copies_nothing_and_holds_producers_to_the_outbox_size():
    # A socket that takes a little at a time (TLS writes ~4 KB at most; lwIP refuses when
    # its buffer is full) must not make the sender copy what is left: an allocation the
    # size of the outbox, on a fragmented heap, exactly when congested. And the bytes on
    # their way count against the outbox: producers wait until they are gone.
    from xmpp.transport import Transport

    srv = _Server()
    c = _client(port=srv.port, out_buffer=16384)
    t = c.transport = Transport()
    await asyncio.gather(t.connect("127.0.0.1", srv.port), srv.accept())
    stanzas = [b"<m n='%03d'>%s</m>" % (i, b"x" * 980) for i in range(40)]
    expected = b"".join(stanzas)  # 40 KB
    sock = t.sock = _Trickle(c, len(expected))  # t.fd, the real socket, is what is waited on
    c._online = c._routed = True

    async def produce():
        for s in stanzas:
            await c.send_wait(s)

    sender = asyncio.create_task(c._sender())
    await asyncio.wait_for_ms(produce(), 10_000)
    for _ in range(2000):
        if sock.n == len(expected):
            break
        await asyncio.sleep_ms(1)
    sender.cancel()
    assert sock.got == expected  # all of it, in order
    assert sock.held <= c.outbox.size, (sock.held, c.outbox.size)
    # What the event loop allocates per wait, yes; nothing the size of what is queued.
    assert sock.most < c.outbox.size // 4, sock.most
    t.sock = t.fd
    t.close()
    srv.close()


async def test_the_reader_takes_nothing_in_while_the_output_is_over_half_full():
    # Flow control: requests whose answers could not leave would only be refused later.
    from xmpp.transport import Transport

    srv = _Server()
    c = _client(port=srv.port, out_buffer=1000)
    t = c.transport = Transport()
    await asyncio.gather(t.connect("127.0.0.1", srv.port), srv.accept())
    c._online = c._routed = True
    got = []
    c.router.message("urn:example:x", "x", got.append)
    c.outbox.put_nowait(b" " * 600)
    reader = asyncio.create_task(c._reader())
    srv.peer.write(b"<message><x xmlns='urn:example:x'/></message>")
    await asyncio.sleep_ms(300)
    assert got == []
    c.outbox.sent(600)
    for _ in range(300):
        if got:
            break
        await asyncio.sleep_ms(5)
    assert len(got) == 1
    reader.cancel()
    t.close()
    srv.close()


class _Jammed:
    """The client's socket under congestion: of the first stanza it takes only a few bytes,
    then nothing more while the connection is up (the peer's window is full)."""

    def __init__(self, c, sock):
        self.c = c
        self.sock = sock
        self.jammed = False

    def readinto(self, buf):
        return self.sock.readinto(buf)

    def write(self, data):
        if self.jammed:
            if self.c._online:
                return None
            self.jammed = False  # the window opens just as the connection ends
        elif self.c._online and bytes(data[:8]) == b"<message":
            self.jammed = True
            return self.sock.write(data[:10])
        return self.sock.write(data)

    def close(self):
        self.sock.close()


async def test_a_stanza_cut_by_congestion_is_finished_before_our_closing_tag():
    # RFC 6120 §4.4 / XML 1.0: our stream must stay well-formed to its end; half a stanza
    # followed by </stream:stream> is a malformed stream for the server.
    from xmlstream.element import Element

    srv = _Server()
    c, run = await _online(srv)
    c.close_wait_ms = 1000
    t = c.transport
    t.sock = _Jammed(c, t.sock)
    c.send(Element("message", "jabber:client", {"to": "a@example.org/x"}))
    await until(lambda: t.sock.jammed, what="the stanza never started to leave")
    srv.peer.write(_CLOSE)  # the server ends its stream while ours is cut mid-stanza
    await srv.wait_closed()
    assert srv.got.endswith(b"<message to='a@example.org/x'/>" + _CLOSE), srv.got
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_a_failing_online_hook_costs_neither_the_connection_nor_the_hooks_after_it():
    srv = _Server()
    out = _Lines()
    from xmpp import login

    login.login = _logged_in
    c = _client(Log("test", out=out), port=srv.port)
    c.roster.load = _no_roster
    c.close_wait_ms = 200
    heard = []

    def boom():
        raise KeyError("a bug in a hook")

    c.on_online = [boom, lambda: heard.append(1)]
    run = asyncio.create_task(c.run())
    await srv.accept()
    await srv.wait_for(b"<presence")
    await until(lambda: heard, what="the hook after the failing one never ran")
    await asyncio.sleep_ms(100)
    assert c.online.is_set() and srv.poll(), out.text
    assert "online hook failed: KeyError" in out.text, out.text
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


def test_a_domain_the_server_no_longer_serves_waits_the_long_retry_as_an_unknown_one():
    # RFC 6120 §4.9.3.5 host-gone: the 'to' domain is no longer serviced there, which a retry
    # in two minutes does not change any more than for host-unknown (§4.9.3.6).
    c = _client()
    for cond in ("host-unknown", "host-gone"):
        assert c._after_stream_error(errors.StreamClosed(cond)) == c.opt.retry_permanent_ms, cond


def test_a_stream_error_our_own_fixed_header_or_output_caused_waits_the_long_retry():
    # RFC 6120 §4.9.3: these name what we send the same way at every attempt (the header's
    # namespaces, its encoding, our XML): a retry in two minutes fails as this one did.
    c = _client()
    for cond in (
        "invalid-namespace",
        "bad-namespace-prefix",
        "unsupported-encoding",
        "unsupported-feature",
        "restricted-xml",
        "unsupported-version",
    ):
        assert c._after_stream_error(errors.StreamClosed(cond)) == c.opt.retry_permanent_ms, cond
    for cond in ("system-shutdown", "reset", "connection-timeout", "internal-server-error"):
        assert c._after_stream_error(errors.StreamClosed(cond)) == 0, cond


class _Chunks:
    """A transport that hands out the given chunks, one per read, and keeps what is written."""

    tls = True

    def __init__(self, *chunks):
        self.chunks = list(chunks)
        self.sent = []

    async def readinto(self, buf):
        if not self.chunks:
            return 0
        c = self.chunks.pop(0)
        buf[: len(c)] = c
        return len(c)

    async def write(self, data):
        self.sent.append(data)


async def test_a_strangers_flood_to_the_bound_jid_does_not_fail_the_login():
    # Once bound the board is addressable, before it is online: anyone may send to its JID
    # (the resource is no secret), and their stanzas come in the reads that bring the
    # server's last login answers. They must not end the login: a stranger who keeps
    # sending would otherwise keep the board offline, one policy-violation at a time.
    from xmpp import login

    c = _client()
    bind = b"<iq type='result' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
    flood = b"<presence from='eve@evil.example/x' to='dev@example.org/sensor'/>" * 5
    sess = b"<iq type='result' id='sess'/>"
    c.transport = _Chunks(
        _HEADER[: -len(b"<stream:features/>")]
        + b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        + b"<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>",
        bind + flood[: 2 * len(flood) // 5],
        flood,
        sess,
    )
    await login.bind(c, await login.open_stream(c))
    assert c.full_jid == "dev@example.org/sensor"
    assert 0 < len(c.inbox) < 4, len(c.inbox)  # the server's answer kept its place


async def test_a_handler_still_at_work_when_the_link_drops_is_cancelled_with_it():
    # Its answer was meant for this connection: sent on the next one it would answer an iq
    # the server may have bounced, and the handler would hold its place and heap till then.
    srv = _Server()
    c, run = await _online(srv)
    gate = asyncio.Event()
    ended = []

    async def slow(el):
        try:
            await gate.wait()
        finally:
            ended.append(1)

    c.router.iq("urn:example:x", "x", slow)
    srv.peer.write(b"<iq type='get' id='q1' from='a@example.org/x'><x xmlns='urn:example:x'/>")
    srv.peer.write(b"</iq>")
    await until(lambda: c.router.tasks == 1, what="the handler did not start")
    srv.close()  # the link drops with the handler waiting
    await until(lambda: ended, what="the handler was left running")
    assert c.router.tasks == 0
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)


async def test_what_comes_while_the_roster_is_asked_for_is_judged_once_it_is_in():
    # Bound, a contact's request can reach us before the roster answer: judged then, the
    # contact would be refused (no contacts yet). It waits with the login's inbox, and
    # only our pending answers go through meanwhile.
    from xmpp import login

    srv = _Server()
    login.login = _logged_in
    c = _client(port=srv.port)
    c.close_wait_ms = 200
    seen = []
    c.router.iq(
        "urn:example:x", "x", lambda el: seen.append(c.roster.is_authorized(el.get("from")))
    )
    run = asyncio.create_task(c.run())
    await srv.accept()
    await srv.wait_for(b"jabber:iq:roster")
    got = srv.got.replace(b'"', b"'")
    i = got.index(b"id='") + 4
    rid = got[i : got.index(b"'", i)]
    srv.peer.write(
        b"<iq type='get' id='q1' from='friend@example.org/pc'><x xmlns='urn:example:x'/></iq>"
    )
    srv.peer.write(b"<iq type='result' id='nobody-asked'/>")  # an answer: not held
    await asyncio.sleep_ms(50)
    assert seen == [] and len(c.inbox) == 1
    srv.peer.write(b"<iq type='result' id='" + rid + b"'><query xmlns='jabber:iq:roster'>")
    srv.peer.write(b"<item jid='friend@example.org' subscription='both'/></query></iq>")
    await srv.wait_for(b"<presence")
    assert seen == [True] and not c.inbox
    c.stop()
    srv.peer.write(_CLOSE)
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_while_the_roster_is_asked_for_the_allow_list_is_served_and_a_flood_told_to_wait():
    # The allow list needs no roster: served at once, however many. Others wait in the
    # inbox; past its room an iq gets resource-constraint (type wait), not silence.
    from xmpp import login
    from xmpp import stanza as st

    srv = _Server()
    login.login = _logged_in
    cfg = {"jid": "dev@example.org", "password": "x", "host": "127.0.0.1", "tls": "plain"}
    c = Client(dict(cfg, port=srv.port), None, Log("test"), allow=("owner@example.org",))
    c.close_wait_ms = 200
    c.router.iq("urn:example:x", "x", lambda el: st.result(el))
    run = asyncio.create_task(c.run())
    await srv.accept()
    await srv.wait_for(b"jabber:iq:roster")
    iq = b"<iq type='get' id='%s%d' from='%s'><x xmlns='urn:example:x'/></iq>"
    for n in range(6):
        srv.peer.write(iq % (b"o", n, b"owner@example.org/pc"))
        srv.peer.write(iq % (b"s", n, b"stranger@example.net/x"))
    for n in range(6):
        await srv.wait_for(b"id='o%d'" % n)  # before the roster came
    assert len(c.inbox) == 4
    await srv.wait_for(b"id='s5'")
    got = srv.got.replace(b'"', b"'")
    assert b"<iq id='s4' type='error' to='stranger@example.net/x'><error type='wait'>" in got
    assert b"id='s3'" not in got  # held, answered once the roster is in
    c.stop()
    srv.peer.write(_CLOSE)
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


async def test_the_tasks_made_before_one_the_heap_had_no_room_for_end_with_the_connection():
    # They were made in one tuple: the third failing, the first two were in no list the
    # teardown read, and ran on into the next connection's login.
    from xmpp import client as client_module
    from xmpp import login

    made = []

    class _Asyncio:
        def __getattr__(self, name):
            return getattr(asyncio, name)

        def create_task(self, coro):
            if len(made) == 2:
                coro.close()
                made.append(None)
                raise MemoryError()
            made.append(asyncio.create_task(coro))
            return made[-1]

    srv = _Server()
    login.login = _logged_in
    out = _Lines()
    c = _client(Log("test", out=out), port=srv.port, backoff_base_s=60)
    c.close_wait_ms = 200
    client_module.asyncio = _Asyncio()
    try:
        run = asyncio.create_task(c.run())
        await srv.accept()
        await until(lambda: "out of memory during the connection" in out.text, what=out.text)
        await until(lambda: made[0].done() and made[1].done(), 2000, "a task runs on")
    finally:
        client_module.asyncio = asyncio
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    srv.close()


def test_send_never_raises_though_its_refusal_cannot_be_made_either():
    from xmlstream.element import Element

    c = _client()
    c._online = True

    def no_room(*args):
        raise MemoryError()

    c.outbox.put_nowait = no_room
    c._not_sent = no_room  # its log line and its error answer, out of memory too
    assert c.send(Element("message", "jabber:client", {"to": "a@example.org"})) is False


async def test_output_queued_when_the_link_dies_is_not_kept_for_the_next_connection():
    from xmlstream.element import Element

    class _DeadLink:
        up = False

        def close(self):
            pass

    c = _client()
    c._online = c._routed = True
    assert c.send(Element("message", None, {"to": "owner@example.org"}))
    assert len(c.outbox) > 0
    await c._teardown(_DeadLink(), ())  # a reset link: no closing tag, nothing drained
    assert len(c.outbox) == 0


async def test_a_roster_larger_than_the_stanza_limit_is_not_asked_for_again():
    # Shared rosters put every user of a server in the board's: the answer, one stanza,
    # outgrows max_stanza. The stream ends with policy-violation as for any oversized
    # stanza, and the next login goes online without it, on the allow list alone.
    from xmpp.transport import Transport

    connect = Transport.connect

    async def connect_then_patch(self, host, port):
        # The client imports the login anew for each connection: patched before it does.
        await connect(self, host, port)
        from xmpp import login

        login.login = _logged_in

    Transport.connect = connect_then_patch
    try:
        await _roster_too_large()
    finally:
        Transport.connect = connect


async def _roster_too_large():
    srv = _Server()
    out = _Lines()
    c = _client(Log("test", out=out), port=srv.port, backoff_base_s=0)
    c.close_wait_ms = 200
    run = asyncio.create_task(c.run())
    await srv.accept(again=True)
    await srv.wait_for(b"jabber:iq:roster")
    got = srv.got.replace(b'"', b"'")
    i = got.index(b"id='") + 4
    rid = got[i : got.index(b"'", i)]
    item = b"<item jid='c%d@example.org' subscription='both'><group>All</group></item>"
    items = b"".join(item.replace(b"%d", b"%03d" % k) for k in range(80))
    srv.peer.write(b"<iq type='result' id='" + rid + b"'><query xmlns='jabber:iq:roster'>")
    srv.peer.write(items + b"</query></iq>")
    await srv.wait_for(b"policy-violation")
    srv.peer.close()
    await srv.accept(again=True)  # the next login
    await srv.wait_for(b"<presence")
    assert b"jabber:iq:roster" not in srv.got
    assert c.online.is_set() and not c.roster.contacts
    assert "roster is larger than max_stanza" in out.text, out.text
    c.stop()
    srv.peer.write(_CLOSE)
    await asyncio.wait_for_ms(run, 10_000)
    srv.listener.close()
    srv.close()


async def test_a_login_the_server_stalls_is_logged_as_such_and_its_stream_closed():
    # The server sends its header and then nothing: the login times out, and our stream,
    # whose TCP link still works, ends with its closing tag (RFC 6120 §4.4).
    from loopback import listener

    s, port = listener()
    s.setblocking(False)
    out = _Lines()
    c = _client(Log("test", out=out), port=port, login_timeout_s=1)
    c.close_wait_ms = 200
    run = asyncio.create_task(c.run())
    srv = _Server()
    srv.listener.close()
    srv.listener = s
    await srv.accept(again=True, header=_HEADER[: _HEADER.index(b"<stream:features")])
    await srv.wait_for(_CLOSE, ms=5000)
    await until(lambda: "login failed" in out.text, what="no log line")
    assert "login failed: not done within 1000 ms" in out.text, out.text
    assert "timed out connecting" not in out.text
    c.stop()
    await asyncio.wait_for_ms(run, 10_000)
    s.close()
    srv.close()

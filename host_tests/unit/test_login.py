# SASL (RFC 6120 §6) and resource binding (§7) against scripted server answers, no socket.
from xmlstream.element import Element
from xmpp import login
from xmpp import stanza as st
from xmpp.errors import LoginFailed
from xmpp.router import Router

HEAPSIZE = "256k"  # login.py compiled from source


class _Opt:
    jid = "dev@example.org"
    local = "dev"
    password = "pencil"
    resource = "sensor"
    retry_permanent_ms = 600_000


class _Transport:
    tls = True

    def __init__(self):
        self.sent = []

    async def write(self, data):
        self.sent.append(data)


class _Client:
    sasl_cache = None

    def __init__(self, *answers):
        self.opt = _Opt()
        self.transport = _Transport()
        self.full_jid = None
        self.inbox = list(answers)  # all read already
        self.router = Router(None, None, "test", "0")
        self.router.account = "dev@example.org"

    async def next_stanza(self, keep=0):
        return self.inbox.pop(keep)


def _features():
    return Element("features", st.NS_STREAMS, None, [Element("bind", st.NS_BIND)])


def _error(cond, type_):
    err = Element("error", st.NS_CLIENT, {"type": type_}, [Element(cond, st.NS_STANZAS)])
    return Element("iq", st.NS_CLIENT, {"type": "error", "id": "bind"}, [err])


async def _floor(answer):
    try:
        await login.bind(_Client(answer), _features())
    except LoginFailed as e:
        return e.retry_floor_ms
    return None


async def test_a_bind_refusal_of_type_wait_is_retried_on_the_usual_backoff():
    assert await _floor(_error("resource-constraint", "wait")) == 0


async def test_a_bind_conflict_waits_the_long_retry():
    assert await _floor(_error("conflict", "cancel")) == 600_000


async def test_the_jid_the_server_binds_is_kept():
    jid = Element("jid", st.NS_BIND, None, None, "dev@example.org/sensor-42")
    ok = Element(
        "iq",
        st.NS_CLIENT,
        {"type": "result", "id": "bind"},
        [Element("bind", st.NS_BIND, None, [jid])],
    )
    c = _Client(ok)
    await login.bind(c, _features())
    assert c.full_jid == "dev@example.org/sensor-42"


def _sasl(name, text):
    return Element(name, st.NS_SASL, None, None, text)


def _mechanisms(*names):
    mechs = Element("mechanisms", st.NS_SASL, None, [_sasl("mechanism", n) for n in names])
    return Element("features", st.NS_STREAMS, None, [mechs])


async def _authenticate(*answers, mech="SCRAM-SHA-1"):
    c = _Client(*answers)
    try:
        await login.authenticate(c, _mechanisms(mech))
    except LoginFailed as e:
        return c.transport.sent, str(e)
    return c.transport.sent, None


async def test_a_challenge_that_is_not_strict_base64_is_aborted_as_incorrect_encoding():
    # binascii alone would read each of these as valid: it skips foreign characters and
    # stops at the first padding.
    for text in ("cj1h!YmM=", "cj1hYmM=junk", "cj1h YmM="):
        sent, why = await _authenticate(_sasl("challenge", text))
        assert why is not None and "incorrect-encoding" in why, (text, why)
        assert sent[-1] == b"<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", sent


def test_a_scram_salt_in_loose_base64_is_incorrect_encoding():
    import binascii

    from xmpp import sasl

    salt = b"QSXCR+Q6sek8bf92!"
    assert binascii.a2b_base64(salt)  # what binascii alone would accept
    auth = sasl.Authenticator("dev", "pencil", ["SCRAM-SHA-1"], True, None)
    nonce = auth.start()[1].split(b"r=")[1] + b"srv"
    try:
        auth.challenge(b"r=%s,s=%s,i=4096" % (nonce, salt))
    except sasl.SASLError as e:
        assert e.condition == "incorrect-encoding", e
    else:
        raise AssertionError("loose base64 salt accepted")


async def test_a_success_with_an_empty_payload_marker_is_not_an_encoding_error():
    # "=" is how RFC 6120 §6.4.2 writes an empty payload; SCRAM then misses its v=.
    sent, why = await _authenticate(_sasl("success", "="))
    assert why is not None and "server-signature" in why, why


def _ping(id_):
    return Element(
        "iq",
        st.NS_CLIENT,
        {"type": "get", "id": id_, "from": "owner@example.org/phone"},
        [Element("ping", st.NS_PING)],
    )


async def test_an_iq_before_the_session_answer_neither_fails_the_login_nor_is_lost():
    # RFC 6121 §A: the session is asked for once bound, so an iq to the bound JID may come
    # before its answer. It is no answer to ours, and it stays for the router (§8.2.3).
    ok = Element("iq", st.NS_CLIENT, {"type": "result", "id": "bind"})
    sess = Element("iq", st.NS_CLIENT, {"type": "result", "id": "sess"})
    c = _Client(ok, _ping("early"), sess)
    features = _features()
    features.children.append(Element("session", st.NS_SESSION))
    await login.bind(c, features)
    assert [el.get("id") for el in c.inbox] == ["early"]


async def test_an_iq_from_a_peer_reusing_the_bind_id_is_no_answer_and_is_kept():
    # Only a result or error answers our iq: a get with the same id is a request to us.
    ok = Element("iq", st.NS_CLIENT, {"type": "result", "id": "bind"})
    c = _Client(_ping("bind"), ok)
    await login.bind(c, _features())
    assert c.full_jid == "dev@example.org/sensor"
    assert [el.get("type") for el in c.inbox] == ["get"]


async def _sasl_floor(cond, text_first=False):
    kids = [Element(cond, st.NS_SASL)]
    if text_first:  # the schema puts the condition first; not every server may
        kids.insert(0, Element("text", st.NS_SASL, None, None, "try again later"))
    failure = Element("failure", st.NS_SASL, None, kids)
    try:
        await login.authenticate(_Client(failure), _mechanisms("SCRAM-SHA-1"))
    except LoginFailed as e:
        return e.retry_floor_ms
    return None


async def test_a_sasl_failure_waits_the_long_retry_unless_it_is_temporary():
    assert await _sasl_floor("not-authorized") == 600_000
    assert await _sasl_floor("temporary-auth-failure") == 0
    assert await _sasl_floor("temporary-auth-failure", text_first=True) == 0


class _Header(_Client):
    class xml:
        def reset():
            pass

        def forget():
            pass

    async def next_stanza(self, keep=0):
        return Element("features", st.NS_STREAM)


async def test_the_stream_header_names_our_account_only_inside_tls():
    # RFC 6120 §4.7.1: in clear text the 'from' would tell any listener who we are.
    for tls in (False, True):
        c = _Header()
        c.opt.domain = "example.org"
        c.transport.tls = tls
        await login.open_stream(c)
        header = c.transport.sent[0]
        assert b"to='example.org'" in header, header
        assert (b" from='dev@example.org'" in header) == tls, header


class _Sink:
    def stream_start(self, attrs):
        pass

    def stanza(self, el):
        pass


async def test_each_stream_of_the_login_starts_with_empty_name_caches():
    # What one stream of the login read (STARTTLS, SASL) is not read again: its names would
    # hold heap through the rest of the login, where the client's heap peaks.
    from xmlstream.stream import XMLStream

    c = _Header()
    c.opt.domain = "example.org"
    c.xml = XMLStream(_Sink())
    c.xml.feed(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
        b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
    )
    tok = c.xml._tok
    assert tok._heads and tok._tags
    await login.open_stream(c)
    assert not (tok._heads or tok._tags or tok._keys or tok._nskeys or tok._values)


async def test_a_session_or_bind_answer_from_a_peer_is_no_answer_and_is_kept():
    # Once bound we are addressable, and "bind" and "sess" are no secret: an iq error with
    # that id from anyone but our server or account (RFC 6120 §8.1.2.1) must not fail the
    # login (a conflict would mean the long retry), nor a result pass for the server's.
    err = Element("error", st.NS_CLIENT, {"type": "cancel"}, [Element("conflict", st.NS_STANZAS)])
    frm = "eve@evil.example/x"
    fake_bind = Element("iq", st.NS_CLIENT, {"type": "error", "id": "bind", "from": frm}, [err])
    fake_sess = Element("iq", st.NS_CLIENT, {"type": "error", "id": "sess", "from": frm}, [err])
    ok = Element("iq", st.NS_CLIENT, {"type": "result", "id": "bind"})
    sess = Element("iq", st.NS_CLIENT, {"type": "result", "id": "sess", "from": "example.org"})
    c = _Client(fake_bind, ok, fake_sess, sess)
    features = _features()
    features.children.append(Element("session", st.NS_SESSION))
    await login.bind(c, features)
    assert c.full_jid == "dev@example.org/sensor"
    assert [el.get("id") for el in c.inbox] == ["bind", "sess"]


async def test_a_success_that_fails_verification_ends_the_login_without_an_abort():
    # RFC 6120 §6.4.6: after <success/> the exchange is over; an <abort/> then answers
    # nothing, and a server may take it for a protocol error. The stream just closes.
    sent, why = await _authenticate(_sasl("success", "dj1hYmM="))  # v=abc, out of order
    assert why is not None and why.startswith("SASL SCRAM-SHA-1"), why
    assert len(sent) == 1 and sent[0].startswith(b"<auth "), sent

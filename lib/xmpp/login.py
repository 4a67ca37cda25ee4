"""Stream negotiation (RFC 6120 §4-§7): header, STARTTLS, SASL, bind, session.

Sequential code over the connection's first stanzas: `client.next_stanza()` reads and
parses until one is there. Every refusal raises LoginFailed, with a long retry floor where
trying again unchanged cannot help.
"""

import binascii

from xmlstream.element import Element, tostring
from xmpp import jid as jids
from xmpp import sasl
from xmpp import stanza as st
from xmpp.errors import LoginFailed
from xmpp.scram import unb64
from xmpp.transport import tls_context


async def login(c):
    """Negotiate the stream on client `c`'s fresh transport, up to a bound resource."""
    o, t = c.opt, c.transport
    features = await open_stream(c)
    if not t.tls and o.tls != "plain":
        if features.find("starttls", st.NS_TLS) is None:
            raise LoginFailed(
                "server offers no STARTTLS; refusing to log in in clear", o.retry_permanent_ms
            )
        await t.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        if (await c.next_stanza()).name != "proceed":
            raise LoginFailed("STARTTLS refused by server")
        t.start_tls(c.context or tls_context(c.ca_der), o.domain)
        features = await open_stream(c)
    await authenticate(c, features)
    features = None  # not held while the next stream's features are read
    await bind(c, await open_stream(c))


async def open_stream(c):
    """Send a stream header (RFC 6120 §4.7) and return the server's features."""
    c.xml.reset()
    c.xml.forget()  # the names the last stream read (STARTTLS, SASL) are not read again
    c.inbox.clear()
    o = c.opt
    frm = " from='%s'" % jids.bare(o.jid) if c.transport.tls else ""
    header = (
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='%s'%s version='1.0' "
        "xml:lang='en'>" % (o.domain, frm)
    )
    await c.transport.write(header.encode())
    features = await c.next_stanza()
    if features.name != "features" or features.ns != st.NS_STREAM:
        raise LoginFailed(
            "expected stream features, got <%s>" % features.name, 0, "unsupported-stanza-type"
        )
    return features


async def authenticate(c, features):
    """SASL (RFC 6120 §6) with the best mechanism `features` offers; LoginFailed if refused."""
    o, t = c.opt, c.transport
    mechs = features.find("mechanisms", st.NS_SASL)
    offered = [m.text for m in mechs.children] if mechs is not None else []
    try:
        auth = sasl.Authenticator(o.local, o.password, offered, t.tls, c.sasl_cache)
        mech, initial = auth.start()
    except sasl.SASLError as e:
        # `from None`: chaining (`from e`) makes MicroPython warn on the console.
        raise LoginFailed(str(e), o.retry_permanent_ms) from None
    await t.write(
        b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='%s'>%s</auth>"
        % (mech.encode(), _b64(initial) or b"=")  # "=": an empty initial response
    )
    while True:
        el = await c.next_stanza()
        try:
            if el.name == "challenge":
                resp = _b64(auth.challenge(_unb64(el.text)))
                await t.write(
                    b"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>" % resp
                )
            elif el.name == "success":
                break
            elif el.name == "failure":
                cond = "not-authorized"
                for k in el.children:
                    if k.name != "text":  # RFC 6120 §6.5: a condition, and maybe a <text>
                        cond = k.name
                        break
                floor = 0 if sasl.retry_soon(cond) else o.retry_permanent_ms
                raise LoginFailed("SASL %s: %s" % (mech, cond), floor)
            else:
                raise LoginFailed(
                    "unexpected <%s> during SASL" % el.name, 0, "unsupported-stanza-type"
                )
        except sasl.SASLError as e:
            # RFC 6120 §6.4.5: we end the exchange; the stream closes after it anyway. A
            # server that cannot prove it knows our password is not our server.
            await t.write(b"<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            # `from None`: chaining (`from e`) makes MicroPython warn on the console.
            raise LoginFailed("SASL %s: %s" % (mech, e), o.retry_permanent_ms) from None
    try:
        auth.success(_unb64(el.text))
    except sasl.SASLError as e:
        # The exchange is over (RFC 6120 §6.4.6), so no <abort/>: the stream just closes.
        raise LoginFailed("SASL %s: %s" % (mech, e), o.retry_permanent_ms) from None
    c.log.info("authenticated with %s" % mech)


async def bind(c, features):
    """Bind the configured resource; keep the JID the server returns (RFC 6120 §7)."""
    o = c.opt
    if features.find("bind", st.NS_BIND) is None:
        raise LoginFailed("server offers no resource binding")
    # RFC 6121 §A: only servers that mark the session as required still need it.
    session = features.find("session", st.NS_SESSION)
    session = session is not None and session.find("optional") is None
    features = None  # not held over the round trips below: the login's heap peaks here
    res = Element("resource", st.NS_BIND, None, None, o.resource)
    await c.transport.write(
        tostring(st.iq("set", None, "bind", Element("bind", st.NS_BIND, None, [res])))
    )
    answer = await _answer(c, "bind")
    if answer.get("type") != "result":
        cond = st.error_condition(answer)
        err = answer.find("error", st.NS_CLIENT)
        # RFC 6120 §7.6.2: type 'wait' (resource-constraint) passes; the rest needs a fix.
        transient = err is not None and err.get("type") == "wait"
        raise LoginFailed("bind refused: %s" % cond, 0 if transient else o.retry_permanent_ms)
    bound = answer.find("bind", st.NS_BIND)
    jid_el = bound.find("jid", st.NS_BIND) if bound is not None else None
    if jid_el is not None and jid_el.text:
        c.full_jid = jid_el.text
    else:
        c.full_jid = "%s/%s" % (jids.bare(o.jid), o.resource)
    if session:
        iq = st.iq("set", None, "sess", Element("session", st.NS_SESSION))
        await c.transport.write(tostring(iq))
        if (await _answer(c, "sess")).get("type") != "result":
            raise LoginFailed("session establishment refused")


async def _answer(c, id_):
    """The answer to our iq `id_`. Once bound, we are addressable: a stanza before it (an
    iq to us) is no answer, and stays in the inbox for the router (RFC 6120 §8.2.3). Nor is
    one with our id from anyone but our server or account (no 'from', our domain or bare
    JID, RFC 6120 §8.1.2.1): "bind" and "sess" are no secret."""
    n = 0
    while True:
        el = await c.next_stanza(n)
        if el.name == "iq" and el.get("id") == id_ and el.get("type") in ("result", "error"):
            if c.router.answers(el.get("from"), None):
                return el
        c.inbox.insert(n, el)
        n += 1


def _b64(data):
    return binascii.b2a_base64(data)[:-1] if data else b""


def _unb64(text):
    if not text or text == "=":  # RFC 6120 §6.4.2: "=" is an empty payload
        return b""
    return unb64(text, "bad base64 from server")

"""Namespaces and the few stanza shapes every layer replies with (RFC 6120 §8)."""

from xmlstream.element import Element

NS_CLIENT = "jabber:client"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
NS_PING = "urn:xmpp:ping"
NS_VERSION = "jabber:iq:version"
NS_ROSTER = "jabber:iq:roster"

# RFC 6120 §8.3.3: the error type that goes with each condition we send.
_ERROR_TYPES = {
    "bad-request": "modify",
    "feature-not-implemented": "cancel",
    "forbidden": "auth",
    "internal-server-error": "cancel",
    "item-not-found": "cancel",
    "not-acceptable": "modify",
    "not-allowed": "cancel",
    "resource-constraint": "wait",
    "service-unavailable": "cancel",
    "unexpected-request": "wait",
}


def iq(type_, to=None, id_=None, child=None):
    attrs = {"type": type_}
    if to:
        attrs["to"] = to
    if id_ is not None:
        attrs["id"] = id_
    return Element("iq", NS_CLIENT, attrs, [child] if child is not None else None)


def result(req, child=None):
    """The result for iq `req`: same id, addressed back to its sender."""
    return iq("result", req.get("from"), req.get("id"), child)


def error_element(condition, text=None, type_=None, app=None):
    children = [Element(condition, NS_STANZAS)]
    if text:
        children.append(Element("text", NS_STANZAS, None, None, text))
    if app is not None:
        children.append(app)  # RFC 6120 §8.3.2: an application-specific condition, last
    return Element("error", NS_CLIENT, {"type": type_ or _ERROR_TYPES[condition]}, children)


def error(req, condition, text=None, extra=None, app=None):
    """An error reply to stanza `req` (iq, message or presence), same id, back to sender.

    `extra` is an application element placed before `<error/>` (XEP-0323's `<rejected>`);
    `app` an application-specific condition inside it (XEP-0050's `<bad-action/>`).
    """
    attrs = {"type": "error"}
    if req.get("from"):
        attrs["to"] = req.get("from")
    if req.get("id") is not None:
        attrs["id"] = req.get("id")
    children = [extra] if extra is not None else []
    children.append(error_element(condition, text, None, app))
    return Element(req.name, NS_CLIENT, attrs, children)


def error_condition(el):
    """The defined condition of an error stanza, or None."""
    err = el.find("error", NS_CLIENT)
    if err is None:
        return None
    for c in err.children:
        if c.ns == NS_STANZAS and c.name != "text":
            return c.name
    return "undefined-condition"

"""Why a connection ended, and what that means for the next attempt (RFC 6120 §4.9)."""

from micropython import const

from xmpp import stanza as st

# Stream errors after which an immediate retry would fail the same way (RFC 6120 §4.9.3):
# the account or address is refused, or what we send (the same at every attempt) is.
PERMANENT = (
    "conflict",
    "not-authorized",
    "policy-violation",
    "host-gone",
    "host-unknown",
    "improper-addressing",
    "invalid-from",
    "unsupported-version",
    "invalid-namespace",
    "bad-namespace-prefix",
    "unsupported-encoding",
    "unsupported-feature",
    "restricted-xml",
)
MAX_REDIRECTS = const(3)  # see-other-host hops before we fall back to the configured host


class StreamClosed(Exception):
    """The connection ended; `condition` names the stream error, if any."""

    def __init__(self, condition=None, text=None, host=None):
        super().__init__(condition or "closed")
        self.condition = condition
        self.text = text
        self.host = host  # see-other-host's new address (RFC 6120 §4.9.3.19)


class LoginFailed(Exception):
    """The server refused us; `retry_floor_ms` is the least wait before trying again;
    `condition`: the stream error we owe the server (it sent something we cannot take),
    or None when closing the stream says enough."""

    def __init__(self, reason, retry_floor_ms=0, condition=None):
        super().__init__(reason)
        self.retry_floor_ms = retry_floor_ms
        self.condition = condition


def stream_closed(el):
    """The StreamClosed for a received `<stream:error>` element."""
    cond = text = host = None
    for c in el.children:
        if c.ns == st.NS_STREAMS:
            if c.name == "text":
                text = text or c.text
            else:
                cond = c.name
                if cond == "see-other-host":
                    host = c.text or None  # the new address is the element's text
    return StreamClosed(cond or "undefined-condition", text, host)


def redirect_target(text, default_port):
    """(host, port) from a see-other-host address: 'host', 'host:port' or '[v6]:port'."""
    text = text.strip()
    host, _, port = text.rpartition(":")
    if not host or "]" in port:
        host, port = text, ""
    return host.strip("[]"), int(port) if port.isdigit() else default_port


def error_out(condition):
    """The bytes that tell the server why we close the stream."""
    return (
        "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        "</stream:stream>" % condition
    ).encode()

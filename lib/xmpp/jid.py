"""JID helpers (RFC 7622): split, join, bare, domain, resource, with cheap checks.

    jid.split("Dev@Example.org/Sensor")   # ("dev", "example.org", "Sensor")
    jid.bare("dev@example.org/sensor")    # "dev@example.org"
    jid.resource("example.org")           # ""

Absent parts are "". Local part and domain are lowercased, ASCII only (MicroPython's
str.lower() maps nothing else), and a domain's trailing dot is dropped (RFC 7622 §3.2); the
resource keeps its case. There is no stringprep/PRECIS on a microcontroller: non-ASCII JIDs
that differ only in case or Unicode normalisation compare unequal. Checks: each part at most
1023 bytes of UTF-8, no empty domain, no "@" without a local part, no "/" without a resource,
no characters RFC 7622 §3.3.1 forbids in a local part. A malformed JID raises JIDError.
"""

_MAX_PART = 1023  # bytes, RFC 7622 §3.1
_LOCAL_FORBIDDEN = "\"&'/:<>@ \t\r\n"  # RFC 7622 §3.3.1, plus spaces (PRECIS IdentifierClass)
_DOMAIN_FORBIDDEN = "\"&'/<>@ \t\r\n\\"


class JIDError(ValueError):
    """A malformed JID; the message says which rule it broke."""


def _check_length(part, what):
    # A character is at most 4 bytes of UTF-8: only long strings need encoding to measure.
    if len(part) > _MAX_PART // 4 and len(part.encode()) > _MAX_PART:
        raise JIDError(what + " longer than 1023 bytes")


def _check_chars(part, forbidden, what):
    # One C-level scan per forbidden character; XML already excludes most control characters.
    for c in forbidden:
        if c in part:
            raise JIDError("bad character in " + what)


def split(jid):
    """(local, domain, resource) of a JID string, checked and normalised."""
    if not jid:  # "" or a missing attribute (None)
        raise JIDError("empty JID")
    rest, slash, res = jid.partition("/")
    if slash and not res:
        raise JIDError("empty resource")
    if "@" in rest:
        local, _, dom = rest.partition("@")
        if not local:
            raise JIDError("empty local part")
        _check_length(local, "local part")
        _check_chars(local, _LOCAL_FORBIDDEN, "local part")
    else:
        local, dom = "", rest
    if dom.endswith("."):
        dom = dom[:-1]
    if not dom or dom.startswith(".") or ".." in dom:
        raise JIDError("empty domain or domain label")
    _check_length(dom, "domain")
    _check_chars(dom, _DOMAIN_FORBIDDEN, "domain")
    if res:
        _check_length(res, "resource")
    return local.lower(), dom.lower(), res


def join(local, domain, resource=""):
    """The JID string of its parts (not checked: the parts come from split())."""
    s = local + "@" + domain if local else domain
    return s + "/" + resource if resource else s


def normalize(jid):
    """The checked, normalised full JID."""
    return join(*split(jid))


def bare(jid):
    """The JID without its resource, normalised."""
    local, dom, _ = split(jid)
    return local + "@" + dom if local else dom


def localpart(jid):
    """The local part, or ""."""
    return split(jid)[0]


def domain(jid):
    """The domain, normalised."""
    return split(jid)[1]


def resource(jid):
    """The resource, or ""."""
    return split(jid)[2]

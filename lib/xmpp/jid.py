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

# No const() here: tools/deploy.py checks a config (thing.config, which uses this module)
# under CPython.
_MAX_PART = 1023  # bytes, RFC 7622 §3.1
# Forbidden in both parts (RFC 7622 §3.3.1 for the local part, plus spaces as PRECIS has
# it); ':' is allowed in a domain (inside an [IPv6] literal) and '\' in a local part.
# Tuples, not strings: iterating a str makes a new one-character str at each step.
_FORBIDDEN = tuple("\"&'<>@ \t\r\n")
_LOCAL_ONLY = ":"
_DOMAIN_ONLY = "\\"


class JIDError(ValueError):
    """A malformed JID; the message says which rule it broke."""


def _check_length(s, start, end, what):
    # A character is at most 4 bytes of UTF-8: only long parts need encoding to measure.
    if end - start > _MAX_PART // 4 and len(s[start:end].encode()) > _MAX_PART:
        raise JIDError(what + " longer than 1023 bytes")


def _parse(jid):
    """(normalised bare JID, index of the "/" or -1), the whole JID checked.

    Every check works on indexes into the one string: the router and the roster look at
    the JIDs of every stanza, and in MicroPython each new str (a slice, a partition, a
    lower()) is first looked up among all interned strings, a linear scan. An already
    normal bare JID comes back as the very object passed in.
    """
    if not jid:  # "" or a missing attribute (None)
        raise JIDError("empty JID")
    slash = jid.find("/")
    if slash < 0:
        rest = jid
    else:
        if slash == len(jid) - 1:
            raise JIDError("empty resource")
        _check_length(jid, slash + 1, len(jid), "resource")
        rest = jid[:slash]
    at = rest.find("@")
    if at == 0:
        raise JIDError("empty local part")
    if rest.endswith("."):
        rest = rest[:-1]
    d = at + 1  # where the domain starts
    if d == len(rest) or rest.startswith(".", d) or rest.endswith(".") or rest.find("..", d) >= 0:
        raise JIDError("empty domain or domain label")
    for c in _FORBIDDEN:
        i = rest.find(c)
        if i >= 0 and i != at:
            raise JIDError("bad character in " + ("local part" if i < at else "domain"))
    if rest.find(_LOCAL_ONLY, 0, max(at, 0)) >= 0:
        raise JIDError("bad character in local part")
    if rest.find(_DOMAIN_ONLY, d) >= 0 or rest.find("@", d) >= 0:
        raise JIDError("bad character in domain")
    # RFC 7622 §3.2: a name, an IPv4 address or an [IPv6] literal; never a port. Compared
    # as bytes: a one-character str (a literal, or an index into a str) is interned for good.
    if rest.find(":", d) >= 0:
        b = rest[d:].encode()
        if b[0] != 0x5B or b[-1] != 0x5D:  # not [...]
            raise JIDError("':' in a domain outside an [IPv6] literal")
    if at > 0:
        _check_length(rest, 0, at, "local part")
    _check_length(rest, d, len(rest), "domain")
    # islower(): some cased character and none upper case, so lower() would change nothing.
    # Both map ASCII only on MicroPython.
    if not rest.islower():
        rest = rest.lower()
    return rest, slash


def split(jid):
    """(local, domain, resource) of a JID string, checked and normalised."""
    b, slash = _parse(jid)
    res = jid[slash + 1 :] if slash >= 0 else ""
    at = b.find("@")
    if at < 0:
        return "", b, res
    return b[:at], b[at + 1 :], res


def join(local, domain, resource=""):
    """The JID string of its parts (not checked: the parts come from split())."""
    s = local + "@" + domain if local else domain
    return s + "/" + resource if resource else s


def normalize(jid):
    """The checked, normalised full JID (the object passed in when it already is)."""
    b, slash = _parse(jid)
    return _full(jid, b, slash)


def normal(jid):
    """(normalised full JID, normalised bare JID), from one parse: what normalize() and
    bare() return, for a caller that needs both."""
    b, slash = _parse(jid)
    return _full(jid, b, slash), b


def _full(jid, b, slash):
    # jid with its bare part `b` (normalised) before the '/' at `slash` (-1: none).
    if slash < 0:
        return b
    if len(b) == slash and jid.startswith(b):
        return jid
    return b + jid[slash:]


def bare(jid):
    """The JID without its resource, normalised."""
    return _parse(jid)[0]


def localpart(jid):
    """The local part, or ""."""
    return split(jid)[0]


def domain(jid):
    """The domain, normalised."""
    b = _parse(jid)[0]
    at = b.find("@")
    return b[at + 1 :] if at >= 0 else b


def resource(jid):
    """The resource, or ""."""
    return split(jid)[2]

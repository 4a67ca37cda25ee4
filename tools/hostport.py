"""A server given as host[:port] on a command line (tools/provision.py, tools/query.py)."""


def split(server):
    """(host, port or None) of "host", "host:port", "[v6]" or "[v6]:port"; ValueError for
    anything else (an empty or non-numeric port, an IPv6 address without brackets). The
    port's range is the caller's to judge."""
    if server.startswith("["):
        host, close, rest = server[1:].partition("]")
        if not close or not host or (rest and not rest.startswith(":")):
            raise ValueError("%r: an IPv6 address goes in brackets, [::1] or [::1]:5222" % server)
        port = rest[1:] if rest else None
    else:
        host, colon, port = server.partition(":")
        if ":" in port:
            raise ValueError("%r: an IPv6 address goes in brackets, [::1] or [::1]:5222" % server)
        port = port if colon else None
    if port is not None and not port.isdigit():
        raise ValueError("%r: the port must be a number" % server)
    return host, None if port is None else int(port)

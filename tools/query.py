"""Read a sensor over XMPP with XEP-0323, from the command line.

Usage:
  tools/query DEVICE_JID [--node N]... [--field F]... [--momentary | --all | --history
              [--from T] [--to T]] [--json] [--watch SECONDS [--count N]] [--timeout S]
              --jid ME@example.org [--password PW] [--server host[:port]] [--ca ca.pem]
              [--tls starttls|direct|plain]

DEVICE_JID is the device's full JID (dev@example.org/sensor); a bare JID gets the resource
"sensor", since servers answer requests to a bare JID themselves. The password may come
from the QUERY_PASSWORD environment variable instead of --password. The requester is
slixmpp's xep_0323 plugin; --ca verifies the server's TLS certificate against that CA only.

Prints a table (or JSON with --json) and exits 0 when the readout is done; 1 when the
device reports a failure (its data, if any, is still printed); 3 when it rejects the
request; 4 on a timeout; 5 when the connection or the login fails; 2 for bad arguments;
130 when interrupted (Ctrl-C) before a readout finished.
--watch repeats the readout every SECONDS until interrupted (or --count N readouts); the
exit status is then the last readout's.
"""

import argparse
import asyncio
import getpass
import json
import logging
import os
import ssl
import sys

import hostport  # tools/, beside this script

OK, FAILURE, USAGE, REJECTED, TIMEOUT, NO_CONNECTION = 0, 1, 2, 3, 4, 5
DEFAULT_RESOURCE = "sensor"
# XEP-0323 §3.1 field type flags, as a readout's types column shows them (the others are
# quality flags such as "automaticReadout").
_TYPES = ("momentary", "peak", "status", "computed", "identity")


class QueryError(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="query", description=__doc__.split("\n")[0])
    ap.add_argument("device", help="the device's JID (full JID: dev@example.org/sensor)")
    ap.add_argument("--node", action="append", default=[], help="only this node (repeat)")
    ap.add_argument("--field", action="append", default=[], help="only this field (repeat)")
    kind = ap.add_mutually_exclusive_group()
    kind.add_argument("--momentary", action="store_true", help="current values only")
    kind.add_argument("--all", action="store_true", help="every kind of value")
    kind.add_argument("--history", action="store_true", help="stored history values")
    ap.add_argument("--from", dest="start", help="history from this time (ISO 8601, UTC)")
    ap.add_argument("--to", dest="end", help="history up to this time (ISO 8601, UTC)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--watch", type=float, metavar="SECONDS", help="repeat every SECONDS")
    ap.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N readouts")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds to wait (default 15)")
    ap.add_argument("--jid", required=True, help="the requester's JID")
    ap.add_argument("--password", help="the requester's password (or QUERY_PASSWORD)")
    ap.add_argument("--server", help="host[:port] to connect to (default: the JID's domain)")
    ap.add_argument("--ca", help="CA certificate (PEM or DER) to verify the server with")
    ap.add_argument("--tls", choices=("starttls", "direct", "plain"), default="starttls")
    ap.add_argument("--verbose", "-v", action="store_true", help="log the XMPP traffic")
    args = ap.parse_args(argv)
    if (args.start or args.end) and (args.momentary or args.all):
        ap.error("--from/--to select history; they do not go with --momentary or --all")
    for opt, value in (("--from", args.start), ("--to", args.end)):
        if value is not None and not _is_datetime(value):
            ap.error("%s %s: not a date and time, e.g. 2026-11-28T10:00:00Z" % (opt, value))
    if args.watch is not None and args.watch <= 0:
        ap.error("--watch needs a positive number of seconds")
    if args.count is not None and (args.watch is None or args.count <= 0):
        ap.error("--count needs --watch and a positive number of readouts")
    args.address = None
    if args.server:
        try:
            host, port = hostport.split(args.server)
        except ValueError as e:
            ap.error("--server %s" % e)
        if port is not None and not 1 <= port <= 65535:
            ap.error("--server %s: the port must be in 1..65535" % args.server)
        args.address = (host, port or (5223 if args.tls == "direct" else 5222))
    if args.timeout <= 0 or args.timeout != args.timeout:  # nan is not equal to itself
        ap.error("--timeout needs a positive number of seconds")
    from slixmpp.jid import JID, InvalidJID

    for opt, jid in (("--jid", args.jid), ("device", args.device)):
        try:
            JID(jid)
        except InvalidJID as e:
            ap.error("%s %s: not a JID (%s)" % (opt, jid, e))
    if "/" not in args.device:
        args.device += "/" + DEFAULT_RESOURCE
    return args


_UNREACHABLE = ("service-unavailable", "recipient-unavailable", "item-not-found")


def _is_datetime(text):
    """Whether our device would read `text` as a date and time: its own parser decides."""
    from mpshim import use_lib

    use_lib()
    from sensordata import clock

    try:
        clock.parse(text)
    except clock.BadTime:
        return False
    return True


def flags_for(args):
    """The <req/> attributes for the chosen kind of readout (none: everything)."""
    if args.momentary:
        return {"momentary": "true"}
    if args.all:
        return {"all": "true"}
    flags = {}
    if args.history or args.start or args.end:
        flags["historical"] = "true"
    if args.start:
        flags["from"] = args.start
    if args.end:
        flags["to"] = args.end
    return flags or None


class Readout:
    """Collects what slixmpp's requester callback reports for one request."""

    def __init__(self, loop):
        self.rows = []  # dicts: node, timestamp, name, type, value, unit, flags
        self.errors = []  # dicts: node, timestamp, text
        self.result = None  # done | failure | rejected | error | timeout
        self.reason = None
        self.accepted = False
        self.finished = loop.create_future()

    def _finish(self, result, reason=None):
        if self.result is None:
            self.result = result
            self.reason = reason
        if not self.finished.done():
            self.finished.set_result(result)

    def failure(self, errors):
        """Every <error/> of a <failure/>: slixmpp's callback reports one of them only."""
        self.errors = [e for e in self.errors if e not in errors] + errors

    def callback(self, from_jid=None, result=None, nodeId=None, timestamp=None, fields=None,
                 error_msg=None):  # fmt: skip
        if result in ("accepted", "queued", "started"):
            self.accepted = True
        elif result == "fields":
            for f in fields or ():
                flags = f.get("flags") or {}
                self.rows.append(
                    {
                        "node": nodeId,
                        "timestamp": timestamp,
                        "name": f.get("name"),
                        "type": f.get("typename"),
                        "value": f.get("value"),
                        "unit": f.get("unit", ""),
                        "flags": sorted(k for k, v in flags.items() if v in ("true", "1")),
                    }
                )
        elif result == "failure":
            error = {"node": nodeId, "timestamp": timestamp, "text": error_msg}
            if error not in self.errors:  # failure() may have seen it first
                self.errors.append(error)
            self._finish("failure", error_msg)
        elif result == "rejected":
            self._finish("rejected", error_msg)
        elif result == "done":
            self._finish("done")
        elif result == "cancelled":
            self._finish("cancelled")

    def iq_error(self, condition, text):
        """An error reply without <rejected/>: the server's, or a device's plain refusal."""
        self._finish("error", "%s%s" % (condition, ": " + text if text else ""))

    def exit_code(self):
        return {
            "done": OK,
            "failure": FAILURE,
            "rejected": REJECTED,
            "error": REJECTED,
            "cancelled": FAILURE,
        }.get(self.result, TIMEOUT)

    def as_json(self, device):
        return {
            "device": device,
            "result": self.result,
            "reason": self.reason,
            "rows": self.rows,
            "errors": self.errors,
        }


def table(readout):
    """The readout as aligned text columns, then any errors."""
    head = ("NODE", "TIMESTAMP", "FIELD", "VALUE", "UNIT", "TYPE")
    lines = []
    rows = [
        (
            r["node"] or "",
            r["timestamp"] or "",
            r["name"] or "",
            str(r["value"]),
            r["unit"] or "",
            ",".join(f for f in r["flags"] if f in _TYPES or f.startswith("historical")),
        )
        for r in readout.rows
    ]
    if rows:
        widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
        for row in (head,) + tuple(rows):
            lines.append("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    for e in readout.errors:
        lines.append("error: node %s: %s" % (e["node"] or "?", e["text"]))
    if readout.result in ("rejected", "error"):
        lines.append("rejected: %s" % readout.reason)
        if readout.result == "error" and readout.reason.startswith(_UNREACHABLE):
            # No <rejected/>: the server's answer for a full JID with no session, not a refusal
            # of the device's (RFC 6120 §8.5.3.2.1 / RFC 6121 §8.5.3.2.1).
            lines.append("(the device is offline, or has no resource by that name)")
    elif readout.result == "timeout":
        lines.append("timeout: %s" % readout.reason)
    elif readout.result == "done" and not rows:
        lines.append("(no values)")
    return "\n".join(lines)


# -- XMPP ----------------------------------------------------------------------------------


def ca_context(path):
    """A TLS context that trusts the one CA in `path`, PEM or DER (the ca.der a board gets).
    Not slixmpp's ca_certs: it would load the file again, as PEM only."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.lstrip().startswith(b"-----BEGIN"):
            data = data.decode("ascii")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=data)
    except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
        raise QueryError(USAGE, "--ca %s: no CA certificate (%s)" % (path, e)) from None
    return context


def make_client(args, password, loop):
    from slixmpp import ClientXMPP

    config = {}
    if args.tls == "plain":
        # slixmpp refuses every mechanism on an unencrypted stream unless told otherwise.
        config["feature_mechanisms"] = {"unencrypted_scram": True}
    context = ca_context(args.ca) if args.ca else ssl.create_default_context()
    xmpp = ClientXMPP(args.jid, password, config, loop=loop, ssl_context=context)
    xmpp.register_plugin("xep_0030")
    xmpp.register_plugin("xep_0323", {"threaded": False})
    xmpp.enable_starttls = args.tls == "starttls"
    xmpp.enable_direct_tls = args.tls == "direct"
    xmpp.enable_plaintext = args.tls == "plain"
    return xmpp


async def connect(xmpp, args):
    """Log in; QueryError(NO_CONNECTION) with the reason if that fails."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def on(event, ok):
        def fire(arg=None):
            if not done.done():
                done.set_result((ok, event, arg))

        xmpp.add_event_handler(event, fire, disposable=True)

    on("session_start", True)
    for event in ("failed_all_auth", "connection_failed", "stream_error", "disconnected"):
        on(event, False)
    refused = []  # SASL <failure/> conditions; failed_all_auth itself carries none
    xmpp.add_event_handler("failed_auth", lambda stanza: refused.append(stanza["condition"]))

    def negotiated(_arg=None):
        # Every stream feature done and still not logged in: slixmpp would wait for ever
        # (a server that requires TLS offers nothing else to a --tls plain client).
        if not xmpp.authenticated and not done.done():
            done.set_result((False, "no_login", None))

    xmpp.add_event_handler("stream_negotiated", negotiated)
    if args.address:
        xmpp.connect(*args.address)
    else:
        xmpp.connect()
    try:
        ok, event, arg = await asyncio.wait_for(done, args.timeout)
    except TimeoutError:
        raise QueryError(NO_CONNECTION, "no session within %g s" % args.timeout) from None
    if event == "failed_all_auth":
        why = refused[-1] if refused else "the server offers no login method this client uses"
        hint = " (wrong JID or password?)" if why == "not-authorized" else ""
        raise QueryError(NO_CONNECTION, "login as %s failed: %s%s" % (args.jid, why, hint))
    if event == "no_login":
        why = "no login without TLS: drop --tls plain" if args.tls == "plain" else "no login"
        raise QueryError(NO_CONNECTION, "the server offers %s" % why)
    if not ok:
        hint = ""
        if "CERTIFICATE_VERIFY_FAILED" in str(arg):
            hint = " (--ca: the CA that signed the server's certificate)"
        raise QueryError(NO_CONNECTION, "%s: %s%s" % (event.replace("_", " "), arg, hint))
    xmpp.send_presence()


async def read_once(xmpp, args):
    """One request; returns the Readout (result 'timeout' if nothing finished it)."""
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import StanzaPath

    loop = asyncio.get_running_loop()
    readout = Readout(loop)
    plugin = xmpp.plugin["xep_0323"]
    seqnr = [None]

    def on_error(iq):
        # slixmpp's requester only sees errors that carry <rejected/>; catch the rest here.
        if iq["id"] == seqnr[0] and iq.xml.find("{urn:xmpp:iot:sensordata}rejected") is None:
            readout.iq_error(iq["error"]["condition"], iq["error"]["text"])

    def on_failure(msg):
        el = msg.xml.find("{urn:xmpp:iot:sensordata}failure")
        if el is not None and el.get("seqnr") == seqnr[0]:
            errors = el.findall("{urn:xmpp:iot:sensordata}error")
            readout.failure([{"node": e.get("nodeId"), "timestamp": e.get("timestamp"),
                              "text": e.text} for e in errors])  # fmt: skip

    name = "query-errors-%s" % id(readout)
    xmpp.register_handler(Callback(name, StanzaPath("iq@type=error"), on_error))
    xmpp.register_handler(Callback(name + "-failure", StanzaPath("message/failure"), on_failure))
    try:
        seqnr[0] = plugin.request_data(
            xmpp.boundjid.full,
            args.device,
            readout.callback,
            nodeIds=args.node or None,
            fields=args.field or None,
            flags=flags_for(args),
        )
        try:
            await asyncio.wait_for(asyncio.shield(readout.finished), args.timeout)
        except TimeoutError:
            what = "accepted, but not finished" if readout.accepted else "no answer"
            readout._finish("timeout", "%s within %g s" % (what, args.timeout))
            plugin.sessions.pop(seqnr[0], None)
    finally:
        xmpp.remove_handler(name)
        xmpp.remove_handler(name + "-failure")
    return readout


def show(readout, args, out):
    if args.json:
        out.write(json.dumps(readout.as_json(args.device)) + "\n")
    else:
        out.write(table(readout) + "\n")
    out.flush()


async def session(args, password, out, last=None):
    """Log in, read (repeatedly with --watch); the exit status. last[0]: the status of the
    latest readout so far, for an interrupted --watch."""
    last = [] if last is None else last
    loop = asyncio.get_running_loop()
    xmpp = make_client(args, password, loop)
    try:
        await connect(xmpp, args)
        rounds = 0
        while True:
            readout = await read_once(xmpp, args)
            last[:] = [readout.exit_code()]
            show(readout, args, out)
            rounds += 1
            if args.watch is None or (args.count and rounds >= args.count):
                return readout.exit_code()
            await asyncio.sleep(args.watch)
    finally:
        if xmpp.transport is not None:
            try:
                await asyncio.wait_for(xmpp.disconnect(wait=1.0), 2.0)
            except (TimeoutError, OSError):
                pass
        xmpp.abort()
        await asyncio.sleep(0)


def main(argv=None, out=None):
    out = out or sys.stdout
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return USAGE if e.code else OK
    password = args.password or os.environ.get("QUERY_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("query: no password: give --password or set QUERY_PASSWORD", file=sys.stderr)
            return USAGE
        password = getpass.getpass("password for %s: " % args.jid)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL)
    loop = asyncio.new_event_loop()
    last = []
    try:
        return loop.run_until_complete(session(args, password, out, last))
    except QueryError as e:
        print("query: %s" % e, file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        # Ctrl-C ends a --watch: the last readout's status; before any readout, 130 as a
        # shell reports an interrupted command.
        return last[0] if last else 130
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


if __name__ == "__main__":
    sys.exit(main())

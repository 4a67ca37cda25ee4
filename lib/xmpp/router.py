"""Stanza routing: handlers per (element, namespace), and the answers every entity owes.

An iq get/set is answered exactly once: by its handler's return value, or with
`service-unavailable` when nothing handles its payload, or with `internal-server-error`
when the handler fails. Stanzas of type `error` and iqs of type `result`/`error` are never
answered (two entities answering each other's errors would loop forever); iq responses
complete the caller's pending request instead. The router knows no XEP beyond the
service discovery, ping and version every XMPP entity should answer, and the entity
capabilities (XEP-0115) that name its disco#info in our presence.

Handlers are plain callables taking the stanza; an iq handler returns the reply element,
None when it replies by itself, or a coroutine run as a task (bounded in number: past the
limit the iq gets `resource-constraint`; cancelled when the connection ends).
"""

import asyncio
import binascii
import hashlib
import sys

from micropython import const

from xmlstream.element import Element
from xmpp import jid as xjid
from xmpp import stanza as st

_MAX_PENDING = const(8)
# Of those, kept for the client's own requests (the liveness ping, the roster): requests the
# roles make (a requester with many sessions) must not crowd out the ping, whose failure to
# go out would end the connection.
_RESERVED = const(2)
_NS_CAPS = const("http://jabber.org/protocol/caps")
# XEP-0115 §4: a URI naming the software (it need not resolve; the project has no site).
_CAPS_NODE = const("https://xmpp-sensor.invalid")
# Queries that only exist as iq get (XEP-0030, XEP-0199, XEP-0092): a set is a bad request.
_GET_ONLY = (st.NS_DISCO_INFO, st.NS_DISCO_ITEMS, st.NS_PING, st.NS_VERSION)


class Router:
    def __init__(self, send, log, name="xmpp-sensor", version="0.1", max_tasks=4):
        self.send = send  # callable(element) -> bool, queues without waiting
        self.log = log
        self.name = name
        self.version = version
        self.share_os = True  # XEP-0092's <os/> (config xmpp.version_os)
        self.identity = ("client", "bot")
        self.features = [st.NS_DISCO_INFO, st.NS_DISCO_ITEMS, st.NS_PING, st.NS_VERSION]
        self.iq_handlers = {}
        self.message_handlers = {}
        self.presence_handlers = []
        self.bounce_handlers = []
        self.node_info = {}  # disco node -> callable(iq): a <query/>, an error iq, or None
        self.node_items = {}
        self.max_tasks = max_tasks
        self.tasks = 0  # handler tasks running
        self.places = [None] * max_tasks  # their places, made once
        self.pending = {}  # id -> (callable(response element or None), JID asked or None)
        self.account = None  # our bare JID: who may answer what we asked without a 'to'
        self._normal = None  # the JID answers() last parsed, in normal form
        self._caps = None  # _CAPS_NODE#ver, as node_info holds it
        self.iq(st.NS_DISCO_INFO, "query", self._disco_info)
        self.iq(st.NS_DISCO_ITEMS, "query", self._disco_items)
        self.iq(st.NS_PING, "ping", self._ping)
        self.iq(st.NS_VERSION, "query", self._version)

    # -- registration ------------------------------------------------------------------

    def iq(self, ns, name, handler, feature=None):
        """Handle iq get/set whose payload is <name xmlns=ns/>; advertise `feature`."""
        self.iq_handlers[(name, ns)] = handler
        if feature and feature not in self.features:
            self.features.append(feature)

    def message(self, ns, name, handler):
        """Handle messages carrying a <name xmlns=ns/> child: the first payload with a
        handler wins, and a <body> beside a payload only describes it (a device's readout
        may carry one for people: it is still a readout)."""
        self.message_handlers[(name, ns)] = handler

    def presence(self, handler):
        self.presence_handlers.append(handler)

    def bounce(self, handler):
        """Show `handler` every message of type error: what came back of one we sent."""
        self.bounce_handlers.append(handler)

    # -- dispatch ------------------------------------------------------------------------

    def dispatch(self, el):
        name = el.name
        if el.ns != st.NS_CLIENT:
            self.log.debug("ignored <%s xmlns=%s>" % (name, el.ns))
        elif name == "iq":
            self._iq(el)
        elif name == "message":
            if el.get("type") == "error":
                self.log.info(
                    "error message from %s: %s" % (el.get("from"), st.error_condition(el))
                )
                for h in self.bounce_handlers:
                    self._call(h, el)
                return
            body = None
            for child in el.children:
                h = self.message_handlers.get((child.name, child.ns))
                if h is not None:
                    if child.name != "body":
                        self._call(h, el)
                        return
                    body = h
            if body is not None:
                self._call(body, el)
        elif name == "presence":
            for h in self.presence_handlers:
                self._call(h, el)

    def _call(self, h, el):
        # A failing handler costs its stanza, not the connection: the exception would
        # otherwise unwind the client's read loop.
        try:
            reply = h(el)
        except Exception as e:  # noqa: BLE001 - logged; the next stanza is handled as usual
            self.log.error("%s handler failed on one from %s: %r" % (el.name, el.get("from"), e))
            return
        self._run(reply, el)

    def _iq(self, el):
        type_ = el.get("type")
        if type_ in ("result", "error"):
            id_ = el.get("id")
            p = self.pending.get(id_)
            if p is None:
                return
            if not self.answers(el.get("from"), p[1]):
                # Ids are guessable: an answer counts only from whom we asked (RFC 6120
                # §8.1.2.1), or anyone could answer our roster request, say.
                self.log.warn("iq %s answered by %s: ignored" % (id_, el.get("from")))
                return
            del self.pending[id_]
            try:
                p[0](el)
            except Exception as e:  # noqa: BLE001 - as for any handler: the stanza, not the link
                self.log.error("callback for iq %s from %s failed: %r" % (id_, el.get("from"), e))
            return
        if type_ not in ("get", "set") or el.get("id") is None:
            # RFC 6120 §8.2.3: no id means no reply is possible; a bad type gets bad-request.
            if el.get("id") is not None:
                self.send(st.error(el, "bad-request"))
            self.log.warn("malformed iq from %s dropped" % el.get("from"))
            return
        if len(el.children) != 1:
            self.send(st.error(el, "bad-request"))
            return
        payload = el.children[0]
        h = self.iq_handlers.get((payload.name, payload.ns))
        if h is None:
            self.send(st.error(el, "service-unavailable"))
            return
        if type_ == "set" and payload.ns in _GET_ONLY:
            self.send(st.error(el, "bad-request"))
            return
        try:
            reply = h(el)
        except Exception as e:  # noqa: BLE001 - the requester is owed an answer
            self.log.error("iq handler %s failed: %r" % (payload.ns, e))
            self.send(st.error(el, "internal-server-error"))
            return
        self._run(reply, el)

    def _run(self, reply, el):
        if reply is None:
            return
        if isinstance(reply, Element):
            self.send(reply)
            return
        if self.tasks >= self.max_tasks:
            reply.close()
            if el.name == "iq":
                self.send(st.error(el, "resource-constraint"))
            self.log.warn("busy: %s from %s refused" % (el.name, el.get("from")))
            return
        i = self.places.index(None)
        try:
            self.places[i] = asyncio.create_task(self._task(reply, el, i))
        except MemoryError:
            # No task, so nothing else will answer: the same answer as when busy, a place kept.
            reply.close()
            if el.name == "iq":
                self.send(st.error(el, "resource-constraint"))
            self.log.error("out of memory: %s from %s refused" % (el.name, el.get("from")))
            return
        self.tasks += 1

    async def _task(self, coro, el, i):
        try:
            reply = await coro
            if reply is not None:
                self.send(reply)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - one failing handler must not stop the board
            self.log.error("handler for %s failed: %r" % (el.name, e))
            if el.name == "iq":
                self.send(st.error(el, "internal-server-error"))
        finally:
            if self.places[i] is asyncio.current_task():  # not given up by drop_pending
                self.places[i] = None
                self.tasks -= 1

    # -- our own requests ------------------------------------------------------------------

    def expect(self, id_, callback, to=None, reserved=False):
        """Call `callback(response)` when the iq result/error with this id arrives from `to`
        (the request's 'to'; None: our own account or server), at once, before any later
        stanza of the same read is dispatched; `callback(None)` if the connection ends
        first. `forget(id_)` withdraws it (e.g. on a timeout). `reserved`: the client's own
        request, which may use the last _RESERVED places."""
        limit = _MAX_PENDING if reserved else _MAX_PENDING - _RESERVED
        if len(self.pending) >= limit or id_ in self.pending:
            raise OverflowError("too many iq requests in flight")
        self.pending[id_] = (callback, to)

    def answers(self, frm, to):
        """Whether an iq answer from `frm` can answer a request sent to `to`: from that JID;
        or, for a request to our own server or account (no 'to', our domain or bare JID),
        from either or without a 'from' (RFC 6120 §8.1.2.1 allows both forms)."""
        acct = self.account
        try:
            if to is not None:
                if to is not self._normal:
                    # The JID last found normal is this very string (a role asks the same
                    # device again and again, with the JID it keeps): no parse then.
                    to = self._normal = xjid.normalize(to)
                # Equal to the normal form, frm is in it: no second parse for the usual case.
                if frm is not None and (frm == to or xjid.normalize(frm) == to):
                    return True
            if acct is None or (to is not None and to != acct and to != xjid.domain(acct)):
                return False
            return frm is None or xjid.normalize(frm) in (acct, xjid.domain(acct))
        except xjid.JIDError:
            return False

    def forget(self, id_):
        self.pending.pop(id_, None)

    def drop_pending(self):
        """The connection ended: nobody will answer what is pending, and the handlers still
        at work were answering on it: cancelled. Their places are free at once, as a task
        cancelled before its first turn never ends."""
        running = self.places
        for i in range(len(running)):
            task = running[i]
            if task is not None:
                running[i] = None
                task.cancel()
        self.tasks = 0
        waiting = list(self.pending.values())
        self.pending.clear()
        for cb, _ in waiting:
            try:
                cb(None)
            except Exception as e:  # noqa: BLE001 - the others must hear of it all the same
                self.log.error("callback for a dropped iq failed: %r" % (e,))

    async def request(self, iq_el, timeout_ms, reserved=False):
        """Send an iq get/set and wait for its result or error; None on timeout."""
        id_ = iq_el.get("id")
        done = asyncio.Event()
        box = [None]

        def answered(el):
            box[0] = el
            done.set()

        self.expect(id_, answered, iq_el.get("to"), reserved)
        try:
            self.send(iq_el)
            try:
                await asyncio.wait_for_ms(done.wait(), timeout_ms)
            except asyncio.TimeoutError:
                return None
            return box[0]
        finally:
            self.forget(id_)

    # -- the answers every entity owes -----------------------------------------------------

    def _disco_info(self, el):
        q = el.children[0]
        node = q.get("node")
        if node is not None:
            provider = self.node_info.get(node)
            reply = provider(el) if provider is not None else None
            if reply is None:
                return st.error(el, "item-not-found")
            # A provider answers with the <query/>, or with a whole iq (an error).
            return reply if reply.name == "iq" else st.result(el, reply)
        return st.result(el, self._info())

    def _info(self, el=None):
        # Our disco#info <query/>; as a node provider (el given), for _CAPS_NODE#ver.
        children = [
            Element(
                "identity",
                st.NS_DISCO_INFO,
                {"category": self.identity[0], "type": self.identity[1], "name": self.name},
            )
        ]
        for f in self.features:
            children.append(Element("feature", st.NS_DISCO_INFO, {"var": f}))
        return Element(
            "query", st.NS_DISCO_INFO, {"node": self._caps} if el is not None else None, children
        )

    def caps(self):
        """XEP-0115's <c/> for our presence: `ver` is the SHA-1 of our disco#info (§5.1: one
        identity, no language, no forms), which disco#info on _CAPS_NODE#ver answers (§6.2)."""
        s = "%s/%s//%s<" % (self.identity[0], self.identity[1], self.name)
        s += "<".join(sorted(self.features)) + "<"
        ver = binascii.b2a_base64(hashlib.sha1(s.encode()).digest())[:-1].decode()
        if self._caps is not None:
            self.node_info.pop(self._caps, None)  # a feature came since: that hash is gone
        self._caps = _CAPS_NODE + "#" + ver
        self.node_info[self._caps] = self._info
        return Element("c", _NS_CAPS, {"hash": "sha-1", "node": _CAPS_NODE, "ver": ver})

    def _disco_items(self, el):
        node = el.children[0].get("node")
        provider = self.node_items.get(node)
        if provider is not None:
            items = provider(el)
        else:
            items = [] if node is None else None  # XEP-0030 §4.1: no such node
        if items is None:
            return st.error(el, "item-not-found")
        if isinstance(items, Element):
            return items  # a provider's refusal: a whole iq, as for disco#info
        attrs = {"node": node} if node is not None else None
        return st.result(el, Element("query", st.NS_DISCO_ITEMS, attrs, items))

    def _ping(self, el):
        return st.result(el)

    def _version(self, el):
        children = [
            Element("name", st.NS_VERSION, None, None, self.name),
            Element("version", st.NS_VERSION, None, None, self.version),
        ]
        if self.share_os:  # XEP-0092 §2: an administrator must be able to withhold it
            children.append(
                Element("os", st.NS_VERSION, None, None, "MicroPython " + sys.platform)
            )
        return st.result(el, Element("query", st.NS_VERSION, None, children))

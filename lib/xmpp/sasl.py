"""SASL for the XMPP client (RFC 6120 §6): pick a mechanism, run it, judge a <failure>; no I/O.

    cache = {}                     # one per account, owned by the client, kept across reconnects
    auth = sasl.Authenticator("user", "pencil", offered, tls, cache)  # may raise SASLError
    mech, initial = auth.start()   # <auth mechanism='mech'>b64(initial)</auth>
    # <challenge>t</challenge>  -> <response>b64(auth.challenge(unb64(t)))</response>
    # <success>t</success>      -> auth.success(unb64(t))  (no text: b"" or None)
    # <failure><cond/></failure> -> sasl.retry_soon("cond"): a quick retry, or the long wait

Arguments and results are raw bytes: base64 is the client's job (b"" answers with an empty
<response/>; "=" on the wire means empty, RFC 6120 §6.4.2). Preference: SCRAM-SHA-256, then
SCRAM-SHA-1, then PLAIN only on a TLS-protected stream; "-PLUS" variants are ignored (no
channel binding). For SCRAM the server signature must be verified, whether it comes in a final
<challenge> (answered with b"") or in <success>; a <success> without one raises SASLError.
Every failure raises SASLError (see xmpp.scram) with a `condition`.
"""

from xmpp import scram
from xmpp.scram import SASLError  # noqa: F401 - re-exported: the login catches it by this name

PLAIN = "PLAIN"

# Failures worth a quick retry (RFC 6120 §6.5): every other condition, a bad server signature
# included, waits the long retry; retrying unchanged would fail again until someone acts.
_SOON = ("temporary-auth-failure", "aborted")


def retry_soon(condition):
    """True when a quick retry makes sense (temporary-auth-failure, aborted)."""
    return condition in _SOON


def _bytes(s):
    return s if isinstance(s, (bytes, bytearray)) else s.encode()


def select(offered, tls):
    """The mechanism to use among the offered names (str or bytes), or raise SASLError."""
    names = []
    for m in offered:
        if m:
            names.append((m.decode() if isinstance(m, (bytes, bytearray)) else m).strip())
    for m in scram.MECHANISMS:
        if m in names:
            return m
    if PLAIN in names:
        if tls:
            return PLAIN
        raise SASLError("encryption-required", "only PLAIN offered, and the stream is not TLS")
    raise SASLError("no-usable-mechanism", " ".join(names))


class Authenticator:
    """One SASL exchange: start(), then challenge() per <challenge>, then success()."""

    def __init__(self, username, password, offered, tls, cache=None, nonce=None):
        self.mechanism = select(offered, tls)
        self._username = username
        self._password = password
        self._cache = cache
        self._nonce = nonce  # tests only: SCRAM draws a random one
        self._scram = None
        self._started = False
        self._challenges = 0
        self.done = False

    def start(self):
        """(mechanism name, initial response bytes)."""
        if self._started:
            raise SASLError("unexpected-step", "start")
        self._started = True
        if self.mechanism == PLAIN:
            u, p = _bytes(self._username), _bytes(self._password)
            return PLAIN, b"\0" + u + b"\0" + p  # RFC 4616, no authzid
        self._scram = scram.ScramClient(
            self.mechanism, self._username, self._password, self._cache, self._nonce
        )
        return self.mechanism, self._scram.first()

    def challenge(self, data):
        """The response to a <challenge>'s decoded data."""
        s = self._scram
        if s is None or self.done:  # not started, PLAIN, or already succeeded
            raise SASLError("unexpected-step", "challenge")
        self._challenges += 1
        if self._challenges == 1:
            return s.final(data or b"")
        if self._challenges == 2:
            s.verify(data or b"")  # server-final-message in a challenge: answer empty
            return b""
        raise SASLError("unexpected-step", "challenge")

    def success(self, data=None):
        """Accept <success> (decoded additional data or None); raises unless verified."""
        if self.done or not self._started:
            raise SASLError("unexpected-step", "success")
        s = self._scram
        if s is not None:
            if data:
                s.verify(data)
            elif not s.verified:
                raise SASLError("server-signature", "success without a server signature")
        self.done = True

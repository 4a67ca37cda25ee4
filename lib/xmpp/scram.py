"""SCRAM-SHA-1 and SCRAM-SHA-256 client (RFC 5802, RFC 7677), plus HMAC and PBKDF2; no I/O.

    cache = scram.KeyCache()       # one per account, owned by the XMPP client
    s = scram.ScramClient("SCRAM-SHA-1", "user", "pencil", cache)
    first = s.first()              # b"n,,n=user,r=<nonce>"
    final = s.final(server_first)  # b"c=biws,r=<nonce>,p=<proof>" (runs PBKDF2 on a cache miss)
    s.verify(server_final)         # b"v=..."; raises SASLError unless the signature matches

Messages are raw SCRAM bytes (base64 on the wire is the XMPP client's job). GS2 header "n,,":
no channel binding, no authzid. The username is escaped ("=" -> "=3D", "," -> "=2C"); a JID's
local part needs no SASLprep. The password gets SASLprep's mapping (RFC 4013 §2.1) but not
its NFKC step, which needs Unicode tables a board lacks: tools/provision and tools/deploy
refuse a password that NFKC would change (tools/saslprep.py).
The server's iteration count must lie within [min_iterations, max_iterations] (default
1000..100000): below is too weak to trust, above would let a hostile server burn minutes of a
microcontroller's CPU. Every failure raises SASLError(condition, text); local conditions:
nonce-mismatch, iteration-count, malformed-challenge, incorrect-encoding, server-signature,
server-error (an "e=" from the server, text is its value), unexpected-step (calls out of
order), invalid-mechanism.
"""

import binascii
import hashlib
import os

from micropython import const

# HMAC (RFC 2104) block size of SHA-1 and SHA-256, and the pads as 512-bit integers.
_BLOCK = const(64)
_IPAD = int.from_bytes(b"6" * _BLOCK, "big")  # 0x36 repeated
_OPAD = int.from_bytes(b"\\" * _BLOCK, "big")  # 0x5c repeated

_HASHES = {"SCRAM-SHA-1": hashlib.sha1, "SCRAM-SHA-256": hashlib.sha256}
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1")
_MIN_ITERATIONS = const(1000)
_MAX_ITERATIONS = const(100000)

# RFC 4013 §2.1: the non-ASCII spaces of RFC 3454's table C.1.2 read as a space, then the
# characters of its table B.1 as nothing (U+200B is in both: a space, as libidn reads it).
_SPACES = const(
    "\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u202f\u205f\u3000"
)
_NOTHING = const(
    "\xad\u034f\u1806\u180b\u180c\u180d\u200c\u200d\u2060\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff"
)

_START = const(0)
_SENT_FIRST = const(1)
_SENT_FINAL = const(2)
_DONE = const(3)


class SASLError(Exception):
    """Authentication failed; `condition` is an RFC 6120 §6.5 name or a local one."""

    def __init__(self, condition, text=""):
        super().__init__(condition, text)
        self.condition = condition
        self.text = text

    def __str__(self):
        return self.condition + (": " + self.text if self.text else "")


def _pads(h, key):
    if len(key) > _BLOCK:
        key = h(key).digest()
    k = int.from_bytes(key + bytes(_BLOCK - len(key)), "big")
    return (k ^ _IPAD).to_bytes(_BLOCK, "big"), (k ^ _OPAD).to_bytes(_BLOCK, "big")


def hmac(h, key, msg):
    """HMAC (RFC 2104) of msg under key, with h a hashlib constructor (sha1, sha256)."""
    ipad, opad = _pads(h, key)
    inner = h(ipad)
    inner.update(msg)
    outer = h(opad)
    outer.update(inner.digest())
    return outer.digest()


def pbkdf2(h, password, salt, iterations, dklen=None):
    """PBKDF2-HMAC (RFC 8018 §5.2; Hi() of RFC 5802 when dklen is None: one block)."""
    ipad, opad = _pads(h, password)
    out = b""
    block = 1
    fb = int.from_bytes
    while True:
        inner = h(ipad)
        inner.update(salt + block.to_bytes(4, "big"))
        u = h(opad + inner.digest()).digest()
        n = len(u)
        # hashlib objects cannot be copied or reused, so each HMAC hashes the keyed pad again;
        # the pads and U are written into preallocated buffers, and the XOR is one bigint op
        # (measured faster than a 20-32 step byte loop under MicroPython).
        ibuf = bytearray(ipad + u)
        obuf = bytearray(opad + u)
        itail = memoryview(ibuf)[_BLOCK:]
        otail = memoryview(obuf)[_BLOCK:]
        acc = fb(u, "big")
        if not iterations & 1:  # one iteration alone, so the rest come in pairs
            itail[:] = u
            otail[:] = h(ibuf).digest()
            u = h(obuf).digest()
            acc ^= fb(u, "big")
        # Two iterations per pass: half the loop overhead, one big-int XOR per pair.
        for _ in range((iterations - 1) >> 1):
            itail[:] = u
            otail[:] = h(ibuf).digest()
            u1 = h(obuf).digest()
            itail[:] = u1
            otail[:] = h(ibuf).digest()
            u = h(obuf).digest()
            acc ^= fb(u1, "big") ^ fb(u, "big")
        out += acc.to_bytes(n, "big")
        if dklen is None:
            return out
        if len(out) >= dklen:
            return out[:dklen]
        block += 1


def _xor(a, b):
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _equal(a, b):
    # Constant time for equal lengths: no early exit on the first differing byte.
    if len(a) != len(b):
        return False
    r = 0
    for i in range(len(a)):
        r |= a[i] ^ b[i]
    return r == 0


def _b64(data):
    return binascii.b2a_base64(data)[:-1]  # drop the newline; works on every port version


def unb64(data, what):
    """Decode base64 as RFC 4648 writes it, or raise SASLError "incorrect-encoding".

    binascii skips characters outside the alphabet and stops at the first padding, so
    b"YQ==!!junk" would pass; only input that encodes back to itself is accepted.
    """
    data = _bytes(data)
    try:
        out = binascii.a2b_base64(data)
    except ValueError:
        out = None
    if out is None or _b64(out) != data:
        raise SASLError("incorrect-encoding", what)
    return out


def prepare(password):
    """The password as SASLprep maps it (RFC 4013 §2.1), which is how the server salted it."""
    if isinstance(password, str) and len(password) != len(password.encode()):
        out = ""
        for c in password:  # a config's password: short, and only when it is not ASCII
            if c in _SPACES:
                out += " "
            elif c not in _NOTHING:
                out += c
        return out
    return password


def _bytes(s):
    return s if isinstance(s, (bytes, bytearray)) else s.encode()


def escape(username):
    """The RFC 5802 §5.1 saslname: "=" as "=3D", "," as "=2C"."""
    return _bytes(username).replace(b"=", b"=3D").replace(b",", b"=2C")


def _server_first(msg):
    """(nonce, salt, count) of a server-first-message.

    RFC 5802 §5.1 fixes the order: r, s, i, then extensions only (ignored here). Reading
    by position, not by name, leaves no second "r=" or reordered message to be read two
    ways; a leading "m=" is a mandatory extension we do not know.
    """
    parts = msg.split(b",")
    for part in parts:
        if len(part) < 2 or part[1] != 0x3D:  # "x=value"
            raise SASLError("malformed-challenge", "bad attribute")
    if parts[0][:1] == b"m":
        raise SASLError("malformed-challenge", "mandatory extension")
    if len(parts) < 3 or parts[0][:1] != b"r" or parts[1][:1] != b"s" or parts[2][:1] != b"i":
        raise SASLError("malformed-challenge", "expected r, s and i, in that order")
    return parts[0][2:], parts[1][2:], parts[2][2:]


# The salted password per mechanism, one entry each: {mechanism: (salt, iterations, password,
# SaltedPassword)}. A reconnect with the same salt and iteration count skips PBKDF2; the
# password is part of the match, so a changed one misses instead of giving a wrong proof. A
# plain dict, owned by one client: it outlives this module, which the client unloads between
# logins.
KeyCache = dict


class ScramClient:
    """One SCRAM exchange: first(), final(server_first), verify(server_final), in that order."""

    def __init__(
        self,
        mechanism,
        username,
        password,
        cache=None,
        nonce=None,
        min_iterations=_MIN_ITERATIONS,
        max_iterations=_MAX_ITERATIONS,
    ):
        h = _HASHES.get(mechanism)
        if h is None:
            raise SASLError("invalid-mechanism", mechanism)
        self.mechanism = mechanism
        self._h = h
        self._user = escape(username)
        self._password = _bytes(prepare(password))
        self._cache = cache
        # 18 random bytes: 24 base64 characters, printable, never "," (RFC 5802 §7 "nonce").
        self._nonce = _bytes(nonce) if nonce else _b64(os.urandom(18))
        self._min = min_iterations
        self._max = max_iterations
        self._state = _START
        self._bare = None
        self._server_signature = None

    @property
    def verified(self):
        return self._state == _DONE

    def first(self):
        """The client-first-message."""
        if self._state != _START:
            raise SASLError("unexpected-step", "first")
        self._bare = b"n=" + self._user + b",r=" + self._nonce
        self._state = _SENT_FIRST
        return b"n,," + self._bare

    def final(self, server_first):
        """The client-final-message answering server_first; validates it first."""
        if self._state != _SENT_FIRST:
            raise SASLError("unexpected-step", "final")
        server_first = bytes(server_first)
        nonce, salt, count = _server_first(server_first)
        # The server appends its own part to our nonce (RFC 5802 §5.1 "r").
        if len(nonce) <= len(self._nonce) or not nonce.startswith(self._nonce):
            raise SASLError("nonce-mismatch")
        if not count.isdigit():
            raise SASLError("malformed-challenge", "bad iteration count")
        iterations = int(count)
        if not self._min <= iterations <= self._max:
            raise SASLError("iteration-count", str(iterations))
        salt = unb64(salt, "salt")
        if not salt:
            raise SASLError("malformed-challenge", "empty salt")

        h = self._h
        salted = None
        if self._cache is not None:
            e = self._cache.get(self.mechanism)
            if e and e[0] == salt and e[1] == iterations and e[2] == self._password:
                salted = e[3]
        if salted is None:
            salted = pbkdf2(h, self._password, salt, iterations)
            if self._cache is not None:
                self._cache[self.mechanism] = (salt, iterations, self._password, salted)
        self._password = None  # not needed any more

        without_proof = b"c=biws,r=" + nonce  # biws = base64("n,,")
        auth = b",".join((self._bare, server_first, without_proof))
        client_key = hmac(h, salted, b"Client Key")
        proof = _xor(client_key, hmac(h, h(client_key).digest(), auth))
        self._server_signature = hmac(h, hmac(h, salted, b"Server Key"), auth)
        self._state = _SENT_FINAL
        return without_proof + b",p=" + _b64(proof)

    def verify(self, server_final):
        """Check server_final's v= (again, if already verified); e= raises "server-error"."""
        if self._state < _SENT_FINAL:
            raise SASLError("unexpected-step", "verify")
        value = bytes(server_final).split(b",", 1)[0]
        if value[:2] == b"e=":
            try:
                text = value[2:].decode()
            except UnicodeError:  # RFC 5802 §7: a value is UTF-8
                raise SASLError("malformed-challenge", "e= not UTF-8") from None
            raise SASLError("server-error", text)
        if value[:2] != b"v=":
            raise SASLError("malformed-challenge", "no v= in server-final-message")
        signature = unb64(value[2:], "v")
        if not _equal(signature, self._server_signature):
            raise SASLError("server-signature", "mismatch")
        self._state = _DONE

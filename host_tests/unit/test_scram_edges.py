import hashlib
from binascii import a2b_base64, b2a_base64, hexlify

from xmpp import scram

SHA1_NONCE = b"fyko+d2lbbFgONRv9qkxdawL"
SHA1_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SHA1_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="


def rfc5802_client(**kwargs):
    c = scram.ScramClient("SCRAM-SHA-1", "user", "pencil", nonce=SHA1_NONCE, **kwargs)
    c.first()
    return c


def raises(condition, fn, *args):
    try:
        fn(*args)
    except scram.SASLError as e:
        assert e.condition == condition, (e.condition, e.text)
        return e
    raise AssertionError("no SASLError " + condition)


def test_hmac_keys_of_one_block_are_used_as_is_and_longer_ones_are_hashed_first():
    h = hashlib.sha1
    assert hexlify(scram.hmac(h, b"k" * 64, b"m")) == b"d52b5b30393c20f423870bb6d0ad622b02848ca9"
    assert hexlify(scram.hmac(h, b"k" * 65, b"m")) == b"d7ab367121230c7e073a785f02c779c915e96d01"


def test_a_server_signature_differing_only_in_its_first_byte_is_rejected():
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    sig = bytearray(a2b_base64(SHA1_SERVER_FINAL[2:]))
    sig[0] ^= 1
    raises("server-signature", c.verify, b"v=" + b2a_base64(bytes(sig))[:-1])
    assert not c.verified
    c.verify(SHA1_SERVER_FINAL)
    assert c.verified


def test_base64_with_trailing_junk_is_an_incorrect_encoding():
    raises("incorrect-encoding", scram.unb64, b"YQ==!!junk", "x")
    assert scram.unb64(b"YQ==", "x") == b"a"


def test_a_server_first_attribute_without_its_equals_sign_is_malformed():
    first = b"r:" + SHA1_SERVER_FIRST[2:]
    raises("malformed-challenge", rfc5802_client().final, first)


def test_a_server_first_without_an_iteration_count_third_is_malformed():
    first = SHA1_SERVER_FIRST.replace(b",i=", b",x=")
    raises("malformed-challenge", rfc5802_client().final, first)


def test_iteration_counts_equal_to_the_limits_are_accepted():
    assert rfc5802_client(min_iterations=4096).final(SHA1_SERVER_FIRST).startswith(b"c=biws")
    assert rfc5802_client(max_iterations=4096).final(SHA1_SERVER_FIRST).startswith(b"c=biws")


def test_the_password_is_dropped_once_the_proof_is_made():
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    assert c._password is None


def test_final_cannot_be_called_twice():
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    raises("unexpected-step", c.final, SHA1_SERVER_FIRST)

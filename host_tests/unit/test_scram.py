# SCRAM (RFC 5802, RFC 7677), HMAC (RFC 2202, RFC 4231) and PBKDF2 (RFC 6070) in MicroPython.
import hashlib
from binascii import a2b_base64, b2a_base64, hexlify, unhexlify

from xmpp import scram

# RFC 5802 §5: SCRAM-SHA-1, user "user", password "pencil".
SHA1_NONCE = b"fyko+d2lbbFgONRv9qkxdawL"
SHA1_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SHA1_CLIENT_FINAL = (
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
)
SHA1_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

# RFC 7677 §3: SCRAM-SHA-256, same credentials.
SHA256_NONCE = b"rOprNGfwEbeRWgbNEkqO"
SHA256_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
SHA256_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SHA256_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


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


def test_rfc5802_sha1_example_produces_the_rfc_messages():
    c = scram.ScramClient("SCRAM-SHA-1", "user", "pencil", nonce=SHA1_NONCE)
    assert c.first() == b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    assert c.final(SHA1_SERVER_FIRST) == SHA1_CLIENT_FINAL
    assert not c.verified
    c.verify(SHA1_SERVER_FINAL)
    assert c.verified


def test_rfc7677_sha256_example_produces_the_rfc_messages():
    c = scram.ScramClient("SCRAM-SHA-256", "user", "pencil", nonce=SHA256_NONCE)
    assert c.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert c.final(SHA256_SERVER_FIRST) == SHA256_CLIENT_FINAL
    c.verify(SHA256_SERVER_FINAL)
    assert c.verified


def test_hmac_sha1_matches_rfc2202_vectors():
    long_key = b"\xaa" * 80
    cases = (
        (b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
        (b"Jefe", b"what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        (b"\xaa" * 20, b"\xdd" * 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        (bytes(range(1, 26)), b"\xcd" * 50, "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
        (b"\x0c" * 20, b"Test With Truncation", "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
        (
            long_key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        ),
        (
            long_key,
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
        ),
    )
    for key, msg, want in cases:
        assert hexlify(scram.hmac(hashlib.sha1, key, msg)).decode() == want, msg


def test_hmac_sha256_matches_rfc4231_vectors():
    long_key = b"\xaa" * 131
    cases = (
        (
            b"\x0b" * 20,
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            b"\xaa" * 20,
            b"\xdd" * 50,
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            bytes(range(1, 26)),
            b"\xcd" * 50,
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            long_key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            long_key,
            b"This is a test using a larger than block-size key and a larger than block-size"
            b" data. The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    )
    for key, msg, want in cases:
        assert hexlify(scram.hmac(hashlib.sha256, key, msg)).decode() == want, msg
    # Test case 5 is truncated to 128 bits.
    mac = scram.hmac(hashlib.sha256, b"\x0c" * 20, b"Test With Truncation")
    assert mac[:16] == unhexlify("a3b6167473100ee06e0c796c2955552b")


def test_pbkdf2_hmac_sha1_matches_rfc6070_vectors():
    cases = (
        (b"password", b"salt", 1, 20, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
        (b"password", b"salt", 2, 20, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
        (b"password", b"salt", 4096, 20, "4b007901b765489abead49d926f721d065a429c1"),
        (
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
            25,
            "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
        ),
        (b"pass\0word", b"sa\0lt", 4096, 16, "56fa6aa75548099dcc37d7f03425e0c3"),
    )
    for password, salt, count, dklen, want in cases:
        got = scram.pbkdf2(hashlib.sha1, password, salt, count, dklen)
        assert hexlify(got).decode() == want, (password, count)


def test_pbkdf2_odd_and_even_counts_match_cpython_hashlib():
    # Iterations are computed two per pass: odd counts take the remainder path.
    cases = (
        (3, "6b4e26125c25cf21ae35ead955f479ea2e71f6ff", None),
        (5, "1a6192e53a6f18673cf3c0e707d330e77985e7a4", None),
        (4097, "eeadbcb7a2205ca2c6a5a25cdc61ed1bf4eb2b15", None),
        (3, None, "ad35240ac683febfaf3cd49d845473fbbbaa2437f5f82d5a415ae00ac76c6bfc"),
        (4097, None, "83fe42bb05db211c01153fa7267aafb0bd64f75064eb1b8490ffddd841b75c4c"),
    )
    for count, sha1, sha256 in cases:
        h, want = (hashlib.sha1, sha1) if sha1 else (hashlib.sha256, sha256)
        got = scram.pbkdf2(h, b"password", b"salt", count)
        assert hexlify(got).decode() == want, (count, want)


def test_pbkdf2_without_length_is_one_hash_block_like_scram_hi():
    got = scram.pbkdf2(hashlib.sha1, b"password", b"salt", 2)
    assert hexlify(got).decode() == "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
    assert len(scram.pbkdf2(hashlib.sha256, b"password", b"salt", 2)) == 32


def test_username_escapes_equals_and_comma():
    assert scram.escape("a=b,c") == b"a=3Db=2Cc"
    assert scram.escape("=,") == b"=3D=2C"
    c = scram.ScramClient("SCRAM-SHA-1", "x,y=z", "p", nonce=b"abc")
    assert c.first() == b"n,,n=x=2Cy=3Dz,r=abc"


def test_generated_nonce_is_printable_without_commas_and_differs_per_exchange():
    a = scram.ScramClient("SCRAM-SHA-1", "u", "p").first()
    b = scram.ScramClient("SCRAM-SHA-1", "u", "p").first()
    na = a.split(b",r=")[1]
    assert a != b
    assert len(na) >= 24
    assert b"," not in na
    assert all(0x21 <= c <= 0x7E for c in na)


def test_server_nonce_not_extending_ours_is_rejected():
    bad = b"r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
    raises("nonce-mismatch", rfc5802_client().final, bad)


def test_server_nonce_equal_to_ours_is_rejected():
    bad = b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"
    raises("nonce-mismatch", rfc5802_client().final, bad)


def test_iteration_count_below_minimum_is_rejected():
    first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=999"
    raises("iteration-count", rfc5802_client().final, first)


def test_iteration_count_above_maximum_is_rejected_before_any_hashing():
    first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=100001"
    raises("iteration-count", rfc5802_client().final, first)
    first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=99999999999999999999999"
    raises("iteration-count", rfc5802_client().final, first)


def test_iteration_limits_are_configurable_per_client():
    first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096"
    raises("iteration-count", rfc5802_client(min_iterations=5000).final, first)
    raises("iteration-count", rfc5802_client(max_iterations=4095).final, first)


def test_non_numeric_iteration_count_is_malformed():
    first = b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=+4096"
    raises("malformed-challenge", rfc5802_client().final, first)


def test_server_first_missing_salt_or_with_mandatory_extension_is_malformed():
    raises("malformed-challenge", rfc5802_client().final, b"r=fyko+d2lbbFgONRv9qkxdawLx,i=4096")
    raises("malformed-challenge", rfc5802_client().final, b"garbage")
    m = b"m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=4096"
    raises("malformed-challenge", rfc5802_client().final, m)


def test_server_first_attributes_out_of_their_fixed_order_or_repeated_are_malformed():
    # RFC 5802 §5.1: the order of r, s, i is fixed; only extensions may follow.
    for first in (
        b"s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096",
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096,s=QSXCR+Q6sek8bf92",
    ):
        raises("malformed-challenge", rfc5802_client().final, first)
    # The nonce is the first attribute: a second r= among the extensions is not read.
    first = b"r=evil,s=QSXCR+Q6sek8bf92,i=4096,r=fyko+d2lbbFgONRv9qkxdawL3rfc"
    raises("nonce-mismatch", rfc5802_client().final, first)


def test_server_first_extensions_after_the_iteration_count_are_ignored():
    c = rfc5802_client()
    assert c.final(SHA1_SERVER_FIRST + b",x=future").startswith(b"c=biws,r=")


def test_empty_salt_is_rejected():
    first = b"r=fyko+d2lbbFgONRv9qkxdawLx,s=,i=4096"
    raises("malformed-challenge", rfc5802_client().final, first)


def test_wrong_server_signature_is_rejected():
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    raises("server-signature", c.verify, b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    raises("server-signature", c.verify, b"v=AAAA")
    assert not c.verified


def test_server_error_attribute_is_a_failure_with_its_value():
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    e = raises("server-error", c.verify, b"e=invalid-proof")
    assert e.text == "invalid-proof"
    assert not c.verified


def test_a_server_error_value_that_is_not_utf8_is_still_a_sasl_error():
    # Bytes come base64-decoded from the server: a UnicodeError would skip the <abort/>
    # and the retry policy the login applies to every SASLError.
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    raises("malformed-challenge", c.verify, b"e=\xff\xfe")
    assert not c.verified


def test_server_final_without_v_is_malformed():
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    raises("malformed-challenge", c.verify, b"x=1")
    raises("malformed-challenge", c.verify, b"")


def test_steps_out_of_order_are_rejected():
    c = scram.ScramClient("SCRAM-SHA-1", "user", "pencil", nonce=SHA1_NONCE)
    raises("unexpected-step", c.final, SHA1_SERVER_FIRST)
    raises("unexpected-step", c.verify, SHA1_SERVER_FINAL)
    c.first()
    raises("unexpected-step", c.first)
    raises("unexpected-step", c.verify, SHA1_SERVER_FINAL)


def test_unknown_mechanism_is_rejected():
    try:
        scram.ScramClient("SCRAM-MD5", "u", "p")
    except scram.SASLError as e:
        assert e.condition == "invalid-mechanism"
    else:
        raise AssertionError("accepted SCRAM-MD5")


def counting_pbkdf2():
    calls = []
    real = scram.pbkdf2

    def counted(*args):
        calls.append(args[3])
        return real(*args)

    scram.pbkdf2 = counted
    return calls, real


def test_cache_hit_skips_pbkdf2_and_gives_the_same_proof():
    calls, real = counting_pbkdf2()
    try:
        cache = scram.KeyCache()
        for _ in range(3):
            c = rfc5802_client(cache=cache)
            assert c.final(SHA1_SERVER_FIRST) == SHA1_CLIENT_FINAL
            c.verify(SHA1_SERVER_FINAL)
        assert calls == [4096]
    finally:
        scram.pbkdf2 = real


def test_cache_misses_on_new_salt_iterations_or_password():
    calls, real = counting_pbkdf2()
    try:
        cache = scram.KeyCache()
        rfc5802_client(cache=cache).final(SHA1_SERVER_FIRST)
        other_salt = SHA1_SERVER_FIRST.replace(b"s=QSXCR", b"s=QSXCA")
        rfc5802_client(cache=cache).final(other_salt)
        other_count = other_salt.replace(b"i=4096", b"i=4097")
        rfc5802_client(cache=cache).final(other_count)
        c = scram.ScramClient("SCRAM-SHA-1", "user", "pencil2", cache, nonce=SHA1_NONCE)
        c.first()
        c.final(other_count)
        assert calls == [4096, 4096, 4097, 4097]
    finally:
        scram.pbkdf2 = real


def test_cache_holds_one_entry_per_mechanism_and_clients_do_not_share():
    calls, real = counting_pbkdf2()
    try:
        mine, theirs = scram.KeyCache(), scram.KeyCache()
        rfc5802_client(cache=mine).final(SHA1_SERVER_FIRST)
        c = scram.ScramClient("SCRAM-SHA-256", "user", "pencil", mine, nonce=SHA256_NONCE)
        c.first()
        c.final(SHA256_SERVER_FIRST)
        rfc5802_client(cache=theirs).final(SHA1_SERVER_FIRST)
        assert len(calls) == 3
        rfc5802_client(cache=mine).final(SHA1_SERVER_FIRST)  # SHA-1 entry survived SHA-256
        assert len(calls) == 3
        mine.clear()
        rfc5802_client(cache=mine).final(SHA1_SERVER_FIRST)
        assert len(calls) == 4
    finally:
        scram.pbkdf2 = real


def test_a_filled_cache_holds_nothing_of_the_module_that_filled_it():
    # The client unloads this module after each login and keeps only the cache: the cache
    # must not keep the module's code alive, and must serve the module loaded next time.
    import gc
    import sys

    import xmpp

    def unload():
        del sys.modules["xmpp.scram"]
        del xmpp.scram

    unload()
    gc.collect()
    before = gc.mem_alloc()
    from xmpp import scram as loaded  # a second copy: this file's `scram` holds the first

    gc.collect()
    size = gc.mem_alloc() - before
    cache = loaded.KeyCache()
    c = loaded.ScramClient("SCRAM-SHA-1", "user", "pencil", cache, nonce=SHA1_NONCE)
    c.first()
    c.final(SHA1_SERVER_FIRST)
    unload()
    loaded = c = None
    gc.collect()
    assert gc.mem_alloc() - before < size // 4, (size, gc.mem_alloc() - before)
    calls, real = counting_pbkdf2()
    try:
        assert rfc5802_client(cache=cache).final(SHA1_SERVER_FIRST) == SHA1_CLIENT_FINAL
        assert calls == []
    finally:
        scram.pbkdf2 = real


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


def test_a_server_signature_cut_short_or_empty_is_rejected():
    # Only the whole signature proves the server knows the password: a prefix of the right
    # one, or none at all, must not pass.
    c = rfc5802_client()
    c.final(SHA1_SERVER_FIRST)
    sig = a2b_base64(SHA1_SERVER_FINAL[2:])
    raises("server-signature", c.verify, b"v=" + b2a_base64(sig[:3])[:-1])
    raises("server-signature", c.verify, b"v=")
    assert not c.verified


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


def test_a_password_is_salted_as_saslprep_maps_it():
    # RFC 4013 §2.1: the server salted "pass word" and "password" for these.
    def proof(password):
        c = scram.ScramClient("SCRAM-SHA-1", "user", password, nonce=SHA1_NONCE)
        c.first()
        return c.final(SHA1_SERVER_FIRST)

    assert proof("pass\u00a0word") == proof("pass\u3000word") == proof("pass word")
    assert proof("pass\u00adword") == proof("pass\ufeffword\u200d") == proof("password")
    assert proof("pass\u00a0word") != proof("password")
    assert proof("p\u00e4ss") != proof("pass")  # other characters are kept


def test_an_extension_after_the_iteration_count_without_its_equals_sign_is_malformed():
    c = rfc5802_client()
    raises("malformed-challenge", c.final, SHA1_SERVER_FIRST + b",junk")

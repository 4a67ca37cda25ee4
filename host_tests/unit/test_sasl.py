# SASL mechanism choice, the exchange as a server drives it, and what a failure means.
from xmpp import sasl

# RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256) exchanges for user/pencil.
SHA1_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
SHA1_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SHA1_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
SHA256_NONCE = "rOprNGfwEbeRWgbNEkqO"
SHA256_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
SHA256_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

ALL = ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"]


def raises(condition, fn, *args):
    try:
        fn(*args)
    except sasl.SASLError as e:
        assert e.condition == condition, (e.condition, e.text)
        return e
    raise AssertionError("no SASLError " + condition)


def sha1_login(cache=None):
    auth = sasl.Authenticator("user", "pencil", ["SCRAM-SHA-1", "PLAIN"], True, cache, SHA1_NONCE)
    assert auth.start() == ("SCRAM-SHA-1", b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
    return auth


def test_mechanism_selection_table():
    table = (
        (ALL, True, "SCRAM-SHA-256"),
        (ALL, False, "SCRAM-SHA-256"),
        (["PLAIN", "SCRAM-SHA-1"], False, "SCRAM-SHA-1"),
        (["PLAIN", "SCRAM-SHA-1"], True, "SCRAM-SHA-1"),
        (["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"], True, "SCRAM-SHA-1"),
        (["SCRAM-SHA-256-PLUS", "PLAIN"], True, "PLAIN"),
        (["PLAIN"], True, "PLAIN"),
        ([b"SCRAM-SHA-256", b"PLAIN"], False, "SCRAM-SHA-256"),
        (["  SCRAM-SHA-1\n", None], False, "SCRAM-SHA-1"),
    )
    for offered, tls, want in table:
        assert sasl.select(offered, tls) == want, (offered, tls)


def test_plain_is_refused_without_tls():
    e = raises("encryption-required", sasl.select, ["PLAIN"], False)
    assert "TLS" in e.text
    raises("encryption-required", sasl.select, ["SCRAM-SHA-1-PLUS", "PLAIN"], False)


def test_only_plus_or_unknown_mechanisms_is_no_usable_mechanism():
    raises("no-usable-mechanism", sasl.select, ["SCRAM-SHA-1-PLUS", "DIGEST-MD5"], True)
    raises("no-usable-mechanism", sasl.select, [], True)


def test_authenticator_refuses_plain_without_tls_at_construction():
    raises("encryption-required", sasl.Authenticator, "u", "p", ["PLAIN"], False)


def test_plain_sends_rfc4616_message_and_accepts_success_without_data():
    auth = sasl.Authenticator("user", "pencil", ["PLAIN"], True)
    assert auth.start() == ("PLAIN", b"\0user\0pencil")
    auth.success(None)
    assert auth.done


def test_plain_rejects_a_challenge():
    auth = sasl.Authenticator("user", "pencil", ["PLAIN"], True)
    auth.start()
    raises("unexpected-step", auth.challenge, b"x")


def test_scram_with_server_signature_in_success_like_prosody():
    auth = sha1_login()
    final = auth.challenge(SHA1_SERVER_FIRST)
    assert final.endswith(b",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
    auth.success(SHA1_SERVER_FINAL)
    assert auth.done


def test_scram_with_server_signature_in_a_final_challenge_then_empty_success():
    auth = sasl.Authenticator("user", "pencil", ["SCRAM-SHA-256"], False, None, SHA256_NONCE)
    assert auth.start()[0] == "SCRAM-SHA-256"
    assert auth.challenge(SHA256_SERVER_FIRST).endswith(
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert auth.challenge(SHA256_SERVER_FINAL) == b""
    auth.success(b"")
    assert auth.done


def test_scram_success_without_any_server_signature_fails():
    auth = sha1_login()
    auth.challenge(SHA1_SERVER_FIRST)
    raises("server-signature", auth.success, None)
    raises("server-signature", auth.success, b"")
    assert not auth.done


def test_scram_success_before_any_challenge_fails():
    raises("server-signature", sha1_login().success, None)


def test_scram_success_with_wrong_signature_fails():
    auth = sha1_login()
    auth.challenge(SHA1_SERVER_FIRST)
    raises("server-signature", auth.success, b"v=rmF9pqV8S7suAoZWja4dJRkFAAA=")
    assert not auth.done


def test_scram_final_challenge_with_server_error_fails():
    auth = sha1_login()
    auth.challenge(SHA1_SERVER_FIRST)
    e = raises("server-error", auth.challenge, b"e=other-error")
    assert e.text == "other-error"


def test_scram_third_challenge_is_rejected():
    auth = sha1_login()
    auth.challenge(SHA1_SERVER_FIRST)
    auth.challenge(SHA1_SERVER_FINAL)
    raises("unexpected-step", auth.challenge, b"")


def test_steps_before_start_or_after_success_are_rejected():
    auth = sasl.Authenticator("user", "pencil", ["SCRAM-SHA-1"], False)
    raises("unexpected-step", auth.challenge, SHA1_SERVER_FIRST)
    raises("unexpected-step", auth.success, None)
    auth = sha1_login()
    raises("unexpected-step", auth.start)
    auth.challenge(SHA1_SERVER_FIRST)
    auth.success(SHA1_SERVER_FINAL)
    raises("unexpected-step", auth.success, SHA1_SERVER_FINAL)
    raises("unexpected-step", auth.challenge, SHA1_SERVER_FINAL)


def test_cache_passed_to_authenticator_skips_pbkdf2_on_relogin():
    from xmpp import scram

    calls = []
    real = scram.pbkdf2

    def counted(*args):
        calls.append(args[3])
        return real(*args)

    scram.pbkdf2 = counted
    try:
        cache = {}
        for _ in range(2):
            auth = sha1_login(cache)
            auth.challenge(SHA1_SERVER_FIRST)
            auth.success(SHA1_SERVER_FINAL)
        assert calls == [4096]
    finally:
        scram.pbkdf2 = real


def test_sasl_error_prints_condition_and_text():
    assert str(sasl.SASLError("not-authorized", "bad")) == "not-authorized: bad"
    assert str(sasl.SASLError("aborted")) == "aborted"


def test_only_transient_failures_are_retried_soon():
    for condition in ("temporary-auth-failure", "aborted"):
        assert sasl.retry_soon(condition), condition
    for condition in (
        "not-authorized",
        "account-disabled",
        "credentials-expired",
        "malformed-request",
        "server-signature",
        "something-new",
        "encryption-required",
        "mechanism-too-weak",
        "invalid-mechanism",
        "no-usable-mechanism",
    ):
        assert not sasl.retry_soon(condition), condition


def test_a_first_challenge_without_data_is_a_sasl_error():
    # <challenge/> or <challenge>=</challenge> decodes to nothing: a SASLError, not a crash.
    for data in (None, b""):
        auth = sasl.Authenticator("user", "pencil", ["SCRAM-SHA-1"], True, None, SHA1_NONCE)
        auth.start()
        try:
            auth.challenge(data)
        except sasl.SASLError as e:
            assert e.condition == "malformed-challenge", (data, e.condition)
        else:
            raise AssertionError("an empty server-first-message was accepted")

# SASL edge cases: a challenge without data.
from xmpp import sasl

SHA1_NONCE = "fyko+d2lbbFgONRv9qkxdawL"


def raises(condition, fn, *args):
    try:
        fn(*args)
    except sasl.SASLError as e:
        assert e.condition == condition, (e.condition, e.text)
        return e
    raise AssertionError("no SASLError " + condition)


def test_a_first_challenge_without_data_is_a_sasl_error():
    # <challenge/> or <challenge>=</challenge> decodes to nothing: a SASLError, not a crash.
    for data in (None, b""):
        auth = sasl.Authenticator("user", "pencil", ["SCRAM-SHA-1"], True, None, SHA1_NONCE)
        auth.start()
        try:
            auth.challenge(data)
        except sasl.SASLError as e:
            assert e.condition, data
        else:
            raise AssertionError("an empty server-first-message was accepted")

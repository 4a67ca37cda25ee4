"""The client against a scripted misbehaving server: it answers with the right stream error,
backs off, reconnects, and the process stays alive."""

import fakeserver as fs

FAST = {"backoff_base_s": 1, "backoff_cap_s": 2, "login_timeout_s": 3}


def _config(port, **xmpp):
    return fs.board_config(port, **dict(FAST, **xmpp))


def test_a_server_offering_no_starttls_is_never_given_credentials(fake_server, board):
    fake = fake_server(fs.plaintext_without_starttls())
    fw = board(_config(fake.port))
    fw.wait_log(r"offers no STARTTLS; refusing")
    fw.wait_log(r"reconnecting in \d+ ms")
    conn = fake.wait_closed(0)
    assert b"<auth" not in conn.received
    assert conn.received.endswith(b"</stream:stream>"), conn.received  # RFC 6120 §4.4
    assert fw.alive()


def test_an_unexpected_element_instead_of_features_gets_a_stream_error(fake_server, board):
    # RFC 6120 §4.9.1.1: a stream error, then the closing tag, before the TCP connection ends.
    fake = fake_server(
        [fs.Expect(fs.CLIENT_HEADER), fs.Send(fs.header() + "<message xmlns='jabber:client'/>")]
    )
    fw = board(_config(fake.port))
    fw.wait_log(r"expected stream features, got <message>")
    conn = fake.wait_closed(0)
    assert conn.received.endswith(
        b"<stream:error><unsupported-stanza-type xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
        b"</stream:error></stream:stream>"
    ), conn.received
    assert fw.alive()


def test_garbage_gets_a_stream_error_and_a_reconnect(fake_server, board):
    fake = fake_server(fs.garbage_after_header())
    fw = board(_config(fake.port))
    cond = fw.wait_log(r"bad XML from server \((bad-format|not-well-formed)\)").group(1)
    fake.wait_received(0, rb"<stream:error><" + cond.encode())
    fake.wait_for_connections(2, timeout=30)
    assert fw.alive()


def test_a_doctype_gets_restricted_xml(fake_server, board):
    fake = fake_server(fs.doctype())
    fw = board(_config(fake.port))
    fw.wait_log(r"bad XML from server \(restricted-xml\)")
    fake.wait_received(0, rb"<restricted-xml ")
    fake.wait_for_connections(2, timeout=30)
    assert fw.alive()


def test_an_oversized_stanza_gets_policy_violation(fake_server, board):
    fake = fake_server(fs.oversized_stanza(size=20_000))
    fw = board(_config(fake.port, max_stanza=4096))
    fw.wait_log(r"bad XML from server \(policy-violation\)")
    fake.wait_for_connections(2, timeout=30)
    assert fw.alive()


def test_see_other_host_is_followed(fake_server, board):
    target = fake_server(fs.plaintext_without_starttls())
    fake = fake_server(fs.see_other_host(target.port))
    fw = board(_config(fake.port))
    fw.wait_log(r"stream error from server: see-other-host")
    target.wait_for_connections(1, timeout=30)
    assert fw.alive()


def test_see_other_host_before_tls_is_not_followed(fake_server, board):
    # Anyone on the path can write a cleartext stream error (RFC 6120 §4.9.3.19, errata 3651).
    target = fake_server(fs.plaintext_without_starttls())
    fake = fake_server(fs.see_other_host(target.port, tls=False))
    fw = board(_config(fake.port))
    fw.wait_log(r"see-other-host before TLS not followed")
    fw.wait_log(r"reconnecting in \d+ ms")
    fake.wait_for_connections(2, timeout=30)  # the next attempt goes to the configured host
    assert target.connections == []
    assert fw.alive()


def test_a_see_other_host_loop_is_not_followed_forever(fake_server, board):
    loop = fake_server([])
    loop.script = fs.see_other_host(loop.port)  # redirects to itself, forever
    fw = board(_config(loop.port))
    loop.wait_for_connections(6, timeout=60)
    fw.wait_count(r"see-other-host", 5)  # each hop is logged
    fw.wait_count(r"reconnecting in \d+ ms", 1)  # after a few hops it backs off
    assert fw.alive()


def test_a_tls_handshake_that_never_finishes_times_out_and_retries(fake_server, board):
    fake = fake_server(fs.stalled_tls_handshake())
    fw = board(_config(fake.port))
    fw.wait_log(r"login failed: not done within \d+ ms \(the TLS handshake did not", timeout=30)
    fake.wait_for_connections(2, timeout=30)
    assert fw.alive()


def test_a_reset_connection_is_retried_with_backoff(fake_server, board):
    fake = fake_server(fs.reset_after_header())
    fw = board(_config(fake.port))
    fake.wait_for_connections(3, timeout=60)
    delays = fake.reconnect_delays()
    assert all(d >= 0.4 for d in delays), delays
    assert fw.alive()


def test_a_redirect_to_a_host_with_a_certificate_for_another_domain_gets_no_credentials(
    fake_server, board
):
    # The target's certificate is signed by the trusted CA, but for evil.example: after a
    # see-other-host the name checked must still be the JID's domain (localhost).
    target = fake_server(
        fs.starttls("evil.example") + [fs.Send(fs.header() + fs.features(fs.MECHANISMS))]
    )
    fake = fake_server(fs.see_other_host(target.port))
    fw = board(fs.board_config(fake.port, **FAST))
    fw.wait_log(r"stream error from server: see-other-host")
    target.wait_for_connections(1, timeout=30)
    fw.wait_log(r"connection to 127.0.0.1:%d failed" % target.port, timeout=30)
    assert b"<auth" not in target.connections[0].received
    assert fw.alive()

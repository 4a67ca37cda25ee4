# JID helpers (RFC 7622) as the client uses them on every stanza address.
from xmpp import jid


def rejected(s):
    try:
        jid.split(s)
    except jid.JIDError:
        return True
    return False


def test_full_jid_splits_into_three_parts():
    assert jid.split("dev@example.org/sensor") == ("dev", "example.org", "sensor")


def test_bare_and_domain_only_jids_have_empty_parts():
    assert jid.split("dev@example.org") == ("dev", "example.org", "")
    assert jid.split("example.org") == ("", "example.org", "")
    assert jid.split("example.org/admin") == ("", "example.org", "admin")


def test_resource_may_contain_at_and_slash():
    assert jid.split("a@b.org/x@y/z") == ("a", "b.org", "x@y/z")
    assert jid.split("b.org/x@y") == ("", "b.org", "x@y")


def test_local_part_and_domain_are_lowercased_but_resource_keeps_case():
    assert jid.split("Dev@Example.ORG/Sensor") == ("dev", "example.org", "Sensor")
    assert jid.bare("Dev@Example.ORG/Sensor") == "dev@example.org"


def test_trailing_dot_of_domain_is_dropped():
    assert jid.domain("dev@example.org./r") == "example.org"


def test_helpers_return_one_part_each():
    j = "dev@example.org/sensor"
    assert jid.bare(j) == "dev@example.org"
    assert jid.bare("example.org/x") == "example.org"
    assert jid.localpart(j) == "dev"
    assert jid.domain(j) == "example.org"
    assert jid.resource(j) == "sensor"
    assert jid.resource("dev@example.org") == ""


def test_join_and_normalize_round_trip():
    assert jid.join("dev", "example.org", "r") == "dev@example.org/r"
    assert jid.join("", "example.org") == "example.org"
    assert jid.normalize("DEV@Example.org/R") == "dev@example.org/R"
    assert jid.normalize("Example.org") == "example.org"


def test_ip_literal_domains_are_accepted():
    assert jid.split("dev@[::1]/r") == ("dev", "[::1]", "r")
    assert jid.domain("127.0.0.1") == "127.0.0.1"


def test_non_ascii_is_kept_and_only_ascii_lowercased():
    assert jid.split("Jürgen@Bücher.example/Ä") == ("jürgen", "bücher.example", "Ä")


def test_empty_domain_is_rejected():
    for s in ("", "dev@", "dev@/r", "/r", "."):
        assert rejected(s), s


def test_at_without_local_part_is_rejected():
    assert rejected("@example.org")
    assert rejected("@example.org/r")


def test_slash_without_resource_is_rejected():
    assert rejected("dev@example.org/")
    assert rejected("example.org/")


def test_second_at_sign_before_the_resource_is_rejected():
    assert rejected("a@b@example.org")


def test_empty_domain_labels_are_rejected():
    assert rejected("dev@example..org")
    assert rejected("dev@.example.org")
    assert rejected("dev@example.org..")  # one trailing dot is dropped, then a label is empty
    assert rejected("example.org../r")


def test_the_part_a_character_is_forbidden_in_is_named():
    for j, part in (("a<b@example.org", "local part"), ("ab@exa<mple.org", "domain"),
                    ("a:b@example.org", "local part"), ("ab@x\\y.org", "domain"),
                    ("a@b@example.org", "domain")):  # fmt: skip
        try:
            jid.split(j)
        except jid.JIDError as e:
            assert str(e) == "bad character in " + part, (j, str(e))
        else:
            raise AssertionError("accepted " + j)
    # ':' and '\\' are allowed where the other part forbids them
    assert jid.split("a\\b@[::1]") == ("a\\b", "[::1]", "")


def test_a_normal_jid_comes_back_as_the_same_object():
    # The router and roster normalise the JIDs of every stanza: no new strings for the
    # usual case, where the server already sends them normalised.
    full = "owner@example.org/phone"
    assert jid.normalize(full) is full
    b = "owner@example.org"
    assert jid.bare(b) is b
    assert jid.normalize(b) is b
    assert jid.normalize("Owner@example.org/phone") == "owner@example.org/phone"
    assert jid.normalize("owner@example.org./phone") == "owner@example.org/phone"


def test_normal_gives_what_normalize_and_bare_give_from_one_parse():
    for j in ("Owner@Example.org./Phone", "owner@example.org/phone", "example.org", "a@b/c/d"):
        assert jid.normal(j) == (jid.normalize(j), jid.bare(j)), j
    full = "owner@example.org/phone"
    assert jid.normal(full)[0] is full
    b = "owner@example.org"
    assert jid.normal(b) == (b, b) and jid.normal(b)[1] is b
    for bad in ("", None, "@example.org", "a@b/", "a b@example.org/x"):
        try:
            jid.normal(bad)
        except jid.JIDError:
            continue
        raise AssertionError("accepted %r" % (bad,))


def test_forbidden_characters_in_local_part_or_domain_are_rejected():
    for c in "\"&'/:<> ":
        if c != "/":
            assert rejected("a" + c + "b@example.org"), c
    for c in "\"&'<> \\":
        assert rejected("dev@exa" + c + "mple.org"), c
    assert rejected("dev@example.org\n")


def test_each_part_may_be_1023_bytes_but_not_more():
    ok = "a" * 1023
    assert jid.split(ok + "@" + ok + "/" + ok)[0] == ok
    assert rejected("a" * 1024 + "@example.org")
    assert rejected("dev@" + "a" * 1024)
    assert rejected("dev@example.org/" + "a" * 1024)


def test_length_limit_counts_utf8_bytes_not_characters():
    assert jid.resource("d@e.org/" + "ü" * 511) == "ü" * 511  # 1022 bytes
    assert rejected("d@e.org/" + "ü" * 512)  # 1024 bytes
    assert rejected("ü" * 512 + "@e.org")


def test_jid_error_is_a_value_error():
    try:
        jid.split("@")
    except ValueError as e:
        assert isinstance(e, jid.JIDError)
    else:
        raise AssertionError("accepted @")


def test_missing_jid_is_rejected():
    assert rejected(None)
    assert rejected("")


def test_a_forbidden_character_at_the_very_start_is_rejected():
    for c in "\"&'<> ":
        assert rejected(c + "dev@example.org"), c
        assert rejected(c + "example.org"), c
    assert rejected(":dev@example.org")


def test_tab_carriage_return_and_newline_are_forbidden_in_either_part():
    for c in "\t\r\n":
        assert rejected("de" + c + "v@example.org"), repr(c)
        assert rejected("dev@exa" + c + "mple.org"), repr(c)


def test_a_colon_in_a_domain_is_refused_outside_an_ipv6_literal():
    # RFC 7622 §3.2: a domainpart is a name, an IPv4 address or an [IPv6] literal; a port
    # (a user's "thing1@example.org:5222") is none of these.
    for bad in ("a@example.org:5222", "example.org:5222", "a@::1", "a@[::1]:5222", "a@[::1"):
        try:
            jid.split(bad)
        except jid.JIDError:
            pass
        else:
            raise AssertionError(bad)
    assert jid.split("a@[::1]") == ("a", "[::1]", "")
    assert jid.split("a@[2001:db8::1]/r:x") == ("a", "[2001:db8::1]", "r:x")


def test_domains_with_a_colon_leave_nothing_behind():
    # A server sending JIDs whose domains start with ever new characters must not fill the
    # heap with interned one-character strs.
    from interned import held

    grown = held(jid.normal, b"dev@", b"x:5222/r", 400, jid.JIDError)
    assert grown < 1024, grown

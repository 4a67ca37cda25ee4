# JID checks at the edges of a part: a forbidden character first, and every control character.
from xmpp import jid


def rejected(s):
    try:
        jid.split(s)
    except jid.JIDError:
        return True
    return False


def test_a_forbidden_character_at_the_very_start_is_rejected():
    for c in "\"&'<> ":
        assert rejected(c + "dev@example.org"), c
        assert rejected(c + "example.org"), c
    assert rejected(":dev@example.org")


def test_tab_carriage_return_and_newline_are_forbidden_in_either_part():
    for c in "\t\r\n":
        assert rejected("de" + c + "v@example.org"), repr(c)
        assert rejected("dev@exa" + c + "mple.org"), repr(c)

"""The board's SASLprep mapping (xmpp.scram.prepare) against CPython's stringprep tables, and
the host-side check of what the board cannot do (tools/saslprep.py)."""

import stringprep
import sys

import saslprep

from xmpp import scram


def reference_mapping(c):
    # RFC 4013 §2.1, in libidn's and ICU's order: C.1.2 first (U+200B is in both tables).
    if stringprep.in_table_c12(c):
        return " "
    return "" if stringprep.in_table_b1(c) else c


def test_the_board_maps_every_code_point_as_rfc_4013_does():
    wrong = []
    for cp in range(0x80, sys.maxunicode + 1):
        if 0xD800 <= cp < 0xE000:
            continue  # no str of a lone surrogate reaches the board: its json pairs them
        c = chr(cp)
        if scram.prepare("a" + c) != "a" + reference_mapping(c):
            wrong.append(hex(cp))
    assert wrong == []


def test_ascii_passwords_are_used_as_they_are():
    assert scram.prepare("pencil") == "pencil"
    assert scram.prepare(b"p\xc2\xa0w") == b"p\xc2\xa0w"  # bytes: already what to send
    assert saslprep.problem("pencil") is None


def test_what_only_normalization_or_a_prohibition_changes_is_a_problem():
    assert saslprep.problem("caf\u00e9 pass\u00a0word\u00ad") is None  # NFC, mapped only
    assert "U+FF53" in saslprep.problem("\uff53ecret")  # fullwidth s: NFKC makes it "s"
    assert "U+E000, which SASLprep" in saslprep.problem("private\ue000")
    assert saslprep.problem(None) is None  # the config check reports a missing password

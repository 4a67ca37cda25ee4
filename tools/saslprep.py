"""Whether a board can log in with a password: SCRAM salts the password as SASLprep
(RFC 4013) prepares it, and the server stores it so prepared. A board does SASLprep's
mapping (xmpp.scram.prepare) but not its NFKC step, which needs Unicode tables it lacks;
so the tools that write a config refuse a password that NFKC would still change, and one
SASLprep prohibits (the server could not have stored it)."""

import stringprep
import unicodedata

from mpshim import use_lib

use_lib()
from xmpp import scram  # noqa: E402

# RFC 4013 §2.3: prohibited output.
_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def problem(password):
    """A sentence saying why a board could not log in with `password`, or None."""
    if not isinstance(password, str):
        return None
    mapped = scram.prepare(password)
    prepared = unicodedata.normalize("NFKC", mapped)
    for c in prepared:
        if any(table(c) for table in _PROHIBITED):
            return "xmpp.password: holds U+%04X, which SASLprep (RFC 4013) prohibits" % ord(c)
    if prepared != mapped:
        i = next((i for i, c in enumerate(mapped) if prepared[i : i + 1] != c), len(mapped))
        return (
            "xmpp.password: the server reads it otherwise from U+%04X on (Unicode NFKC"
            " normalization, RFC 4013), which a board cannot do; write it as"
            " unicodedata.normalize('NFKC', password) gives it" % ord(mapped[i])
        )
    return None

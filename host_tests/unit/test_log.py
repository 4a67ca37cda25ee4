# The log: one line per call, the latest warning kept, and never an exception of its own.
from xmpp.log import Log


class Out:
    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)

    def text(self):
        return "".join(self.parts)


class Hungry:
    """A message whose formatting runs out of memory, as it may on a fragmented heap."""

    def __str__(self):
        raise MemoryError


def test_a_line_carries_level_tag_and_message_and_warnings_are_kept():
    out = Out()
    log = Log("dev", out=out)
    log.info("hello")
    assert log.latest() is None  # info is no problem
    log.warn("careful")
    lines = out.text().splitlines()
    assert lines[0].startswith("I ") and lines[0].endswith(" dev: hello")
    assert lines[1].startswith("W ") and lines[1].endswith(" dev: careful")
    assert log.latest() == lines[1]
    log.error("worse")
    assert log.latest() == out.text().splitlines()[2]


def test_a_line_that_cannot_be_formatted_for_lack_of_memory_is_logged_as_such():
    out = Out()
    log = Log("dev", out=out)
    log.error(Hungry())  # the error paths log: this must not raise in their place
    assert out.text() == "E out of memory for a log line\n"
    assert log.latest() == "E out of memory for a log line"


def test_the_latest_problem_is_kept_cut_to_a_line():
    # A peer can put a 3 KB JID in a warning: a line's worth of it is kept.
    log = Log("dev", out=Out())
    assert log.latest() is None
    log.warn("careful")
    log.info("fine")
    assert log.latest().endswith("dev: careful")
    log.error("x" * 3000)
    assert log.latest().startswith("E ") and len(log.latest()) == 160


def test_a_peers_line_break_or_terminal_control_cannot_forge_or_hide_a_line():
    # A stream error's <text> or a SCRAM e= is the server's to choose: it must show as
    # part of our one line, never start a line of its own nor move the console's cursor.
    out = Out()
    log = Log("dev", out=out)
    log.warn("stream error from server: reset (bye\nE 1 dev: forged)")
    log.info("name \x1b[2Jcleared\x08 \x7f")
    log.info("c1 \u009b2J \u0085next")  # CSI and NEL, which terminals act on too
    lines = out.text().splitlines()
    assert len(lines) == 3, lines
    assert "\u009b" not in lines[2] and "\\x9b2J \\x85next" in lines[2], lines[2]
    assert lines[0].startswith("W ") and "bye\\nE 1 dev: forged" in lines[0]
    assert "\x1b" not in lines[1] and "\\x1b[2Jcleared\\x08 \\x7f" in lines[1]
    assert log.latest() == lines[0]
    log.info("température 21 °C ☀")  # no control character: printed as it is
    assert out.text().splitlines()[3].endswith("dev: température 21 °C ☀")


def test_a_console_line_is_cut_at_a_bound_whatever_the_peer_sent():
    out = Out()
    log = Log("dev", out=out)
    log.info("stanza from %s dropped" % ("j" * 5000))
    (line,) = out.text().splitlines()
    assert 400 <= len(line) <= 410 and line.endswith("..."), len(line)

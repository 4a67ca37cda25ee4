# The log: one line per call, a ring of the latest warnings, and never an exception of its own.
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
    log = Log("dev", out=out, keep=2)
    log.info("hello")
    log.warn("careful")
    lines = out.text().splitlines()
    assert lines[0].startswith("I ") and lines[0].endswith(" dev: hello")
    assert lines[1].startswith("W ") and lines[1].endswith(" dev: careful")
    assert log.recent[0] == lines[1] and log.recent[1] is None


def test_a_line_that_cannot_be_formatted_for_lack_of_memory_is_logged_as_such():
    out = Out()
    log = Log("dev", out=out)
    log.error(Hungry())  # the error paths log: this must not raise in their place
    assert out.text() == "E out of memory for a log line\n"
    assert log.recent[0] == "E out of memory for a log line"


def test_the_latest_problem_is_kept_cut_to_a_line():
    # A peer can put a 3 KB JID in a warning: the ring keeps a line's worth of each.
    log = Log("dev", out=Out(), keep=2)
    assert log.latest() is None
    log.warn("careful")
    log.info("fine")
    assert log.latest().endswith("dev: careful")
    log.error("x" * 3000)
    assert log.latest().startswith("E ") and len(log.latest()) == 160

"""The `make` lines in the tools' usage texts and in the README name variables the Makefile
reads: a variable it does not read is silently ignored."""

import re
from pathlib import Path

import deploy
import flash
import provision
import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()
READ = set(re.findall(r"^(\w+) \?=", MAKEFILE, re.M))


def make_lines(text):
    return re.findall(r"make [a-z-]+ [^)`\n]*", text)


@pytest.mark.parametrize(
    "name, text",
    [
        ("tools/deploy.py", deploy.__doc__),
        ("tools/flash.py", flash.__doc__),
        ("tools/provision.py", provision.__doc__),
        ("README.md", (ROOT / "README.md").read_text()),
        ("Makefile", MAKEFILE),
    ],
)
def test_make_lines_name_variables_the_makefile_reads(name, text):
    lines = make_lines(text)
    assert lines or name == "README.md"
    for line in lines:
        for var in re.findall(r"\b([A-Z][A-Z_]*)=", line):
            assert var in READ, "%s: `%s`: the Makefile reads no %s" % (name, line, var)

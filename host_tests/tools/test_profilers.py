"""The instruction profilers (tools/prof_*_mp.py) still drive the firmware's own path: a
readout through each ends where it should, so a figure taken with them counts real work."""

import re
import subprocess
import sys
from pathlib import Path

from hostboard import ROOT

MICROPYTHON = str(Path(sys.executable).parent / "micropython")


def run(*argv):
    cmd = [MICROPYTHON, "-X", "heapsize=512k", *map(str, argv)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_sensor_profiler_answers_every_request_with_its_fields(tmp_path):
    out = tmp_path / "outbox.bin"
    for case in ("fresh", "coalesced"):
        run("tools/prof_sensor_mp.py", 3, case, "full", out)
        sent = out.read_bytes()
        assert sent.count(b"<accepted ") == 3, sent[:400]
        assert sent.count(b"done='true'") == 3 and sent.count(b"<numeric ") == 6, sent[:400]


def test_the_requester_profiler_ends_every_readout_done():
    text = run("tools/prof_requester_mp.py", 3)
    m = re.search(r"tally=\{'done': (\d+)\} requests=(\d+)", text)
    assert m and m.group(1) == m.group(2), text

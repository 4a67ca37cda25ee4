"""tools/demo.py stopped another way than Ctrl-C (kill, a closed terminal) still stops the
board and Prosody and removes its files; --keep stays up until Ctrl-C, says how to reach
the board, and shows its log. (The plain run and Ctrl-C: host_tests/integration/test_demo.py.)"""

import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hostboard import ROOT

# Signals as a terminal delivers them: a shell starts a background job with SIGINT ignored
# (nohup, SIGHUP too), the demo would inherit that, and these tests would hang or pass wrongly.
TERMINAL = ["env", "--default-signal=INT,HUP"]

pytestmark = pytest.mark.skipif(not shutil.which("prosody"), reason="needs Debian's prosody")


def start(*argv):
    return subprocess.Popen(
        [*TERMINAL, sys.executable, str(ROOT / "tools" / "demo.py"), *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc, text):
    seen = ""
    for line in proc.stdout:
        seen += line
        if text in line:
            return seen
    raise AssertionError("the demo ended before %r:\n%s" % (text, seen))


def left_behind(out):
    """What the demo started and should have stopped or removed, still there."""
    port = int(re.search(r"listening on port (\d+)", out).group(1))
    work = Path(re.search(r"its config: (\S+)\)", out).group(1)).parent.parent
    assert work.name.startswith("xmpp-sensor-demo-"), out
    found = []
    deadline = time.monotonic() + 5
    while True:
        found = [str(work)] if work.exists() else []
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                found.append("port %d" % port)
        ps = subprocess.run(["ps", "-eo", "stat,args"], capture_output=True, text=True).stdout
        found += [
            line for line in ps.splitlines() if str(work) in line and not line.startswith("Z")
        ]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_killed_demo_stops_everything_it_started(sig):
    proc = start()
    try:
        seen = read_until(proc, "online as")
        proc.send_signal(sig)  # to the demo only, as `kill PID` does
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, seen + out
    assert left_behind(seen) == []


def test_keep_stays_up_with_a_working_query_line_until_ctrl_c():
    proc = start("--keep")
    guard = threading.Timer(90, proc.kill)  # a line that never comes ends the test, not CI
    guard.start()
    try:
        seen = read_until(proc, "--ca ")
        line = re.search(r"QUERY_PASSWORD=(\S+) (.*)", seen)
        ca = Path(re.search(r"--ca (\S+)", seen).group(1))
        query = subprocess.run(
            line.group(2).split() + ["--node", "mcu", "--momentary", "--json"],
            env={"QUERY_PASSWORD": line.group(1)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert query.returncode == 0, query.stdout + query.stderr
        assert '"result": "done"' in query.stdout
        # The board's own log follows the instructions: here, its line for a refused request.
        refused = subprocess.run(
            line.group(2).split() + ["--node", "nope"],
            env={"QUERY_PASSWORD": line.group(1)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 3, refused.stdout + refused.stderr
        seen += read_until(proc, "Unknown node: nope")
        assert re.search(r"^  board\| I \d+ .*rejected .* Unknown node: nope$", seen, re.M), seen
        assert proc.poll() is None  # still up
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        guard.cancel()
        proc.kill()
    assert proc.returncode == 0, seen + out
    assert left_behind(seen) == [] and not ca.exists()

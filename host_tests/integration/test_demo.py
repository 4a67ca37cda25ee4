"""`make demo` runs end to end and leaves nothing behind, also when interrupted."""

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from hostboard import ROOT

# Signals as a terminal delivers them: a shell starts a background job with SIGINT ignored
# (nohup, SIGHUP too), the demo would inherit that, and these tests would hang or pass wrongly.
TERMINAL = ["env", "--default-signal=INT,HUP"]


def _our_processes():
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [
        line
        for line in out.splitlines()
        if "xmpp-sensor-demo-" in line or ("firmware/host.py" in line and "demo" in line)
    ]


def _port_closed(out):
    port = int(re.search(r"listening on port (\d+)", out).group(1))
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _work_dir(out):
    # "(its config: /tmp/xmpp-sensor-demo-XXXX/board/config.json)": the demo's own folder.
    work = Path(re.search(r"its config: (\S+)\)", out).group(1)).parent.parent
    assert work.name.startswith("xmpp-sensor-demo-"), out
    return work


def test_demo_prints_readings_over_xep0323_and_chat():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "bme280-76  " in out and "Temperature  22.50" in out  # the query table
    assert "bme280-76: Temperature 22.50 °C" in out  # the chat answer
    assert "demo finished" in out
    assert _our_processes() == []
    assert _port_closed(out)
    assert not _work_dir(out).exists()


def test_interrupted_demo_stops_everything_it_started():
    proc = subprocess.Popen(
        [*TERMINAL, sys.executable, str(ROOT / "tools" / "demo.py")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = ""
    for line in proc.stdout:
        seen += line
        if "online as" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, seen + out
    deadline = time.monotonic() + 10  # a dying child may take a moment to leave the table
    while _our_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _our_processes() == []
    assert _port_closed(seen)
    assert not _work_dir(seen).exists()

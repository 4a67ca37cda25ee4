"""Our XEP-0323 requester role against our sensor and against slixmpp's sensor."""

import json
import os
import subprocess
import threading
from pathlib import Path

from hostboard import ROOT, board_config
from slixsensor import NODE
from slixsensor import start as start_slix_sensor

SCRIPT = Path(__file__).with_name("mp_requester.py")


def _run_requester(tmp_path, req_cfg, target, sensor_cfg=None, nodes=(), pump=None):
    paths = []
    for name, cfg in (("requester.json", req_cfg), ("sensor.json", sensor_cfg)):
        if cfg is not None:
            p = tmp_path / name
            p.write_text(json.dumps(cfg))
            paths.append(str(p))
    cmd = (
        [str(ROOT / ".venv/bin/micropython"), "-X", "heapsize=512k", str(SCRIPT), paths[0], target]
        + paths[1:]
        + list(nodes)
    )
    env = dict(os.environ, MICROPYPATH=".frozen")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    if pump is not None:
        # The slixmpp peer lives on a loop this thread must keep turning.
        stop = threading.Event()
        while proc.poll() is None and not stop.is_set():
            pump(0.05)
    out, _ = proc.communicate(timeout=60)
    results = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
    return results, out


def test_our_requester_reads_our_sensor_two_boards_in_one_process(prosody, tmp_path):
    prosody.register("reader", "reader-secret")
    req = board_config(prosody, "reader", allow=())
    sensor = board_config(prosody, "sensor", allow=("reader",))
    results, out = _run_requester(tmp_path, req, "-", sensor, nodes=("bme280-76",))
    kinds = [r["result"] for r in results]
    assert kinds[0] == "accepted" and kinds[-1] == "done", out
    fields = [f for r in results if r["result"] == "fields" for f in r["fields"]]
    names = {f[0] for f in fields}
    assert {"Temperature", "Humidity", "Pressure"} <= names, out
    temp = next(f for f in fields if f[0] == "Temperature")
    assert temp[1] == "numeric" and temp[3] == "°C" and "momentary" in temp[5]
    assert "SESSIONS-IN-USE 0" in out


def test_our_requester_is_told_when_it_is_not_allowed(prosody, tmp_path):
    prosody.register("reader", "reader-secret")
    req = board_config(prosody, "reader", allow=())
    sensor = board_config(prosody, "sensor", allow=("requester",))
    results, out = _run_requester(tmp_path, req, "-", sensor)
    assert [r["result"] for r in results] == ["rejected"], out
    assert results[0]["error"] == "Access denied"


def test_our_requester_reads_a_slixmpp_sensor(prosody, clients, tmp_path):
    prosody.register("slixsensor", "slix-secret")
    slix = start_slix_sensor(clients, prosody)
    req = board_config(prosody, "requester", allow=())

    def pump(seconds):
        import asyncio

        slix.run(asyncio.sleep(seconds), seconds + 1)

    results, out = _run_requester(tmp_path, req, slix.jid, nodes=(NODE,), pump=pump)
    kinds = [r["result"] for r in results]
    assert kinds[0] == "accepted" and kinds[-1] == "done", out
    fields = {f[0]: f for r in results if r["result"] == "fields" for f in r["fields"]}
    assert fields["Temperature"][2] == "23.4" and fields["Temperature"][3] == "C"


def test_one_failing_node_of_a_slixmpp_sensor_does_not_end_the_readout(prosody, clients, tmp_path):
    # slixmpp sends <failure> without done='true' for that node, then the other's data.
    prosody.register("slixsensor", "slix-secret")
    slix = start_slix_sensor(clients, prosody, failing="Broken")
    req = board_config(prosody, "requester", allow=())

    def pump(seconds):
        import asyncio

        slix.run(asyncio.sleep(seconds), seconds + 1)

    results, out = _run_requester(tmp_path, req, slix.jid, nodes=("Broken", NODE), pump=pump)
    kinds = [r["result"] for r in results]
    assert kinds[0] == "accepted" and kinds[-1] == "done", out
    failed = [r for r in results if r["result"] == "failure"]
    assert [(r["node"], r["error"]) for r in failed] == [("Broken", "No answer")], out
    fields = {f[0] for r in results if r["result"] == "fields" for f in r["fields"]}
    assert "Temperature" in fields, out
    assert "SESSIONS-IN-USE 0" in out

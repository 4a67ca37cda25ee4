"""Under TLS the client waits on its TCP socket, never on the TLS object.

The unix port's poller keeps a pointer per registered object into its descriptor table and,
when the table moves, recomputes it for every entry, turning the NULL of an object without
a descriptor (a TLS object) into a wild pointer: the next poll crashes. Forty idle sockets
joining the poller while the client is online make the table move several times.
"""

import json
import os
import subprocess
from pathlib import Path

from hostboard import ROOT, board_config

SCRIPT = Path(__file__).with_name("mp_crowded_poller.py")


def test_a_tls_client_survives_a_crowded_poller_and_keeps_answering(prosody, tmp_path):
    cfg = tmp_path / "client.json"
    cfg.write_text(json.dumps(board_config(prosody)))
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/micropython"), "-X", "heapsize=512k", str(SCRIPT), str(cfg),
         "40", "20"],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, MICROPYPATH=".frozen"),
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "tls-object-in-poller=False" in out, out
    assert "PINGS 20/20" in out, out
    assert proc.stdout.rstrip().endswith("OK"), out

"""tools/romfs_mp.py and run-host's ROMFS=: code in place from a ROMFS image of build/mpy."""

import os
import subprocess

import mpy_build
from hostboard import ROOT, romfs_image

MP = str(ROOT / ".venv" / "bin" / "micropython")
PROBE = """
import sys
tree = sys.argv[1]
sys.path[:0] = [tree + "/lib", tree + "/boards/host"]
import board
from thing import app
from xmpp import client
print(sys.argv)
print(app.__file__, client.__file__, board.__file__, __file__)
"""


def test_the_libraries_the_board_and_the_script_are_imported_from_rom(tmp_path):
    tree = tmp_path / "mpy"
    _, failures = mpy_build.build(tree)
    assert not failures
    (tree / "tools").mkdir()
    (tree / "tools" / "probe.py").write_text(PROBE)  # a source file in the image: it runs too
    image = romfs_image(tmp_path / "mpy.romfs", tree)
    proc = subprocess.run(
        [MP, "-X", "heapsize=512k", str(ROOT / "tools" / "romfs_mp.py"), str(image), "probe",
         "/rom", "x"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env=dict(os.environ, MICROPYPATH=".frozen:/rom/tools"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    argv, files = proc.stdout.splitlines()
    assert argv == "['probe', '/rom', 'x']"
    assert files.split() == [
        "/rom/lib/thing/app.mpy",
        "/rom/lib/xmpp/client.mpy",
        "/rom/boards/host/board.mpy",
        "/rom/tools/probe.py",
    ]


def test_run_host_refuses_an_image_that_is_not_there(tmp_path):
    proc = subprocess.run(
        [str(ROOT / "tools" / "run-host"), str(tmp_path / "config.json")],
        env=dict(os.environ, ROMFS=str(tmp_path / "none.romfs")),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "none.romfs: no such image" in proc.stderr

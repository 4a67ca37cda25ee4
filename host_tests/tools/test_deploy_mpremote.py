"""tools/deploy.py through the real mpremote, to a fake board on a pty (fakeboard.py): what
the fakes in test_deploy.py can get wrong, mpremote's own behaviour. --frozen keeps each
deploy to three files."""

import json
import subprocess
import sys
from pathlib import Path

import deploy
import pytest

FAKEBOARD = Path(__file__).with_name("fakeboard.py")


class Board:
    def __init__(self, port, fs, log):
        self.port, self.fs, self.log = port, fs, log

    def firmware_runs(self):
        """Whether the last reset was a hard one: after a soft reset main.py does not run."""
        resets = [e for e in self.log.read_text().splitlines() if e.endswith(" reset")]
        return resets[-1] == "hard reset"

    def manifest(self):
        return json.loads((self.fs / ".deploy.json").read_text())


@pytest.fixture
def board(tmp_path):
    fs, log = tmp_path / "fs", tmp_path / "log"
    fs.mkdir()
    log.write_text("hard reset\n")  # powered on: the firmware runs
    cmd = [sys.executable, FAKEBOARD, fs, log]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        yield Board(proc.stdout.readline().strip(), fs, log)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def deploy_to(board, capsys, *extra):
    code = deploy.main(["--port", board.port, "--board", "esp32_devkitc", "--frozen", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_a_deploy_leaves_the_firmware_running(board, capsys):
    out = deploy_to(board, capsys)
    assert "3 files sent" in out and board.firmware_runs()
    assert sorted(board.manifest()["files"]) == ["/boot.py", "/lib/board.mpy", "/main.py"]


@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_a_deploy_with_nothing_to_send_leaves_the_firmware_running(extra, board, capsys):
    deploy_to(board, capsys)
    out = deploy_to(board, capsys, *extra)
    assert "0 to send" in out and board.firmware_runs()


def test_no_reset_leaves_the_board_at_the_repl(board, capsys):
    deploy_to(board, capsys, "--no-reset")
    assert not board.firmware_runs()


def test_a_stale_file_already_gone_from_the_board_does_not_block_the_deploy(board, capsys):
    deploy_to(board, capsys)
    manifest = board.manifest()
    manifest["files"]["/lib/thing/gone.mpy"] = "1" * 64  # as an interrupted deploy leaves it
    (board.fs / ".deploy.json").write_text(json.dumps(manifest))
    out = deploy_to(board, capsys)
    assert "delete /lib/thing/gone.mpy" in out
    assert "/lib/thing/gone.mpy" not in board.manifest()["files"]


def test_a_directory_whose_files_left_the_tree_leaves_the_board_too(board, capsys):
    deploy_to(board, capsys)
    manifest = board.manifest()
    manifest["files"]["/lib/gone/sub/old.mpy"] = "1" * 64
    (board.fs / ".deploy.json").write_text(json.dumps(manifest))
    (board.fs / "lib/gone/sub").mkdir(parents=True)
    (board.fs / "lib/gone/sub/old.mpy").write_bytes(b"stale")
    deploy_to(board, capsys)
    assert sorted(p.name for p in (board.fs / "lib").iterdir()) == ["board.mpy"]


def test_a_truncated_manifest_is_replaced_by_a_whole_one(board, capsys):
    deploy_to(board, capsys)
    mpath = board.fs / ".deploy.json"
    mpath.write_text(mpath.read_text()[:50])
    out = deploy_to(board, capsys)
    assert "is no manifest" in out and "3 to send" in out
    assert board.manifest()["chip"] == "esp32" and sorted(board.fs.iterdir()) == [
        board.fs / ".deploy.json", board.fs / "boot.py", board.fs / "lib", board.fs / "main.py"
    ]  # fmt: skip


def test_a_board_py_copied_by_hand_no_longer_hides_the_deployed_board_mpy(board, capsys):
    (board.fs / "lib").mkdir()
    (board.fs / "lib/board.py").write_text("NAME = 'by hand'\n")
    deploy_to(board, capsys)
    assert sorted(p.name for p in (board.fs / "lib").iterdir()) == ["board.mpy"]


def test_a_board_py_copied_after_a_deploy_is_removed_by_the_next(board, capsys):
    deploy_to(board, capsys)
    (board.fs / "lib/board.py").write_text("NAME = 'by hand'\n")
    out = deploy_to(board, capsys)
    assert "delete /lib/board.py" in out and "up to date" not in out
    assert sorted(p.name for p in (board.fs / "lib").iterdir()) == ["board.mpy"]
    assert board.firmware_runs()

"""tools/mpy_build.py: every board file compiles; a .mpy names its file as the board does."""

from pathlib import Path

import mpy_build

ROOT = Path(__file__).resolve().parents[2]


def test_a_module_names_its_path_under_lib_in_tracebacks(tmp_path, monkeypatch):
    # Several packages have an errors.py and an __init__.py: a bare name would not say which.
    picked = ["lib/xmpp/errors.py", "lib/xmlstream/errors.py", "boards/esp32c3/board.py"]
    monkeypatch.setattr(mpy_build, "sources", lambda: [ROOT / p for p in picked])
    built, failures = mpy_build.build(tmp_path)
    assert not failures and len(built) == 3
    assert b"xmpp/errors.py" in (tmp_path / "lib/xmpp/errors.mpy").read_bytes()
    assert b"xmlstream/errors.py" in (tmp_path / "lib/xmlstream/errors.mpy").read_bytes()
    assert b"board.py" in (tmp_path / "boards/esp32c3/board.mpy").read_bytes()


def test_a_module_whose_source_is_gone_leaves_the_build(tmp_path, monkeypatch):
    # MPY=1 runs import from the build: a module removed from lib/ must not stay importable.
    picked = ["lib/xmpp/errors.py"]
    monkeypatch.setattr(mpy_build, "sources", lambda: [ROOT / p for p in picked])
    stale = tmp_path / "lib/xmpp/gone.mpy"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"M")
    other = tmp_path / "notes.txt"  # not a module of the tree: left alone
    other.write_text("x")
    built, failures = mpy_build.build(tmp_path)
    assert not failures and len(built) == 1
    assert not stale.exists()
    assert (tmp_path / "lib/xmpp/errors.mpy").exists() and other.exists()

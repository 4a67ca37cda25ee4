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

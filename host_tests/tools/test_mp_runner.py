# The MicroPython test runner must fail a failing test, also an `async def` one whose
# failure comes after an await: otherwise every asynchronous unit test could pass unrun.
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "host_tests" / "mp_runner.py"
MICROPYTHON = str(Path(sys.executable).parent / "micropython")  # the venv's unix port

CASES = {
    "test_plain_fails": ("def test_plain_fails():\n    assert 1 == 2\n", 1),
    "test_async_fails_after_an_await": (
        "import asyncio\n\n\nasync def test_async_fails_after_an_await():\n"
        "    await asyncio.sleep_ms(1)\n    assert 1 == 2\n",
        1,
    ),
    "test_async_passes": (
        "import asyncio\n\n\nasync def test_async_passes():\n    await asyncio.sleep_ms(1)\n",
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_runner_reports_what_the_test_did(tmp_path, name):
    source, status = CASES[name]
    path = tmp_path / "test_case.py"
    path.write_text(source)
    proc = subprocess.run(
        [MICROPYTHON, str(RUNNER), str(path), name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"MICROPYPATH": ".frozen"},
    )
    assert proc.returncode == status, proc.stdout + proc.stderr
    if status:
        assert "AssertionError" in proc.stdout + proc.stderr  # print_exception: stdout

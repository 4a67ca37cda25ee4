"""pytest glue: files under host_tests/unit/ are MicroPython tests.

Each `test_*` function (plain or `async def`) in such a file becomes its own pytest item, run
in a fresh MicroPython unix-port process with a device-like heap, so a test that only passes
on CPython, or that needs more RAM than a board has, fails here. A module may set
`HEAPSIZE = "64k"` to run its tests with another heap.

MP_HEAP_PERCENT=85 in the environment runs every test with that share of its heap: a test
that fails there passes by the heap's layout, not by margin, and may fail on a longer path.
"""

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "host_tests" / "unit"
RUNNER = ROOT / "host_tests" / "mp_runner.py"
DEFAULT_HEAP = "128k"
TIMEOUT_S = 120


def micropython_binary():
    exe = Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else "micropython"


def pytest_pycollect_makemodule(module_path, parent):
    # Replaces pytest's own Python module for these files: CPython never imports them.
    if UNIT in module_path.parents:
        return MicroPythonFile.from_parent(parent, path=module_path)
    return None


class MicroPythonFile(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text(), str(self.path))
        heap = DEFAULT_HEAP
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id == "HEAPSIZE":
                    heap = ast.literal_eval(node.value)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("test_"):
                    yield MicroPythonTest.from_parent(self, name=node.name, heap=heap)


def _scaled(heap):
    percent = int(os.environ.get("MP_HEAP_PERCENT", "100"))
    if percent == 100:
        return heap
    assert heap.endswith("k"), heap
    return "%dk" % (int(heap[:-1]) * percent // 100)


class MicroPythonFailure(Exception):
    pass


class MicroPythonTest(pytest.Item):
    def __init__(self, *, heap, **kwargs):
        super().__init__(**kwargs)
        self.heap = heap

    def runtest(self):
        cmd = [micropython_binary(), "-X", "heapsize=" + _scaled(self.heap), str(RUNNER)]
        cmd += [str(self.path), self.name]
        with tempfile.TemporaryDirectory(prefix="mp-test-") as scratch:
            # hermetic: no user libs; the test's files go to its own folder (scratch.py)
            env = dict(os.environ, MICROPYPATH=".frozen", TMPDIR=scratch)
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT, env=env
            )
        if proc.returncode != 0:
            raise MicroPythonFailure(proc.stdout + proc.stderr)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return "MicroPython test failed:\n" + str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "mp::" + self.name


sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture
def board(request, tmp_path):
    """Factory: board(config_dict, heap=..., mpy=...) runs the firmware on a host board.

    Every board started is stopped after the test; a failed test shows each board's log.
    """
    from hostboard import HostBoard

    made = []

    def start(cfg, **kwargs):
        fw = HostBoard(cfg, tmp_path / ("board%d" % len(made)), **kwargs).start()
        made.append(fw)
        return fw

    yield start
    for fw in made:
        code = fw.stop()
        if code not in (0, None, -2, 130):
            print("---- host board exit %s ----" % code)
        print("---- host board log (%s) ----\n%s" % (fw.dir.name, fw.log[-6000:]))

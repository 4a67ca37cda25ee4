"""lib/ on CPython, for the tools that check what a board would accept with the board's own
code (a config's pins, a date): lib/ on sys.path, and micropython.const() as the identity,
which is what it is to MicroPython outside its compiler."""

import sys
import types
from pathlib import Path

LIB = str(Path(__file__).resolve().parent.parent / "lib")


def use_lib():
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    try:
        import micropython  # noqa: F401 - present when run under MicroPython
    except ImportError:
        shim = types.ModuleType("micropython")
        shim.const = lambda value: value
        sys.modules["micropython"] = shim

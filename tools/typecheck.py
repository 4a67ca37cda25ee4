"""Static check of everything that runs on a board against the ESP32 port's API stubs.

Usage: python tools/typecheck.py
mypy checks lib/, firmware/ and each board under boards/ (but boards/host, which runs only
on the unix port) with the `micropython-esp32-stubs` package: its .pyi files are copied into
build/stubs (mypy refuses site-packages on MYPYPATH) and the MicroPython stdlib stubs serve as
typeshed, so `asyncio.sleep_ms`, `time.ticks_ms`, `machine.I2C(...)` and `esp32.*` are
checked as the device has them.

Fully checked (bodies of unannotated functions too): lib/drivers and every board. Files that
import a port module (machine, esp32, network, ...) are checked for wrong calls and names
(call-arg, arg-type, attr-defined, name-defined, ...), without mypy's inference complaints
about their own variables. A module handed a port object imports its type under
`if _MYPY:` (`_MYPY = const(0)`: only mypy takes it as true) and annotates the attribute
(`self.wlan: network.WLAN = wlan`), so the calls on it are checked too. Other modules are
parsed and their types used, but their own errors are not reported: this is a check of the
calls into the port, not a type audit of the protocol code. Each board is a separate run
because they all define the module `board`; lib/ and firmware/ are checked with the
ESP32-DevKitC board on the path. Exit status 1 on any error.
"""

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST_ONLY = {"host"}
STUB_DISTS = ("micropython_esp32_stubs", "micropython_stdlib_stubs")
PORT_MODULES = (
    "machine|esp32|esp|network|neopixel|bluetooth|espnow|aioespnow|onewire|ds18x20|dht|"
    "ntptime|webrepl|btree|framebuf|vfs|_thread"
)
_IMPORTS_PORT = re.compile(r"^\s*(import|from)\s+(%s)\b" % PORT_MODULES, re.M)
DEFAULT_BOARD = "esp32_devkitc"


def module_name(path, root=ROOT):
    """The import name of a board-side source file."""
    for top in ("lib", "firmware"):
        base = root / top
        if base in path.parents:
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join(parts)
    return path.stem  # boards/<name>/board.py is the module `board`


# In modules outside drivers and boards only errors about calls and names are reported:
# inference complaints about the program's own variables are not what this check is for.
INFERENCE_CODES = (
    "assignment,var-annotated,union-attr,has-type,str-format,index,operator,return-value,"
    "list-item,dict-item,override,misc"
)


def config_text(strict, full):
    # Errors are reported only in strict modules; the stubs' own errors never.
    # `if _MYPY: import machine` gives a module the port's types for objects it is handed.
    lines = ["[mypy]", "check_untyped_defs = True", "ignore_errors = True", "always_true = _MYPY"]
    lines.append("")
    # One section per module: mypy takes a module's options from one section only, so a
    # second section naming it would drop the `ignore_errors = False` of the first.
    partial = sorted(set(strict) - set(full))
    whole = sorted(set(strict) - set(partial))
    if whole:
        lines += ["[mypy-%s]" % ",".join(whole), "ignore_errors = False", ""]
    if partial:
        lines += ["[mypy-%s]" % ",".join(partial), "ignore_errors = False"]
        lines += ["disable_error_code = " + INFERENCE_CODES, ""]
    return "\n".join(lines)


def site_packages():
    return Path(sysconfig.get_paths()["purelib"])


def stub_dir(out):
    """Copy the stub distributions' top-level .pyi files and packages into out."""
    sp = site_packages()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for dist in STUB_DISTS:
        records = list(sp.glob(dist + "-*.dist-info/RECORD"))
        if not records:
            raise SystemExit("typecheck: %s is not installed" % dist)
        for line in records[0].read_text().splitlines():
            rel = line.split(",")[0]
            top = rel.split("/")[0]
            if ".dist-info" in top or top in ("stdlib", "stubs") or not rel.endswith(".pyi"):
                continue
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sp / rel, dest)
    return out


def mypy(targets, mypy_path, config, root=ROOT):
    exe = Path(sys.executable).parent / "mypy"
    cmd = [str(exe) if exe.exists() else "mypy", "--config-file", str(config)]
    cmd += ["--custom-typeshed-dir", str(site_packages()), "--python-version", "3.11"]
    cmd += ["--no-error-summary", "--hide-error-context", "--cache-dir", str(root / ".mypy_cache")]
    env = {"MYPYPATH": ":".join(str(p) for p in mypy_path), "PATH": "/usr/bin:/bin"}
    # Paths relative to the checked tree, so errors read "lib/thing/wifi.py:12: error: ...".
    targets = [str(Path(t).relative_to(root)) for t in targets]
    proc = subprocess.run(cmd + targets, capture_output=True, text=True, env=env, cwd=root)
    return proc.returncode, proc.stdout + proc.stderr


def main(root=ROOT):
    build = root / "build" / "typecheck"
    stubs = stub_dir(build / "stubs")
    sources = [p for top in ("lib", "firmware") for p in sorted((root / top).rglob("*.py"))]
    boards = [
        b
        for b in sorted((root / "boards").iterdir())
        if b.is_dir() and b.name not in HOST_ONLY and (b / "board.py").exists()
    ]
    strict = {"board"}
    full = {"board"}
    for path in sources:
        rel = path.relative_to(root).as_posix()
        if rel.startswith("lib/drivers/"):
            full.add(module_name(path, root))
        if rel.startswith("lib/drivers/") or _IMPORTS_PORT.search(path.read_text()):
            strict.add(module_name(path, root))
    config = build / "mypy.ini"
    config.write_text(config_text(strict, full))
    default_board = root / "boards" / DEFAULT_BOARD
    runs = [("lib+firmware", [p for p in sources], [root / "lib", default_board, stubs])]
    for board in boards:
        runs.append(("boards/" + board.name, [board / "board.py"], [root / "lib", board, stubs]))
    errors = 0
    for _name, targets, path in runs:
        if not targets:
            continue
        code, out = mypy(targets, path, config, root)
        lines = [ln for ln in out.splitlines() if ln.strip()]
        if code:
            errors += max(1, sum(": error:" in ln for ln in lines))
            print("\n".join(lines))
    status = "ok" if not errors else "%d errors" % errors
    print(
        "typecheck: %d files, %d boards, %d modules strict against micropython-esp32-stubs: %s"
        % (len(sources), len(boards), len(strict), status)
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

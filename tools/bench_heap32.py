"""Module heap on a 32-bit MicroPython, from .mpy files and from a ROMFS image, against x64.

    .venv/bin/python tools/bench_heap32.py        (or: tools/bench.py heap32)

The heap figures elsewhere in `make bench` come from the x64 unix port, whose pointers are
twice an ESP32's. Most of those figures is module code, and bytecode is the same size on
every port, so halving them would be a guess. This measures instead: the same .mpy files
imported by the unix port and by MicroPython's WebAssembly port (32-bit, like an ESP32;
pinned in tools/wasm32/package.json, installed with npm on first use), and the same files
packed by `mpremote romfs build` into a ROMFS image, from which code runs in place, as from
a board's ROM partition (or frozen into its firmware) - only the objects the code creates
stay on the heap. Each figure is the heap in use after a collection, before and after an
import, every module's dependencies counted with the first module that needs them.
Needs node (>= 18) and npm; without them the section says so and is skipped.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MPY = ROOT / "build" / "mpy"
WASM = ROOT / "tools" / "wasm32"
PRELUDE = WASM / "prelude.py"
# What a board loads, in layers; each row counts what the layers above did not load.
BOOT_ONLY = "boot only (config checker, detection)"  # dropped once started: thing.startup.forget
ON_USE = "XEP-0323 requester (loaded on first use)"  # thing.app.Thing.requester
LOGIN = "XMPP login (SASL, SCRAM; loaded per login)"  # unloaded once online: xmpp.client
LAYERS = (
    ("XML layer (tokenizer, stanza builder)", "xmlstream.stream"),
    ("XMPP client (TLS, router, liveness)", "xmpp.client"),
    (LOGIN, "xmpp.login"),
    ("XEP-0323 sensor", "sensordata.sensor"),
    (ON_USE, "sensordata.requester"),
    ("the Thing (app, chat, ad-hoc)", "thing.app thing.chat thing.adhoc"),
    ("board firmware (WiFi, time, supervisor, startup)", "thing.firmware thing.startup"),
    (BOOT_ONLY, "thing.config drivers.detect"),
)
MODULES = [m for _, group in LAYERS for m in group.split()]

# Runs in the unix port: the prelude, then one import at a time, like tools/wasm32/imports.mjs.
UNIX_DRIVER = """
import gc, sys
exec(open(%r).read())
def used():
    gc.collect()
    return gc.mem_alloc()
before = used()
for m in sys.argv[1:]:
    __import__(m)
    now = used()
    print(m, now - before)
    before = now
"""


def wasm_ready():
    """True when the WebAssembly port can run (installing it with npm on first use)."""
    if not shutil.which("node") or not shutil.which("npm"):
        return False
    if not (WASM / "node_modules" / "@micropython").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=WASM,
            check=True,
            timeout=600,
        )
    return True


def parse(out):
    rows = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        if name in MODULES:
            rows[name] = int(value) if value.isdigit() else None
    # one figure per layer: the sum of its modules (None if one did not import)
    out = {}
    for _, group in LAYERS:
        vals = [rows.get(m) for m in group.split()]
        out[group] = None if None in vals else sum(vals)
    return out


def unix_imports():
    import bench_xml

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(UNIX_DRIVER % str(PRELUDE))
    try:
        proc = subprocess.run(
            [bench_xml.micropython(), "-X", "heapsize=2m", f.name] + MODULES,
            capture_output=True,
            text=True,
            timeout=120,
            env={"MICROPYPATH": ".frozen:%s" % (MPY / "lib")},
        )
    finally:
        Path(f.name).unlink()
    if proc.returncode:
        raise RuntimeError("unix port: " + (proc.stdout + proc.stderr)[-400:])
    return parse(proc.stdout)


def wasm_imports(tree):
    proc = subprocess.run(
        ["node", str(WASM / "imports.mjs"), str(PRELUDE), str(tree)] + MODULES,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode:
        raise RuntimeError("WebAssembly port: " + (proc.stdout + proc.stderr)[-400:])
    return parse(proc.stdout)


def romfs_image(out):
    import hostboard

    return hostboard.romfs_image(out, MPY / "lib").stat().st_size


def main():
    import mpy_build

    _, failures = mpy_build.build(MPY)
    if failures:
        raise RuntimeError("mpy-cross failed: " + "; ".join(failures))
    if not wasm_ready():
        print("skipped: node and npm are needed for the 32-bit (WebAssembly) port")
        return
    image = ROOT / "build" / "lib.romfs"
    size = romfs_image(image)
    cols = (unix_imports(), wasm_imports(MPY / "lib"), wasm_imports(image))
    print("heap taken by importing each layer (bytes; after gc.collect(), prelude loaded first)")
    print(
        "  %-46s %9s %9s %6s %9s %6s" % ("", "x64 .mpy", "32b .mpy", "ratio", "32b ROMFS", "ratio")
    )
    row = "  %-46s %9d %9d %5.2fx %9d %5.2fx"
    totals = [0, 0, 0]
    for label, module in LAYERS:
        vals = [c.get(module) for c in cols]
        if None in vals:
            print("  %-46s (did not import: %r)" % (label, vals))
            continue
        totals = [t + v for t, v in zip(totals, vals, strict=True)]
        print(row % (label, vals[0], vals[1], vals[1] / vals[0], vals[2], vals[2] / vals[0]))
    x64, m32, r32 = totals
    print(row % ("all of the above", x64, m32, m32 / x64, r32, r32 / x64))
    groups = dict(LAYERS)
    spare = [[c.get(groups[k]) for k in (BOOT_ONLY, ON_USE, LOGIN)] for c in cols]
    if None not in sum(spare, []):
        x64, m32, r32 = (t - sum(s) for t, s in zip(totals, spare, strict=True))
        print(row % ("held by a board that only answers", x64, m32, m32 / x64, r32, r32 / x64))
    print("  ROMFS image of lib/: %d bytes (code kept out of the heap)" % size)
    print("  32-bit: MicroPython's WebAssembly port (tools/wasm32); ESP32 objects are 32-bit too.")


if __name__ == "__main__":
    main()

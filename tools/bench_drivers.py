"""Driver benchmark: readout cost per node under MicroPython, and .mpy size per driver module.

Usage: python tools/bench_drivers.py
Runs tools/bench_drivers_mp.py in the MicroPython unix port (see there for what "real" and
"cpu" mean) and compiles every lib/drivers module with mpy-cross. Host figures: an ESP32 at
240 MHz is roughly 10-30x slower per bytecode, and its objects are about half the size
(32-bit words), but small ints there are 31-bit, so the 64-bit pressure arithmetic of the
BME280 allocates long ints on the device where it does not on x64.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name):
    exe = BIN / name
    return str(exe) if exe.exists() else name


def mpy_sizes():
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted((ROOT / "lib" / "drivers").glob("*.py")):
            out = Path(tmp) / (src.stem + ".mpy")
            subprocess.run([tool("mpy-cross"), "-o", str(out), str(src)], check=True)
            sizes[src.stem] = out.stat().st_size
    return sizes


def readouts():
    proc = subprocess.run(
        [tool("micropython"), "-X", "heapsize=256k", str(ROOT / "tools" / "bench_drivers_mp.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"MICROPYPATH": ".frozen"},
    )
    if proc.returncode:
        raise SystemExit("bench_drivers_mp failed:\n" + proc.stdout + proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main():
    print("readout per node (MicroPython unix port, x64):")
    print("  %-10s %12s %12s %14s" % ("node", "real ms", "driver µs", "bytes alloc"))
    for r in readouts():
        print(
            "  %-10s %12.2f %12.1f %14.0f"
            % (r["node"], r["real_ms"], r["cpu_us"], r["alloc_bytes"])
        )
    print("  real: wall time of a readout against the simulated chip, conversion time included")
    print("  driver: the same readout replayed from recorded bus replies with zero sleeps;")
    print("  bytes alloc: micropython.mem_total() delta per replayed readout")
    print("  (adc and mcu run on their simulators directly: their figures include them)")
    sizes = mpy_sizes()
    print(".mpy size per driver module (mpy-cross):")
    for name, size in sizes.items():
        print("  %-10s %6d bytes" % (name, size))
    print("  %-10s %6d bytes" % ("total", sum(sizes.values())))


if __name__ == "__main__":
    main()

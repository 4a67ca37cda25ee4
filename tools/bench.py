"""`make bench`: every benchmark section, each measured against its anchor in the same run.

    .venv/bin/python tools/bench.py [SECTION ...]

Sections: xml scram drivers xmpp sensordata heap32.

Figures are printed, never asserted: timing belongs here, not in the tests.
"""

import importlib
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = {
    "xml": "bench_xml",
    "scram": "bench_scram",
    "drivers": "bench_drivers",
    "xmpp": "bench_xmpp",
    "sensordata": "bench_sensordata",
    "heap32": "bench_heap32",
}


def main(argv):
    wanted = argv or list(SECTIONS)
    failed = []
    for name in wanted:
        module = SECTIONS.get(name)
        if module is None:
            print("unknown section %r; sections: %s" % (name, " ".join(SECTIONS)))
            return 2
        print("\n=== %s ===" % name, flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(module).main()
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            print("(section not built yet)")
        except Exception:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            failed.append(name)
        print("(%s: %.1f s)" % (name, time.perf_counter() - t0), flush=True)
    if failed:
        print("\nsections that failed: " + " ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

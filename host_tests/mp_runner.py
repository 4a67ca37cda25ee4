# Runs one test function inside the MicroPython unix port.
# Usage: micropython host_tests/mp_runner.py FILE TEST
# Exit status 0: passed; 1: failed (traceback on stderr); 2: usage or import error.
import sys

_here = __file__.rpartition("/")[0] or "."
_root = _here.rpartition("/")[0] or "."
for _p in ("/lib", "/boards/host", "/host_tests/unit"):
    sys.path.insert(0, _root + _p)


def main(path, name):
    folder, _, fname = path.rpartition("/")
    if folder:
        sys.path.insert(0, folder)
    mod = __import__(fname[:-3] if fname.endswith(".py") else fname)
    result = getattr(mod, name)()
    # An `async def` test returns a coroutine (a generator in MicroPython): drive it.
    if hasattr(result, "send"):
        import asyncio

        asyncio.run(result)


if len(sys.argv) != 3:
    print("usage: mp_runner.py FILE TEST")
    sys.exit(2)
try:
    main(sys.argv[1], sys.argv[2])
except BaseException as e:  # noqa: BLE001 - the runner reports every failure, then exits 1
    sys.print_exception(e)
    sys.exit(1)

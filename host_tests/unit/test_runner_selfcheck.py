# The runner itself: these prove that tests really execute inside MicroPython.
import sys


def test_runs_under_micropython():
    assert sys.implementation.name == "micropython"


def test_heap_is_device_sized():
    import gc

    gc.collect()
    assert gc.mem_free() + gc.mem_alloc() < 200 * 1024


# That a failing test fails, also an async one after an await (run unawaited, it could
# not fail): host_tests/tools/test_mp_runner.py, which runs the runner on such tests.

# The runner itself: these prove that tests really execute inside MicroPython.
import sys


def test_runs_under_micropython():
    assert sys.implementation.name == "micropython"


def test_heap_is_device_sized():
    import gc

    gc.collect()
    assert gc.mem_free() + gc.mem_alloc() < 200 * 1024


async def test_async_tests_are_awaited():
    import asyncio

    await asyncio.sleep_ms(1)
    assert True

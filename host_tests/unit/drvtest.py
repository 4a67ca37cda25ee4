# Shared by the driver tests (MicroPython): awaiting a driver call that must fail.


async def expect(exc_type, coro, errno=None):
    """Await coro; it must raise exc_type (with this errno, if given). Returns the error."""
    try:
        await coro
    except exc_type as e:
        if errno is not None:
            assert e.errno == errno, e
        return e
    raise AssertionError("no %s" % exc_type.__name__)

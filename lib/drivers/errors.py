"""Exceptions raised by the drivers in this package.

A bus fault (NACK, timeout) surfaces as `SensorError`, an `OSError` that keeps the bus's errno
(19 ENODEV, 116 ETIMEDOUT; 5 EIO for values no working part gives) and names the chip and
address; a corrupt reply as `CRCError`, a `ValueError`. Boards raise `ConfigError` for a
configuration the hardware cannot honour.
"""

from micropython import const

EIO = const(5)
ENODEV = const(19)
ETIMEDOUT = const(116)


class SensorError(OSError):
    """The chip did not answer, or answered something that is not this chip."""


class BusyError(SensorError):
    """The chip's busy flag never cleared within its conversion time."""


class CRCError(ValueError):
    """A reply whose checksum does not match its data."""


class ConfigError(ValueError):
    """A board configuration the hardware cannot honour."""


def bus_error(chip, address, exc):
    """Turn a bus OSError into a SensorError naming the chip; pass our own errors through."""
    if isinstance(exc, SensorError):
        return exc
    code = exc.errno if isinstance(exc.errno, int) else ENODEV
    if code == ENODEV:
        what = "no answer (NACK)"
    elif code == ETIMEDOUT:
        what = "bus timeout"
    else:
        what = "bus error"
    return SensorError(code, "%s at 0x%02x: %s" % (chip, address, what))


async def measured(driver):
    """driver.measure(), after driver.init() when the chip is new or failed last time.

    Any fault marks the driver for a fresh init on the next readout, so a chip that comes
    back (replugged, after a power glitch) is set up again; bus faults become SensorError
    naming the chip.
    """
    try:
        if not driver._ready:
            await driver.init()
        return await driver.measure()
    except OSError as e:
        driver._ready = False
        raise bus_error(driver.CHIP, driver.address, e)
    except ValueError:
        driver._ready = False
        raise

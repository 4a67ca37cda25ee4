"""What the Sensirion parts (SHT3x, SHT4x) share: a reply NACKed until the conversion ends."""

import asyncio

from micropython import const

_RETRIES = const(3)  # reads 1 ms apart after the first


async def read_reply(i2c, address, buf):
    """Read a measurement reply into `buf`, after the driver has waited the conversion time.

    The wait is the datasheet maximum in whole milliseconds, but sleep_ms counts ticks of
    the millisecond clock, so it may end up to 1 ms early; the part then NACKs its address
    (no clock stretching in these commands). A NACK is read again 1 ms later, a few times,
    before it counts as a fault: an unplugged part still fails within a few milliseconds.
    """
    for _ in range(_RETRIES):
        try:
            i2c.readfrom_into(address, buf)
            return
        except OSError:
            await asyncio.sleep_ms(1)
    i2c.readfrom_into(address, buf)

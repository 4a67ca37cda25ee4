"""What the Sensirion parts (SHT3x, SHT4x) share: replies of CRC-protected 16-bit words, and a
read NACKed until the command's work is done."""

import asyncio

from micropython import const

from drivers.crc8 import check_words

_RETRIES = const(3)  # reads 1 ms apart after the first


async def read_words(i2c, address, buf, chip):
    """The two words of a 6-byte reply (read into `buf`), CRCs checked, as (w0, w1).

    Called after the driver has waited the command's maximum duration in whole
    milliseconds, but sleep_ms counts ticks of the millisecond clock, so that wait may end
    up to 1 ms early; the part then NACKs its address (no clock stretching in these
    commands). A NACK is read again 1 ms later, a few times, before it counts as a fault:
    an unplugged part still fails within a few milliseconds.
    """
    for _ in range(_RETRIES):
        try:
            i2c.readfrom_into(address, buf)
            break
        except OSError:
            await asyncio.sleep_ms(1)
    else:
        i2c.readfrom_into(address, buf)
    check_words(buf, 2, chip)
    return (buf[0] << 8) | buf[1], (buf[3] << 8) | buf[4]

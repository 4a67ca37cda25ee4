"""What the Sensirion parts (SHT3x, SHT4x, SCD4x) share: replies of CRC-protected 16-bit words,
a read NACKed until the command's work is done, and a pause the part needs after a command."""

import asyncio
import struct
import time

from micropython import const

from drivers.crc8 import check_words

_RETRIES = const(3)  # reads 1 ms apart after the first
COMMAND_GAP_US = const(1000)  # SHT3x-DIS §4.3, Table 9; SCD4x §3.3, Table 9


class Commands:
    """Two-byte commands (SHT3x, SCD4x), each keeping the part busy for a while: it takes no
    command, and gives no reply, before. One preallocated buffer holds commands and replies."""

    def __init__(self, i2c, address, size):
        self._i2c = i2c
        self.address = address
        self._buf = bytearray(size)
        mv = memoryview(self._buf)
        self._two = mv[:2]
        self._three = mv[:3]
        self._sent_us = time.ticks_us()
        self._busy_us = 0

    def _command(self, cmd, busy_us=COMMAND_GAP_US):
        """Send `cmd` (after _settle()); it keeps the part busy for busy_us."""
        struct.pack_into(">H", self._buf, 0, cmd)
        # Timed before the write: one the part NACKed still needs the gap before the next
        # (not its execution time: it was not taken).
        self._sent_us = time.ticks_us()
        self._busy_us = COMMAND_GAP_US
        self._i2c.writeto(self.address, self._two)
        self._busy_us = busy_us

    async def _settle(self):
        """Sleep until the last command is over (at once if it is, or so long ago that the
        microsecond counter wrapped)."""
        left = self._busy_us - time.ticks_diff(time.ticks_us(), self._sent_us)
        if 0 < left <= self._busy_us:
            # Whole milliseconds, plus one: sleep_ms counts ticks and may end 1 ms early.
            await asyncio.sleep_ms((left + 999) // 1000 + 1)


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

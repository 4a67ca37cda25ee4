"""CRC-8 of Sensirion (SHT3x, SHT4x, SCD4x) and Aosong (AHT20) replies.

Polynomial 0x31 (x^8 + x^5 + x^4 + 1), initial value 0xFF, no reflection, no final XOR
(SHT4x datasheet §4.4; AHT20 datasheet §5.4). Check vector: crc8(b"\\xbe\\xef") == 0x92.
"""

from micropython import const

from drivers.errors import CRCError

_POLY = const(0x31)


def crc8(buf, start=0, end=None):
    """CRC of buf[start:end]."""
    if end is None:
        end = len(buf)
    crc = 0xFF
    for i in range(start, end):
        crc ^= buf[i]
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def check_words(buf, count, chip):
    """Check `count` Sensirion words (2 data bytes + CRC each) in buf; return nothing."""
    for i in range(0, 3 * count, 3):
        if crc8(buf, i, i + 2) != buf[i + 2]:
            raise CRCError("%s: bad CRC in reply" % chip)

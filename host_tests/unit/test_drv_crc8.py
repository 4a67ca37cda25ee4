# CRC-8 shared by Sensirion and Aosong parts (poly 0x31, init 0xFF).
from drivers.crc8 import check_words, crc8
from drivers.errors import CRCError


def test_sensirion_check_vector_beef_is_0x92():
    assert crc8(b"\xbe\xef") == 0x92


def test_catalogue_check_value_for_123456789_is_0xf7():
    # CRC-8/NRSC-5 in the CRC catalogue: the parameters of the AHT20 datasheet's CRC.
    assert crc8(b"123456789") == 0xF7


def test_crc_of_a_slice():
    assert crc8(b"\x00\xbe\xef\x00", 1, 3) == 0x92


def test_check_words_accepts_good_and_rejects_bad_replies():
    check_words(b"\xbe\xef\x92\xbe\xef\x92", 2, "X")
    try:
        check_words(b"\xbe\xef\x92\xbe\xef\x93", 2, "X")
    except CRCError:
        pass
    else:
        raise AssertionError("no error")

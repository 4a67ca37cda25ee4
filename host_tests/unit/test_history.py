import gc

from sensordata.clock import Clock
from sensordata.device import MemoryDevice
from sensordata.history import History
from sensordata.node import Node

TH = (
    ("Temperature", "numeric", "°C", "momentary"),
    ("Humidity", "numeric", "%", "momentary"),
    ("Chip", "string", "", "identity"),
    ("Ok", "boolean", "", "status"),
)
TH_VALUES = ("21.53", "45.2", "SHT40", True)
ONE = (TH[0],)


class _Log:
    def warn(self, text):
        pass


def test_samples_come_back_oldest_first():
    h = History(4, ONE)
    for t in (10, 20, 30):
        h.add(t, (str(t),))
    assert [t for t, _ in h.between()] == [10, 20, 30]


def test_a_full_ring_overwrites_the_oldest_and_counts_it():
    h = History(3, ONE)
    for t in range(1, 6):
        h.add(t, (str(t),))
    assert [t for t, _ in h.between()] == [3, 4, 5]
    assert h.overwritten == 2


def test_from_and_to_select_an_inclusive_window():
    h = History(8, ONE)
    for t in range(0, 80, 10):
        h.add(t, (str(t),))
    assert [t for t, _ in h.between(20, 50)] == [20, 30, 40, 50]
    assert [t for t, _ in h.between(65, None)] == [70]
    assert [t for t, _ in h.between(None, 5)] == [0]


def test_a_full_history_keeps_no_objects_of_the_readouts():
    # A board samples every minute for months: what each sample allocated (a tuple, decimal
    # strings) must not stay on the heap for the history's lifetime, where it would fragment
    # it; the ring's room is taken once, when the node is made.
    n = Node("t1", MemoryDevice(TH, TH_VALUES), 1000, Clock(synced=True), _Log(), 64)
    gc.collect()
    before = gc.mem_alloc()
    for k in range(64):
        n.history.add(1_800_000_000 + 60 * k, ("2%d.%02d" % (k % 10, k), "4%d.5" % k, "X", "1"))
    gc.collect()
    assert gc.mem_alloc() - before < 256
    t, values = list(n.history.between())[-1]
    assert t == 1_800_000_000 + 60 * 63 and values[0] == "23.63" and values[1] == "463.5"


def test_values_come_back_as_given_and_only_the_momentary_ones():
    fields = TH + (("Heating", "boolean", "", "momentary"),)
    h = History(2, fields)
    h.add(100, ("-40.25", None, "SHT40", True, False))
    h.add(160, ("21.5", "45.0", "SHT40", False, True))
    assert list(h.between()) == [
        (100, ["-40.25", None, None, None, False]),
        (160, ["21.5", "45.0", None, None, True]),
    ]


def test_a_value_too_long_for_its_slot_is_left_out_and_counted():
    h = History(2, ONE)
    h.add(100, ("1" * 40,))
    assert list(h.between()) == [(100, [None])] and h.too_long == 1


def test_a_value_of_eleven_bytes_fits_its_slot_and_one_of_twelve_does_not():
    h = History(2, TH)
    h.add(100, ("-1013.25678", "45.2", None, None))  # 11 bytes: the most a slot holds
    h.add(160, ("-1013.256789", "45.2", None, None))
    assert list(h.between()) == [
        (100, ["-1013.25678", "45.2", None, None]),
        (160, [None, "45.2", None, None]),
    ]
    assert h.too_long == 1


class _NoRoom:
    def __str__(self):
        raise MemoryError("memory allocation failed")  # the heap, at this value's encode


def test_a_sample_that_cannot_be_encoded_whole_is_not_kept_at_all():
    h = History(2, TH)
    h.add(1000, ("21.5", "40", "SHT40", True))
    for t in (1060, 1120):  # the ring not yet full, then full
        try:
            h.add(t, ("22.0", _NoRoom(), "SHT40", True))
        except MemoryError:
            pass
        else:
            raise AssertionError("encoded")
        # No sample with an empty slot, nor a new time with another's values.
        assert all(v[1] in ("40", "41") for _, v in h.between()), list(h.between())
        h.add(t + 1, ("22.5", "41", "SHT40", True))
    assert [(t, v[:2]) for t, v in h.between()] == [(1061, ["22.5", "41"]), (1121, ["22.5", "41"])]


def test_a_readout_under_way_leaves_out_a_slot_an_add_began_to_overwrite_and_failed():
    h = History(3, TH)
    for t in (1, 2, 3):
        h.add(t, ("1.0", "x%d" % t, "SHT40", True))
    sent = h.between()  # a readout streaming the history, as the sensor sends it
    assert next(sent)[0] == 1
    h.add(4, ("4.0", "x4", "SHT40", True))  # overwrites sample 1's slot (sent already)
    try:
        h.add(5, ("5.0", _NoRoom(), "SHT40", True))  # sample 2's slot, half written
    except MemoryError:
        pass
    assert [(t, v[1]) for t, v in sent] == [(3, "x3")]  # no time 5 with sample 2's values

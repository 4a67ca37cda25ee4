from sensordata.history import History


def test_samples_come_back_oldest_first():
    h = History(4)
    for t in (10, 20, 30):
        h.add(t, (str(t),))
    assert [t for t, _ in h.between()] == [10, 20, 30]


def test_a_full_ring_overwrites_the_oldest_and_counts_it():
    h = History(3)
    for t in range(1, 6):
        h.add(t, (t,))
    assert [t for t, _ in h.between()] == [3, 4, 5]
    assert h.overwritten == 2


def test_from_and_to_select_an_inclusive_window():
    h = History(8)
    for t in range(0, 80, 10):
        h.add(t, (t,))
    assert [t for t, _ in h.between(20, 50)] == [20, 30, 40, 50]
    assert [t for t, _ in h.between(65, None)] == [70]
    assert [t for t, _ in h.between(None, 5)] == [0]

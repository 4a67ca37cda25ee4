"""A small fleet: 20 boards in 2 MicroPython processes on one Prosody, each polled once.

`make fleet` grows the fleet (hundreds of boards, Prosody and ejabberd) with the same code
(tools/fleet.py, tools/fleet_mp.py).
"""

from fleet import fleet_problems, run_fleet, show


def test_twenty_boards_in_two_processes_each_answer_for_themselves(prosody, clients, tmp_path):
    f = run_fleet(prosody, clients, 20, 10, tmp_path, rounds=1, window=20)
    show(f)
    assert f["processes"] == 2
    assert f["asked"] == 20 and f["answered"] == 20
    assert f["lost"] == 0 and f["failed"] == 0 and f["rejected"] == 0 and f["twice"] == 0
    # Each answer carried the index of the board that was asked: no state shared between
    # the things of one process.
    assert f["wrong_board"] == 0
    assert f["alive"] and f["board_warnings"] == 0
    assert fleet_problems(f) == []

"""The fault soak, short: readouts while Prosody restarts 3 times and freezes twice.

`make soak` runs the long one (20 restarts, 10 freezes) with the same code (tools/soak.py).
"""

from hostboard import board_config
from soak import ONLINE, SOAK_XMPP, show, soak, soak_problems


def test_readouts_through_restarts_and_freezes_end_once_and_leave_no_session(
    prosody, clients, board
):
    fw = board(board_config(prosody, **SOAK_XMPP))
    board_jid = fw.wait_log(ONLINE).group(1)
    figures = soak(prosody, clients, fw, board_jid, restarts=3, freezes=2, freeze_s=5.0)
    show("soak, short", figures)
    assert figures["done"] >= 3 * (5 + 3)  # every steady round and the closing ones
    # Six logins are too few for the rings to fill; the long soak holds the heap to 512 B.
    assert soak_problems(figures, heap_slack=8192, warm=1) == []
    assert fw.alive()

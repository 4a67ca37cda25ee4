# The firmware on the simulated host board, under the MicroPython unix port.
# Usage: micropython firmware/host.py CONFIG.json   (tools/run-host wraps this)
# Runs in the foreground, logging to stderr, until SIGINT or SIGTERM.
import os
import sys

_root = (__file__.rpartition("/")[0] or ".").rpartition("/")[0] or "."
_tree = sys.argv[2] if len(sys.argv) > 2 else _root  # a build/mpy tree when given
sys.path[:0] = [_tree + "/lib", _tree + "/boards/host"]


def _is_board(name):
    # A folder of boards/ in the tree this run loads from (its board.py, or .mpy, or ROMFS).
    if not name or "/" in name or name[0] == ".":
        return False
    try:
        return os.stat("%s/boards/%s" % (_tree, name))[0] & 0x4000 != 0  # S_IFDIR
    except OSError:
        return False


def checked(path):
    """(cfg, ca_der), or exit 2 naming every problem: the board's own start-up checks."""
    from thing import config, startup

    try:
        cfg = config.load(path, on_board=False)
    except config.ConfigError as e:
        sys.stderr.write("%s\nnothing started.\n" % e)
        sys.exit(2)
    name = cfg.get("board")
    if name is not None and not _is_board(name):
        # As make provision and make deploy-config have it: a typo is no host board.
        names = ", ".join(n for n in sorted(os.listdir(_tree + "/boards")) if _is_board(n))
        sys.stderr.write(
            "board: no boards/%s here (one of %s)\nnothing started.\n" % (name, names)
        )
        sys.exit(2)
    here = path.rpartition("/")[0] or "."
    ca = cfg["xmpp"].get("ca")
    ca_der = None
    if ca:
        # As thing/startup.py has it on a board: a PEM or unreadable CA stops here.
        ca_der, problem = startup.read_ca(ca if ca.startswith("/") else here + "/" + ca)
        if problem:
            sys.stderr.write("xmpp.ca: %s\nnothing started.\n" % problem)
            sys.exit(2)
    return cfg, ca_der


def main(path):
    import asyncio

    import board

    from thing import app, startup

    cfg, ca_der = checked(path)
    # What a board drops once it starts (thing/startup.py, thing/firmware.py), dropped here
    # too: the heap of this run is the board's.
    startup.forget("thing.config")
    startup.forget("thing.parts")
    nodes = board.nodes(cfg)
    startup.forget("drivers.detect")
    try:
        asyncio.run(app.main(cfg, nodes, ca_der))
    except KeyboardInterrupt:
        sys.stderr.write("stopped\n")


if len(sys.argv) < 2:
    sys.stderr.write("usage: host.py CONFIG.json [TREE]\n")
    sys.exit(2)
main(sys.argv[1])

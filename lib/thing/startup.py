"""What a board does before it starts: read the config, look for a reason not to start.

Nothing here may leave the board unreachable. Every problem (a broken config, a missing
CA, the safe-mode button, `"safe_mode": true`) is printed and `main()` returns, which leaves
MicroPython at its REPL on the USB port: `make deploy-config` fixes the config, and
Ctrl-D (a soft reset, which runs main.py again) tries again.

The config checker is needed only here: it is imported inside the functions, never held
by this module, and `forget()` drops it once the board starts, with the detection code
after it (as .mpy files on a board, their code is heap).
"""

import sys
import time

from micropython import const

CONFIG_PATH = "/config.json"
_HELD_SAMPLES = const(5)  # the button must read "pressed" this many times in a row ...
_HELD_GAP_MS = const(10)  # ... this far apart: one bounce or glitch is not a request
_CA_MAX = const(8192)  # a CA certificate in DER: 1-2 KB; more is no single certificate


def load(path=CONFIG_PATH):
    """(cfg, ca_der): the checked config and its CA certificate, or ConfigError listing
    every problem with both."""
    from thing import config

    try:
        cfg = config.load(path, on_board=True)
        problems = []
    except config.ConfigError as e:
        problems = list(e.problems)
        cfg = _raw(path)
    if isinstance(cfg, dict) and cfg.get("board") == "host":
        # The host's config, copied here: checked as a board's, WiFi and all (as the host's
        # it lacked nothing, and the firmware would stop on a KeyError).
        problems = ["board: 'host' is the simulated board; name this one (esp32_devkitc, …)"]
        problems += config.check(dict(cfg, board=None), on_board=True)
    ca_der = None
    x = cfg.get("xmpp") if isinstance(cfg, dict) else None
    ca = x.get("ca") if isinstance(x, dict) else None
    if isinstance(ca, str) and ca:
        ca_der, problem = read_ca(_beside(path, ca))
        if problem:
            problems.append("xmpp.ca: " + problem)
    if problems:
        raise config.ConfigError(problems)
    return cfg, ca_der


def _raw(path):
    try:
        with open(path) as f:
            import json

            return json.load(f)
    except (OSError, ValueError, MemoryError):
        return None


def _beside(path, name):
    if name.startswith("/"):
        return name
    return (path.rpartition("/")[0] or "") + "/" + name


def read_ca(path):
    """(der bytes, None) or (None, problem): mbedTLS on the board takes DER only."""
    try:
        with open(path, "rb") as f:
            der = f.read(_CA_MAX + 1)  # bounded: a bundle copied by hand cannot fill the heap
    except OSError as e:
        return None, "cannot read %s (%s)" % (path, e)
    if len(der) > _CA_MAX:
        return None, "%s is larger than %d bytes: not one DER certificate" % (path, _CA_MAX)
    if der.startswith(b"-----BEGIN"):
        return (
            None,
            "%s is PEM; the board needs DER (make deploy-config CA=... converts it)" % path,
        )
    if len(der) < 64 or der[0] != 0x30:
        return None, "%s is not a DER certificate" % path
    return der, None


def default_safe_pin(machine_name):
    """The BOOT button's GPIO for a chip named by os.uname().machine."""
    if "C3" in machine_name or "C6" in machine_name:
        return 9
    return 0  # ESP32, ESP32-S2, ESP32-S3


def held(pin, samples=_HELD_SAMPLES, gap_ms=_HELD_GAP_MS):
    """True if an active-low button on `pin` reads pressed for the whole window."""
    for i in range(samples):
        if pin.value():
            return False
        if i + 1 < samples:
            time.sleep_ms(gap_ms)
    return True


def button_held(board):
    """Is the board's safe-mode button (board.SAFE_PIN, else the BOOT button) held?"""
    import os

    import machine

    n = getattr(board, "SAFE_PIN", None)
    if n is None:
        n = default_safe_pin(os.uname().machine)
    return held(machine.Pin(n, machine.Pin.IN, machine.Pin.PULL_UP))


def safe_mode(cfg, button=False):
    """Why not to start, as a sentence, or None to start."""
    if button:
        return "the safe-mode button was held at boot"
    if cfg.get("safe_mode"):
        return 'the config says "safe_mode": true'
    return None


def prepare(path, board, button, out=print):
    """(cfg, ca_der) to start with, or None after printing why not."""
    from thing.config import ConfigError

    try:
        cfg, ca_der = load(path)
    except ConfigError as e:
        out("%s\nnothing started: fix %s (make deploy-config) and reset." % (e, path))
        return None
    why = safe_mode(cfg, button)
    if why:
        out("safe mode: %s; nothing started. The REPL is yours." % why)
        return None
    if board is None:
        out("nothing started: no board definition")
        return None
    return cfg, ca_der


def forget(name):
    """Drop a module used only at boot, so that the collector takes its code back (the
    config checker and detection: 12 KB of a 32-bit board's heap, loaded from .mpy files).
    Only what nothing else holds is freed; its interned names stay."""
    sys.modules.pop(name, None)
    parent, _, attr = name.rpartition(".")
    parent = sys.modules.get(parent)
    if parent is not None and hasattr(parent, attr):
        delattr(parent, attr)


def main(path=CONFIG_PATH):
    """Load everything and start the firmware; any reason not to start is printed."""
    try:
        import board
    except ImportError as e:
        board = None
        print("no board definition (/lib/board.mpy: %r); run make deploy BOARD=..." % (e,))
    try:
        button = board is not None and button_held(board)
    except (OSError, ValueError, AttributeError) as e:
        print("safe-mode button unreadable (%r); ignored" % (e,))
        button = False
    ready = prepare(path, board, button)
    if ready is None:
        return None
    forget("thing.config")
    forget("thing.parts")
    from thing import firmware

    return firmware.start(ready[0], ready[1], board)

"""Why the run before this one ended, for the next boot's log and `status`.

    keep_crash(exc, uptime_s)   # an exception ended the run: its line, then its traceback
    keep_crash("why", uptime_s) # the run may end for this reason (a watchdog left unfed)
    keep_crash(None, 0)         # nothing to explain any more
    last_crash()                # at the next boot: "after 0d 01:02:05 up: ValueError: ...", once

One small file on flash (/crash.txt), written only when something goes wrong: at most once
per run, and when a starving watchdog's reasons change. Read, it becomes /crash.txt.old,
where a person with mpremote finds the traceback.
"""

import os
import sys

from micropython import const

_SHOWN = const(160)  # characters of the reason kept for the log and `status`


def keep_crash(why, up_s, path="/crash.txt"):
    """Write why this run ends where the next boot finds it: an exception (its line, then
    its traceback, for a person with mpremote) or a sentence (a watchdog left unfed); None:
    nothing to explain any more, the record goes. The first line, with the uptime, is what
    last_crash() reads. Never raises: an exception must still reach the REPL."""
    try:
        if why is None:
            os.remove(path)
            return
        exc = not isinstance(why, str)
        text = why
        if exc:
            text = str(why)
            text = type(why).__name__ + (": " + text if text else "")
        up = "%dd %02d:%02d:%02d" % (up_s // 86400, up_s // 3600 % 24, up_s // 60 % 60, up_s % 60)
        with open(path, "w") as f:
            f.write("after %s up: %s\n" % (up, text[:_SHOWN]))
            if exc:
                sys.print_exception(why, f)
    except Exception:  # noqa: BLE001, S110 - a full or broken filesystem loses the record only
        pass


def last_crash(path="/crash.txt"):
    """The first line of a crash record ("after 0d 01:02:05 up: ValueError: ..."), once: the
    record is then renamed PATH.old, where the traceback stays. None without one."""
    try:
        with open(path) as f:
            head = f.read(_SHOWN + 40).partition("\n")[0]
    except OSError:
        return None
    except ValueError:  # UnicodeError: a damaged file, read before anything has started
        head = "(a crash record that is no text)"
    try:
        os.rename(path, path + ".old")
    except OSError:
        pass
    return head


def reset_name(machine):
    """machine.reset_cause() by the name of its constant in the port (WDT_RESET, ...)."""
    cause = machine.reset_cause()
    for name in ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET"):
        if getattr(machine, name, None) == cause:
            return name
    return "reset cause %d" % cause

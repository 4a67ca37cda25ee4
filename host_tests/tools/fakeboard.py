"""A fake MicroPython board for the real mpremote: a raw REPL on a pty, its filesystem a
local directory. Run as its own process: python fakeboard.py ROOT LOG; prints the pty path.

Enough of the raw REPL for mpremote (MicroPython docs, "Raw mode and raw-paste mode"):
Ctrl-A enters it; Ctrl-D on an empty line soft-resets; Ctrl-D after code runs it and answers
"OK", its output, 0x04, the traceback, 0x04, ">". Raw-paste mode is declined, so mpremote
falls back to plain raw mode. The code runs under CPython with `os` and `open` confined to
ROOT; an OSError is reported as MicroPython prints it, so mpremote maps it to its errno.

LOG gets a line per event: "soft reset" (main.py does not run after it: the firmware has
stopped), "hard reset" (machine.reset(): the firmware starts again), "exec ... -> ok|error"
for each piece of code but mpremote's own file-transfer chunks.
"""

import builtins
import contextlib
import errno
import io
import os
import sys
import tty
import types

ROOT, LOG = sys.argv[1], open(sys.argv[2], "a", buffering=1)  # line-buffered: tests read it


def local(path):
    return os.path.join(ROOT, str(path).lstrip("/"))


def ilistdir(path=""):
    for name in os.listdir(local(path or "/")):
        is_dir = os.path.isdir(os.path.join(local(path or "/"), name))
        yield name, 0x4000 if is_dir else 0x8000, 0


fake_os = types.SimpleNamespace(
    mkdir=lambda p: os.mkdir(local(p)),
    remove=lambda p: os.remove(local(p)),
    rmdir=lambda p: os.rmdir(local(p)),
    rename=lambda a, b: os.rename(local(a), local(b)),
    stat=lambda p: tuple(os.stat(local(p)))[:10],
    listdir=lambda p="": os.listdir(local(p or "/")),
    ilistdir=ilistdir,
)
fake_machine = types.SimpleNamespace(reset=lambda: LOG.write("hard reset\n"))
MODULES = {"os": fake_os, "machine": fake_machine, "time": types.SimpleNamespace(sleep_ms=id)}


def fresh_globals():
    """What a soft reset leaves: builtins, nothing imported."""
    b = dict(vars(builtins))
    b["__import__"] = lambda name, *a, **k: MODULES.get(name) or builtins.__import__(name)
    b["open"] = lambda p, mode="r": open(local(p), mode)
    return {"__builtins__": b}


def run(code, ns):
    """(stdout, traceback) of running code as the raw REPL would."""
    out, err = io.StringIO(), ""
    with contextlib.redirect_stdout(out):
        try:
            exec(code, ns)
        except OSError as e:
            err = "OSError: [Errno %d] %s" % (e.errno, errno.errorcode.get(e.errno, "?"))
        except Exception as e:  # every error goes back to mpremote, as on a board
            err = "%s: %s" % (type(e).__name__, e)
    if not code.startswith(("w(", "f=open", "f.close", "r(")):
        LOG.write("exec %r -> %s\n" % (code[:60], err or "ok"))
    if err:
        err = "Traceback (most recent call last):\r\n%s\r\n" % err
    return out.getvalue().replace("\n", "\r\n"), err


def main():
    master, slave = os.openpty()  # the slave stays open here: the master never reads EIO
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    raw, line, ns = False, b"", fresh_globals()
    prompt = b"\r\nraw REPL; CTRL-B to exit\r\n>"
    while True:
        for c in os.read(master, 4096):
            ch = bytes([c])
            if raw and line == b"\x05A" and ch == b"\x01":  # raw-paste request: declined
                line = b""
                os.write(master, b"R\x00")
            elif ch == b"\x01":  # Ctrl-A: (re)enter the raw REPL
                raw, line = True, b""
                os.write(master, prompt)
            elif not raw:
                if ch == b"\x03":
                    os.write(master, b"\r\n>>> ")
            elif ch == b"\x02":  # Ctrl-B: back to the friendly REPL
                raw = False
                os.write(master, b"\r\n>>> ")
            elif ch == b"\x03":
                line = b""
            elif ch != b"\x04":
                line += ch
            elif not line:  # Ctrl-D on an empty line: soft reset, main.py does not run
                LOG.write("soft reset\n")
                ns = fresh_globals()
                os.write(master, b"OK\r\nMPY: soft reboot" + prompt)
            else:
                out, err = run(line.decode(), ns)
                line = b""
                os.write(master, b"OK" + out.encode() + b"\x04" + err.encode() + b"\x04>")


if __name__ == "__main__":
    main()

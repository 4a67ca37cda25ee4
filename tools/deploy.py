"""Put the firmware, or a config, on a board with mpremote; send only what changed.

Usage:
  python tools/deploy.py --port /dev/ttyUSB0 --board esp32_devkitc [--dry-run] [--verify]
  python tools/deploy.py --port /dev/ttyUSB0 --config my.json [--ca ca.pem] [--dry-run]
  python tools/deploy.py --package-json          (rewrite package.json from lib/)
  (make deploy PORT=... BOARD=...; make deploy-config PORT=... CONFIG=... [CA=...])

The code: every lib/ module compiled with mpy-cross for the board's chip (-march) to
/lib/<path>.mpy, boards/<BOARD>/board.py to /lib/board.mpy, and firmware/boot.py and
main.py to / as source. The board keeps a manifest of what was sent, /.deploy.json
({"board", "chip", "files": {path: sha256}}), written last (under a temporary name, then
renamed) so an interrupted deploy is redone; an unreadable one counts as none. Before
anything changes it is rewritten without the hashes of what is about to change, so the
files a deploy stopped among are sent again even if the tree went back meanwhile. A file is
sent when its hash differs from the manifest's, and a file an earlier deploy sent that no
longer exists here is removed, with the directories it leaves empty (an empty one would hide
a module of its name). A .py beside a .mpy (from mip, or copied by hand) is removed:
MicroPython imports the .py first. --verify hashes the files on the board
instead of trusting the manifest (after editing files there by hand); --force sends all;
--frozen sends only the board module and the startup scripts (the libraries are frozen
into the firmware with manifest.py), and removes the /lib copies an earlier deploy sent.
Reading the board stops its firmware (mpremote interrupts it and soft-resets into the raw
REPL, where main.py does not run), so the board is reset at the end, even when nothing was
sent or on --dry-run, unless --no-reset.

The config: checked with lib/thing/config.py (the board's own checker) and the pin checks of
the board it names (check(config) in boards/<board>/board.py) first, written as
/config.json, with the CA it names (xmpp.ca, beside the config file, or --ca) converted
from PEM to DER, the only form mbedTLS on the board accepts. Its --dry-run reads nothing
from the board: it checks the config and prints the commands, with or without a board.

PORT is what `mpremote connect` takes: a serial device (/dev/ttyUSB0, /dev/ttyACM0, COM3),
`auto` (the first USB serial port) or `id:SERIAL` (`mpremote connect list` shows them);
not mpremote's shortcuts such as a0. `dir:PATH` stands for a board's filesystem in a local
directory (tests, or to look at what a board would get).
"""

import argparse
import ast
import hashlib
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "lib"))

import mpy_build  # noqa: E402
from mpshim import use_lib  # noqa: E402

from thing import config as thing_config  # noqa: E402

MANIFEST = "/.deploy.json"
MANIFEST_TMP = MANIFEST + ".tmp"
CONFIG = "/config.json"
# mpy-cross -march for each chip. Bytecode-only .mpy files carry no architecture and load on
# any chip; the flag matters for @micropython.native and viper code.
ARCH = {"esp32": "xtensawin", "esp32s3": "xtensawin", "esp32c3": "rv32imc"}
FIRMWARE = ("boot.py", "main.py")
_CHUNK = 16  # steps per mpremote run: a progress line each, and short command lines
# No step relaxes the watchdog: mpremote's Ctrl-C reaches the firmware, which gives the REPL
# half an hour itself (thing/firmware.py); the soft reset that follows empties sys.modules.
# A firmware that crashed left its watchdog as it was: that board resets under the deploy,
# which is then run again (README, Troubleshooting); arming one here would reset a board
# that never had one, at its REPL after --no-reset.


class DeployError(Exception):
    """Something the user has to fix; the message says what."""


# -- what goes on the board --------------------------------------------------------------------


def board_chip(board):
    """The normalised CHIP of boards/<board>/board.py: esp32, esp32s3 or esp32c3."""
    path = ROOT / "boards" / board / "board.py"
    if not path.is_file():
        names = sorted(p.parent.name for p in (ROOT / "boards").glob("*/board.py"))
        names = [n for n in names if n != "host"]
        raise DeployError("no board %r: boards/ has %s" % (board, ", ".join(names)))
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "CHIP" for t in node.targets
        ):
            chip = ast.literal_eval(node.value).lower().replace("-", "")
            if chip not in ARCH:
                raise DeployError("board %s: CHIP %r is not an ESP32 chip" % (board, chip))
            return chip
    raise DeployError("boards/%s/board.py defines no CHIP" % board)


def sources(board, frozen=False):
    """{device path: source file} of what a board gets (before compiling)."""
    out = {}
    if not frozen:
        for src in sorted((ROOT / "lib").rglob("*.py")):
            out["/lib/" + src.relative_to(ROOT / "lib").with_suffix(".mpy").as_posix()] = src
    for src in sorted((ROOT / "boards" / board).glob("*.py")):
        out["/lib/" + src.stem + ".mpy"] = src
    for name in FIRMWARE:
        out["/" + name] = ROOT / "firmware" / name
    return out


def _compile(src, out, arch):
    out.parent.mkdir(parents=True, exist_ok=True)
    name = mpy_build.source_name(src)
    cmd = [mpy_build.mpy_cross(), "-o", str(out), "-s", name, "-march=" + arch, str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        return "%s: %s" % (src.relative_to(ROOT), (proc.stderr or proc.stdout).strip())
    return None


def stage(board, chip, outdir, frozen=False):
    """Compile for `chip` into outdir; {device path: local file} of everything to send.

    frozen: the libraries are frozen into the firmware (manifest.py): only the board
    module and the startup scripts go on the filesystem. boot.py and main.py stay source
    (mpy_build.KEEP_SOURCE): MicroPython runs only those two names at boot."""
    files, jobs = {}, []
    for dst, src in sources(board, frozen).items():
        if src.name in mpy_build.KEEP_SOURCE and src.parent.name == "firmware":
            files[dst] = src
        else:
            files[dst] = Path(outdir) / dst.lstrip("/")
            jobs.append((src, files[dst], ARCH[chip]))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
        failures = [f for f in pool.map(lambda job: _compile(*job), jobs) if f]
    if failures:
        raise DeployError("mpy-cross failed:\n  " + "\n  ".join(failures))
    return files


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Plan:
    def __init__(self, send, delete, same):
        self.send = send  # [(device path, local file, why)]
        self.delete = delete  # [device path]
        self.same = same  # [device path]


def plan(files, hashes, manifest, remote=None, force=False):
    """What to send and delete. files: {dst: src}; hashes: {dst: sha}; manifest: the board's
    last manifest's files; remote: {dst: sha or None} measured on the board (--verify)."""
    known = remote if remote is not None else manifest
    send, same = [], []
    for dst in sorted(files):
        old = known.get(dst)
        if force or old != hashes[dst]:
            why = (
                "forced" if force and old == hashes[dst] else ("new" if old is None else "changed")
            )
            send.append((dst, files[dst], why))
        else:
            same.append(dst)
    delete = sorted(d for d in manifest if d not in files)
    return Plan(send, delete, same)


def parse_manifest(text, show=print):
    """The board's last manifest from the text of /.deploy.json; {} (send everything) if
    it is missing or unreadable, such as a file cut short by an older deploy."""
    try:
        old = json.loads(text or "{}")
    except ValueError:
        old = None
    if not isinstance(old, dict) or not isinstance(old.get("files", {}), dict):
        show("deploy: warning: %s on the board is no manifest (%r): sending everything"
             % (MANIFEST, text[:40]))  # fmt: skip
        return {}
    return old


# -- what a deploy does on the board --------------------------------------------------------


def _steps(puts, deletes):
    """A deploy as steps, in order, for either kind of board:
    ("prepare", dirs, shadows): make the directories (they may exist) and remove each .py
        that would be imported instead of a .mpy being sent (py/builtinimport.c tries
        name.py first); few boards have one, so a missing file is fine;
    ("put", dst + ".tmp", src) for each file, never half written where it is read: a
        config or CA then ("rename", tmp, dst); code, all of it at once after the last
        put, ("install", dsts) (MicroPython's loader never returns from a .mpy cut short,
        and an interrupted copy is committed by the soft reset of the next connection: a
        board that hangs at boot, before its safe-mode button is read);
    ("remove", paths): files an earlier deploy sent; an interrupted deploy leaves a
        manifest naming files it had removed, so a missing file is fine;
    ("prune", dirs): then the directories those files were in, deepest first, each when
        it is empty: MicroPython imports a directory before name.mpy beside it (an empty
        one as a namespace package), so a package that became a module would be hidden;
    the manifest (if among the puts) last, so that an interrupted deploy is redone. Given
        twice, the first goes before anything changes: the old one without the hashes of
        the files about to change, so that a deploy interrupted among them is redone even
        if the tree goes back to what the old manifest names. Each is put under a temporary
        name and renamed, so that it is never half written."""
    files = [(d, s) for d, s in puts if d != MANIFEST]
    manifests = [s for d, s in puts if d == MANIFEST]
    dirs = _dirs(d for d, _ in files)
    shadows = [d[: -len(".mpy")] + ".py" for d, _ in files if d.endswith(".mpy")]
    steps = []
    if len(manifests) > 1:
        steps += [("put", MANIFEST_TMP, manifests[0]), ("rename", MANIFEST_TMP, MANIFEST)]
    steps += [("prepare", dirs, shadows)] if dirs or shadows else []
    code = []
    for dst, src in files:
        steps.append(("put", dst + ".tmp", src))
        if dst.endswith((".py", ".mpy")):
            code.append(dst)
        else:
            steps.append(("rename", dst + ".tmp", dst))
    steps += [("install", code)] if code else []
    if deletes:
        steps.append(("remove", list(deletes)))
        # _dirs lists parents first: reversed, a directory comes after those inside it.
        emptied = [d for d in reversed(_dirs(deletes)) if d not in dirs]
        steps += [("prune", emptied)] if emptied else []
    if manifests:
        steps += [("put", MANIFEST_TMP, manifests[-1]), ("rename", MANIFEST_TMP, MANIFEST)]
    return steps


# MicroPython, run by `mpremote exec`: an OSError other than the expected errno (EEXIST 17
# for a directory, ENOENT 2 for a file) stops the deploy.
_EACH = (
    "import os\n"
    "def each(op, paths, expected):\n"
    " for p in paths:\n"
    "  try:\n   op(p)\n"
    "  except OSError as e:\n   if e.errno != expected:\n    raise\n"
)


def _board_code(step):
    """The MicroPython code for a step other than "put"."""
    if step[0] == "prepare":
        return _EACH + "each(os.mkdir, %r, 17)\neach(os.remove, %r, 2)\n" % step[1:]
    if step[0] == "remove":
        return _EACH + "each(os.remove, %r, 2)\n" % (step[1],)
    if step[0] == "prune":  # a directory holding anything (a file of the user's) stays
        return _EACH + "each(lambda d: os.listdir(d) or os.rmdir(d), %r, 2)\n" % (step[1],)
    if step[0] == "install":
        return "import os\nfor p in %r:\n os.rename(p + '.tmp', p)\n" % (step[1],)
    return "import os\nos.rename(%r, %r)\n" % step[1:]


# -- the board, through mpremote or as a local directory -------------------------------------


def mpremote():
    exe = Path(sys.executable).parent / "mpremote"
    return str(exe) if exe.exists() else (shutil.which("mpremote") or "mpremote")


def _dirs(paths):
    """Every directory the device paths need, parents first."""
    out = []
    for p in paths:
        parts = p.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in out:
                out.append(d)
    return out


class SerialBoard:
    """A board on a serial port, driven by mpremote; `run` is injectable for tests."""

    def __init__(self, port, run=subprocess.run):
        self.port = port
        self.run = run

    def _mpremote(self, *args, capture=False):
        cmd = [mpremote(), "connect", self.port] + list(args)
        proc = self.run(cmd, capture_output=capture, text=True)
        if proc.returncode:
            detail = (proc.stderr or proc.stdout or "").strip() if capture else ""
            if "Traceback (most recent call last)" in detail:
                # mpremote's own failure: its last line says what (could not enter raw repl).
                detail = detail.splitlines()[-1] + (
                    " (not a MicroPython board, or its firmware does not stop:"
                    " press its reset button and try again)"
                )
            raise DeployError(
                "mpremote failed on %s (exit %d) %s" % (self.port, proc.returncode, detail)
            )
        return proc.stdout if capture else None

    def _exec(self, code):
        return self._mpremote("exec", code, capture=True)

    def read_state(self, paths=()):
        """(the text of the board's manifest, "" if it has none; those of `paths` that
        exist), in one run of mpremote."""
        out = self._exec(
            "import os\n"
            "for p in %r:\n try:\n  os.stat(p)\n  print('FOUND:' + p)\n except OSError:\n  pass\n"
            "try:\n print('DEPLOY:' + open(%r).read())\nexcept OSError:\n print('DEPLOY:')\n"
            % (sorted(paths), MANIFEST)
        )
        if "DEPLOY:" not in out:
            raise DeployError("no answer from the board on %s: %r" % (self.port, out[-200:]))
        found, _, text = out.partition("DEPLOY:")
        found = [line[6:].strip() for line in found.splitlines() if line.startswith("FOUND:")]
        return text.strip(), found

    def read_hashes(self, paths):
        code = (
            "import hashlib, binascii\n"
            "def h(p):\n"
            " try:\n  f = open(p, 'rb')\n except OSError:\n  return '-'\n"
            " s = hashlib.sha256(); b = bytearray(512); m = memoryview(b)\n"
            " while True:\n  n = f.readinto(b)\n  if not n:\n   break\n  s.update(m[:n])\n"
            " f.close()\n return binascii.hexlify(s.digest()).decode()\n"
            "for p in %r:\n print('HASH:' + h(p) + ' ' + p)\n" % (sorted(paths),)
        )
        found = {}
        for line in self._exec(code).splitlines():
            if line.startswith("HASH:"):
                digest, _, path = line[5:].partition(" ")
                found[path] = None if digest == "-" else digest
        return found

    def commands(self, puts, deletes, reset):
        """The mpremote command lines for a deploy (see _steps): puts [(dst, src)], deletes
        [dst]; then a reset, which starts the firmware again."""
        head = [mpremote(), "connect", self.port]
        steps = []
        for step in _steps(puts, deletes):
            if step[0] == "put":
                steps.append(["fs", "cp", "-f", str(step[2]), ":" + step[1]])
            else:
                steps.append(["exec", _board_code(step)])
        cmds = []
        for i in range(0, len(steps), _CHUNK):
            cmd = list(head)
            for step in steps[i : i + _CHUNK]:
                cmd += (["+"] if len(cmd) > len(head) else []) + step
            cmds.append(cmd)
        if reset:
            cmds.append(head + ["reset"])
        return cmds

    def restart(self, show=print):
        """Reset the board: reading it stopped the firmware."""
        show("deploy: mpremote reset (reading the board stopped its firmware)")
        self._mpremote("reset")

    def apply(self, puts, deletes, reset, show=print):
        cmds = self.commands(puts, deletes, reset)
        for i, cmd in enumerate(cmds, 1):
            what = " ".join(cmd[3:])
            show(
                "deploy: [%d/%d] mpremote %s"
                % (i, len(cmds), what[:90] + "..." * (len(what) > 90))
            )
            proc = self.run(cmd)
            if proc.returncode:
                raise DeployError(
                    "mpremote failed (step %d of %d, exit %d)" % (i, len(cmds), proc.returncode)
                )


class DirBoard:
    """A board's filesystem as a local directory: `dir:PATH`."""

    def __init__(self, root):
        self.root = Path(root)
        self.port = "dir:%s" % root

    def _local(self, dst):
        return self.root / dst.lstrip("/")

    def read_state(self, paths=()):
        p = self._local(MANIFEST)
        found = [d for d in sorted(paths) if self._local(d).exists()]
        return (p.read_text(errors="replace") if p.exists() else ""), found

    def read_hashes(self, paths):
        return {p: (sha256(self._local(p)) if self._local(p).exists() else None) for p in paths}

    def commands(self, puts, deletes, reset):
        """The deploy's steps (see _steps) as shell commands; apply runs them."""
        cmds = []
        for kind, *args in _steps(puts, deletes):
            if kind == "prepare":
                dirs, shadows = args
                cmds += [["mkdir", "-p"] + self._locals(dirs)] if dirs else []
                cmds += [["rm", "-f"] + self._locals(shadows)] if shadows else []
            elif kind == "put":
                cmds.append(["cp", str(args[1]), str(self._local(args[0]))])
            elif kind == "remove":
                cmds.append(["rm", "-f"] + self._locals(args[0]))
            elif kind == "prune":
                cmds.append(["rmdir", "--ignore-fail-on-non-empty"] + self._locals(args[0]))
            elif kind == "install":
                cmds += [["mv"] + self._locals((d + ".tmp", d)) for d in args[0]]
            else:
                cmds.append(["mv"] + self._locals(args))
        return cmds

    def apply(self, puts, deletes, reset, show=print):
        """Runs the commands as a board would: cp, like `mpremote fs cp`, needs the
        directory that an earlier mkdir made."""
        self.root.mkdir(parents=True, exist_ok=True)  # a board's root always exists
        for cmd, *args in self.commands(puts, deletes, reset):
            if cmd == "mkdir":
                for d in args[1:]:  # parents first: -p only says they may exist
                    Path(d).mkdir(exist_ok=True)
            elif cmd == "rm":
                for p in args[1:]:
                    Path(p).unlink(missing_ok=True)
            elif cmd == "rmdir":
                for d in map(Path, args[1:]):
                    if d.is_dir() and not any(d.iterdir()):
                        d.rmdir()
            elif cmd == "cp":
                shutil.copyfile(*args)
                os.chmod(args[1], 0o600)  # a config holds passwords, as on the host
            else:
                os.replace(*args)

    def restart(self, show=print):
        pass  # no firmware runs in a directory

    def _locals(self, paths):
        return [str(self._local(p)) for p in paths]


# mpremote's a0..a3, u0..u3 and c0..c3 work alone (`mpremote a0`), not after `connect`.
_SHORTCUTS = {
    "%s%d" % (short, n): "%s%d" % (dev, n)
    for short, dev in (("a", "/dev/ttyACM"), ("u", "/dev/ttyUSB"), ("c", "COM"))
    for n in range(4)
}


def connect(port, run=subprocess.run, present=True):
    """The board on PORT; present=False: one that need not be plugged in (nothing is read)."""
    if not port:
        raise DeployError("PORT is missing: the board's serial port, e.g. PORT=/dev/ttyUSB0")
    if port.startswith("dir:"):
        where = Path(port[4:] or ".").resolve()
        # A board's files over this tree would delete its sources (each lib/x.py is a .py
        # that shadows the x.mpy sent): an empty dir: (PORT=dir:$UNSET) means the cwd.
        if not port[4:] or where == ROOT or ROOT in where.parents or where in ROOT.parents:
            raise DeployError("%s: give a directory outside this tree for a board's files" % port)
        return DirBoard(port[4:])
    if port in _SHORTCUTS:
        raise DeployError("%s is mpremote's shortcut, not a port: give PORT=%s"
                          % (port, _SHORTCUTS[port]))  # fmt: skip
    if present and port.startswith("/") and not Path(port).exists():
        raise DeployError("no serial port %s: is the board plugged in?" % port)
    return SerialBoard(port, run)


# -- deploy the code ------------------------------------------------------------------------


def deploy_code(board_dev, board, chip=None, dry_run=False, verify=False, force=False,
                reset=True, show=print, frozen=False):  # fmt: skip
    """Compile, compare, send; returns the Plan."""
    chip = chip or board_chip(board)
    if chip not in ARCH:
        raise DeployError("unknown chip %r: one of %s" % (chip, ", ".join(ARCH)))
    with tempfile.TemporaryDirectory(prefix="deploy-") as tmp:
        show("deploy: compiling for %s (%s, mpy-cross -march=%s)" % (board, chip, ARCH[chip]))
        files = stage(board, chip, Path(tmp), frozen)
        hashes = {dst: sha256(src) for dst, src in files.items()}
        show("deploy: reading %s from %s" % (MANIFEST, board_dev.port))
        # A .py beside a .mpy is imported instead (from mip, or copied by hand after a deploy).
        shadows = [d[: -len(".mpy")] + ".py" for d in files if d.endswith(".mpy")]
        text, shadows = board_dev.read_state(shadows)
        old = parse_manifest(text, show)
        manifest = old.get("files", {})
        if old.get("chip") not in (None, chip):
            show("deploy: the board ran a %s build: sending everything" % old["chip"])
            force = True
        remote = board_dev.read_hashes(set(files) | set(manifest)) if verify else None
        p = plan(files, hashes, manifest, remote, force)
        for dst, _src, why in p.send:
            show("deploy: send %s (%s)" % (dst, why))
        for dst in p.delete:
            show("deploy: delete %s (no longer in the tree)" % dst)
        shadows = [d for d in shadows if d not in p.delete]
        for dst in shadows:
            show("deploy: delete %s (imported instead of the .mpy)" % dst)
        show(
            "deploy: %d to send, %d to delete, %d unchanged"
            % (len(p.send), len(p.delete) + len(shadows), len(p.same))
        )
        if not p.send and not p.delete and not shadows:
            show("deploy: the board is up to date")
            if reset:
                board_dev.restart(show)
            return p
        # While it runs, what it sends or deletes has no known hash (null: sent next time).
        pending = dict(manifest)
        pending.update((dst, None) for dst in [d for d, _, _ in p.send] + p.delete)
        paths = []
        for name, content in (("pending", pending), ("deploy", hashes)):
            paths.append(Path(tmp) / (name + ".json"))
            new = {"board": board, "chip": chip, "files": content}
            paths[-1].write_text(json.dumps(new, sort_keys=True, separators=(",", ":")))
        puts = [(MANIFEST, paths[0])] + [(dst, src) for dst, src, _ in p.send]
        puts.append((MANIFEST, paths[1]))
        deletes = p.delete + shadows
        if dry_run:
            for cmd in board_dev.commands(puts, deletes, reset):
                show("deploy: would run: " + " ".join(_quote(a) for a in cmd))
            show("deploy: dry run, nothing sent")
            if reset:
                board_dev.restart(show)
            return p
        board_dev.apply(puts, deletes, reset, show)
        reset = reset and isinstance(board_dev, SerialBoard)
        show("deploy: done, %d files sent%s" % (len(p.send), ", board reset" if reset else ""))
        return p


def _quote(arg):
    return repr(arg) if (" " in arg or "\n" in arg or not arg) else arg


# -- deploy a config ------------------------------------------------------------------------


def to_der(data, name="CA"):
    """A certificate as DER, from PEM or DER bytes; DeployError if it is neither."""
    if data.lstrip().startswith(b"-----BEGIN"):
        text = data.decode("ascii", "replace")
        count = text.count("-----BEGIN CERTIFICATE-----")
        if count != 1:
            raise DeployError(
                "%s: holds %d certificates; give the one CA that signed the server's certificate"
                % (name, count)
            )
        start = text.index("-----BEGIN CERTIFICATE-----")
        end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
        try:
            data = ssl.PEM_cert_to_DER_cert(text[start:end])
        except ValueError as e:
            raise DeployError("%s: bad PEM (%s)" % (name, e)) from e
    if not _is_der(data):
        raise DeployError("%s: neither a PEM nor a DER certificate" % name)
    return data


def _is_der(data):
    """An X.509 certificate is one DER SEQUENCE filling the whole file."""
    if len(data) < 4 or data[0] != 0x30:
        return False
    n = data[1]
    if n < 0x80:
        return 2 + n == len(data)
    k = n & 0x7F
    if k == 0 or k > 4 or len(data) < 2 + k:
        return False
    return 2 + k + int.from_bytes(data[2 : 2 + k], "big") == len(data)


def password_problems(cfg):
    """[] unless the board could not log in with the config's password (tools/saslprep.py)."""
    import saslprep

    x = cfg.get("xmpp") if isinstance(cfg, dict) else None
    why = saslprep.problem(x.get("password")) if isinstance(x, dict) else None
    return [why] if why else []


def config_files(config_path, ca_path=None):
    """{device path: bytes} for a config and its CA; DeployError listing every problem."""
    path = Path(config_path)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DeployError("%s: cannot be read (%s)" % (config_path, e)) from e
    except ValueError as e:
        raise DeployError("%s: not valid JSON (%s)" % (config_path, e)) from e
    problems = thing_config.check(cfg, on_board=True) + password_problems(cfg)
    board = cfg.get("board") if isinstance(cfg, dict) else None
    if board in (None, "host"):
        problems.append("board: name the board this config is for (host is the simulated one)")
    elif isinstance(board, str) and board:
        # Beside the config's own problems, not after them: every problem in one run.
        problems += board_problems(cfg)
    if problems:
        raise DeployError(
            "%s is not usable on a board:\n  - %s" % (config_path, "\n  - ".join(problems))
        )
    # Not \uXXXX escapes: MicroPython's json reads a surrogate pair as two lone surrogates,
    # so an emoji in an SSID or a password would be other bytes on the board.
    text = json.dumps(cfg, separators=(",", ":"), ensure_ascii=False)
    files = {CONFIG: text.encode()}
    x = cfg["xmpp"]
    ca_name = x.get("ca")
    if ca_path and not ca_name:
        raise DeployError('%s: xmpp.ca is missing; add "ca": "ca.der" to name the CA on the board'
                          % config_path)  # fmt: skip
    if ca_name and ".." in ca_name.split("/"):
        # Relative to the config on the board, and to the board's root here: "../x" would
        # leave the board's directory (dir:) or name no file there (mkdir '/..').
        raise DeployError("xmpp.ca: %r leaves the board's folder; name a file in it" % ca_name)
    if ca_name:
        src = Path(ca_path) if ca_path else path.parent / ca_name
        if not src.is_file():
            raise DeployError("xmpp.ca: no %s here to send (give CA=ca.pem)" % src)
        dst = ca_name if ca_name.startswith("/") else "/" + ca_name
        files[dst] = to_der(src.read_bytes(), str(src))
    return files


def board_problems(cfg):
    """What the board that `cfg` names refuses of its pins (an ADC channel on an I2C pin, a
    LED on a flash pin), as its nodes() and led() would at boot: found by the board's own
    check(config) in boards/<board>/board.py, run here, every refusal (thing/esp32board.py
    check() raises them all at once), on a config with other problems too. [] when there is
    nothing to refuse (or the board has no check); a board that does not exist is a problem
    too."""
    name = cfg["board"]
    path = ROOT / "boards" / name / "board.py"
    if not path.is_file():
        return ["board: no board %r in boards/" % name]
    use_lib()
    from drivers.errors import ConfigError

    spec = importlib.util.spec_from_file_location("board_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check = getattr(module, "check", None)
    try:
        if check is not None:
            check(cfg)
    except ConfigError as e:
        return ["board %s: %s" % (name, refusal) for refusal in e.args]  # one an argument
    return []


def deploy_config(board_dev, config_path, ca_path=None, dry_run=False, reset=True, show=print):
    files = config_files(config_path, ca_path)
    with tempfile.TemporaryDirectory(prefix="deploy-config-") as tmp:
        puts = []
        # The config last: one whose CA is not there yet stops the board at start-up.
        order = sorted(files.items(), key=lambda item: (item[0] == CONFIG, item[0]))
        for i, (dst, data) in enumerate(order):
            src = Path(tmp) / ("%d-%s" % (i, dst.rsplit("/", 1)[-1]))
            src.write_bytes(data)
            src.chmod(0o600)  # the config holds passwords
            puts.append((dst, src))
            show("deploy: send %s (%d bytes)" % (dst, len(data)))
        if dry_run:
            for cmd in board_dev.commands(puts, [], reset):
                show("deploy: would run: " + " ".join(_quote(a) for a in cmd))
            show("deploy: dry run, nothing sent")
            return files
        board_dev.apply(puts, [], reset, show)
    reset = reset and isinstance(board_dev, SerialBoard)
    show("deploy: config sent%s" % (", board reset" if reset else ""))
    return files


# -- package.json for mip -----------------------------------------------------------------


def package_json():
    """mip's package.json: every lib/ module, installed under /lib as on a deployed board."""
    version = "0.0.0"
    for node in ast.parse((ROOT / "lib/thing/app.py").read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "VERSION":
            version = ast.literal_eval(node.value)
    urls = []
    for src in sorted((ROOT / "lib").rglob("*.py")):
        rel = src.relative_to(ROOT / "lib").as_posix()
        urls.append([rel, "lib/" + rel])
    return {"urls": urls, "deps": [], "version": version}


def package_json_text():
    return json.dumps(package_json(), indent=2) + "\n"


# -- command line ---------------------------------------------------------------------------


def main(argv=None, run=subprocess.run):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", default="")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--board", help="deploy the firmware for boards/BOARD")
    what.add_argument("--config", help="deploy this config file (and its CA)")
    what.add_argument("--package-json", action="store_true", help="rewrite package.json")
    ap.add_argument("--ca", help="the CA to send with --config (PEM or DER)")
    ap.add_argument("--chip", help="override the board's CHIP (esp32, esp32s3, esp32c3)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    ap.add_argument("--verify", action="store_true", help="hash the files on the board")
    ap.add_argument("--force", action="store_true", help="send every file")
    ap.add_argument("--no-reset", action="store_true", help="do not reset the board after")
    ap.add_argument("--frozen", action="store_true", help="libraries frozen in the firmware")
    args = ap.parse_args(argv)
    try:
        if args.package_json:
            (ROOT / "package.json").write_text(package_json_text())
            print("deploy: package.json lists %d files" % len(package_json()["urls"]))
            return 0
        # A config's dry run reads nothing from the board: it may be unplugged, or unnamed
        # (its commands then say PORT).
        checking = args.config is not None and args.dry_run
        missing = [k for k, v in (("BOARD", args.board), ("CONFIG", args.config)) if v == ""]
        if not args.port and not checking:
            missing.append("PORT")
        if len(missing) > 1:
            raise DeployError("%s are missing" % " and ".join(missing))
        if missing and missing[0] != "PORT":
            raise DeployError("%s is missing" % missing[0])
        if args.board and not (ROOT / "boards" / args.board / "board.py").is_file():
            board_chip(args.board)  # names the boards there are, before the port is sought
        dev = connect(args.port or ("PORT" if checking else ""), run, present=not checking)
        if args.config:
            deploy_config(dev, args.config, args.ca, args.dry_run, not args.no_reset)
        else:
            chip = args.chip.lower().replace("-", "") if args.chip else None
            deploy_code(dev, args.board, chip, args.dry_run, args.verify, args.force,
                        not args.no_reset, frozen=args.frozen)  # fmt: skip
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

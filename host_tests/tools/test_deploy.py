"""tools/deploy.py: the copy plan, changed-file detection, the mpremote command lines, the
MicroPython code it runs on the board, and config upload with PEM to DER conversion."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import deploy
import pytest
from localxmpp import CertificateAuthority

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = str(Path(sys.executable).parent / "micropython")
# mpy header byte 2 is arch << 2 | sub-version (py/persistentcode.h MP_NATIVE_ARCH_*).
ARCH_IDS = {"xtensawin": 10, "rv32imc": 11}


_STAGED = {}
REAL_STAGE = deploy.stage


@pytest.fixture(autouse=True)
def compile_once(monkeypatch, tmp_path_factory):
    """Each (board, chip, frozen) is compiled once per run; deploys reuse the files."""
    real = REAL_STAGE

    def stage(board, chip, outdir, frozen=False):
        key = (board, chip, frozen)
        if key not in _STAGED:
            _STAGED[key] = real(board, chip, tmp_path_factory.mktemp("stage"), frozen)
        return _STAGED[key]

    monkeypatch.setattr(deploy, "stage", stage)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    out = tmp_path_factory.mktemp("stage")
    return REAL_STAGE("esp32_devkitc", "esp32", out)


def deploy_to(board_dir, capsys, *extra, board="esp32_devkitc"):
    code = deploy.main(["--port", "dir:%s" % board_dir, "--board", board, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- what goes on the board ----------------------------------------------------------------


@pytest.mark.parametrize(
    "board, chip",
    [("esp32_devkitc", "esp32"), ("esp32s3_devkitc", "esp32s3"), ("esp32c3", "esp32c3")],
)
def test_the_chip_comes_from_the_board_definition(board, chip):
    assert deploy.board_chip(board) == chip


def test_an_unknown_board_lists_the_known_ones():
    with pytest.raises(deploy.DeployError, match="no board 'esp99'.*esp32_devkitc"):
        deploy.board_chip("esp99")


def test_the_layout_on_the_board(staged):
    assert "/lib/board.mpy" in staged
    assert staged["/boot.py"] == ROOT / "firmware/boot.py"  # boot.py and main.py stay source
    assert staged["/main.py"] == ROOT / "firmware/main.py"
    assert "/lib/thing/config.mpy" in staged and "/lib/xmpp/client.mpy" in staged
    assert not any("sim_" in d or "host" in d for d in staged)  # the simulated board stays
    lib = {"/lib/" + p.relative_to(ROOT / "lib").with_suffix(".mpy").as_posix()
           for p in (ROOT / "lib").rglob("*.py")}  # fmt: skip
    assert lib <= set(staged)


@pytest.mark.parametrize("board, arch", [("esp32_devkitc", "xtensawin"), ("esp32c3", "rv32imc")])
def test_mpy_cross_gets_the_boards_architecture(board, arch, tmp_path, monkeypatch):
    seen = set()
    real = deploy._compile
    monkeypatch.setattr(deploy, "_compile", lambda s, o, a: seen.add(a) or real(s, o, a))
    files = REAL_STAGE(board, deploy.board_chip(board), tmp_path)
    assert seen == {arch}
    # Bytecode-only modules record no architecture (header byte 2 is 0): they load on any
    # chip; -march matters for @micropython.native and viper code.
    head = files["/lib/board.mpy"].read_bytes()[:3]
    assert head[0:1] == b"M" and head[2] == 0


def test_a_module_names_its_path_under_lib_in_tracebacks(staged):
    # Several packages have an errors.py and an __init__.py: a bare name would not say which.
    assert b"xmpp/errors.py" in staged["/lib/xmpp/errors.mpy"].read_bytes()
    assert b"drivers/__init__.py" in staged["/lib/drivers/__init__.mpy"].read_bytes()
    assert b"board.py" in staged["/lib/board.mpy"].read_bytes()  # /lib/board.mpy on the board


def test_frozen_sends_only_the_board_module_and_the_scripts(tmp_path):
    files = REAL_STAGE("esp32_devkitc", "esp32", tmp_path, frozen=True)
    assert sorted(files) == ["/boot.py", "/lib/board.mpy", "/main.py"]


# -- the plan ------------------------------------------------------------------------------


def test_plan_sends_new_and_changed_files_and_deletes_what_left_the_tree():
    files = {"/a.mpy": "A", "/b.mpy": "B", "/c.mpy": "C"}
    hashes = {"/a.mpy": "1", "/b.mpy": "2", "/c.mpy": "3"}
    manifest = {"/a.mpy": "1", "/b.mpy": "old", "/gone.mpy": "9"}
    p = deploy.plan(files, hashes, manifest)
    assert [(d, why) for d, _, why in p.send] == [("/b.mpy", "changed"), ("/c.mpy", "new")]
    assert p.delete == ["/gone.mpy"] and p.same == ["/a.mpy"]


def test_plan_trusts_measured_hashes_over_the_manifest():
    files, hashes = {"/a.mpy": "A"}, {"/a.mpy": "1"}
    p = deploy.plan(files, hashes, {"/a.mpy": "1"}, remote={"/a.mpy": "edited"})
    assert [d for d, _, _ in p.send] == ["/a.mpy"]


def test_first_deploy_sends_everything_and_the_second_nothing(tmp_path, capsys):
    code, out, _ = deploy_to(tmp_path, capsys)
    assert code == 0
    manifest = json.loads((tmp_path / ".deploy.json").read_text())
    assert manifest["board"] == "esp32_devkitc" and manifest["chip"] == "esp32"
    for dst, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / dst.lstrip("/")).read_bytes()).hexdigest() == digest
    assert "deploy: %d to send, 0 to delete, 0 unchanged" % len(manifest["files"]) in out
    code, out, _ = deploy_to(tmp_path, capsys)
    assert code == 0 and "0 to send, 0 to delete" in out and "up to date" in out


def test_only_a_changed_file_is_sent(tmp_path, capsys):
    deploy_to(tmp_path, capsys)
    mpath = tmp_path / ".deploy.json"
    manifest = json.loads(mpath.read_text())
    manifest["files"]["/lib/thing/wifi.mpy"] = "0" * 64  # as if the tree had changed
    mpath.write_text(json.dumps(manifest))
    _, out, _ = deploy_to(tmp_path, capsys)
    assert "send /lib/thing/wifi.mpy (changed)" in out and "1 to send, 0 to delete" in out


def test_verify_finds_a_file_edited_on_the_board(tmp_path, capsys):
    deploy_to(tmp_path, capsys)
    (tmp_path / "lib/thing/wifi.mpy").write_bytes(b"edited by hand")
    _, out, _ = deploy_to(tmp_path, capsys)
    assert "up to date" in out  # the manifest cannot know
    _, out, _ = deploy_to(tmp_path, capsys, "--verify")
    assert "send /lib/thing/wifi.mpy (changed)" in out and "1 to send" in out


def manifest_lists(board, path):
    """Make the board's manifest name `path` as if an earlier deploy had sent it; its path."""
    mpath = board / ".deploy.json"
    manifest = json.loads(mpath.read_text())
    manifest["files"][path] = "1" * 64
    mpath.write_text(json.dumps(manifest))
    return mpath


def test_a_module_gone_from_the_tree_is_removed_from_the_board(tmp_path, capsys):
    deploy_to(tmp_path, capsys)
    mpath = manifest_lists(tmp_path, "/lib/thing/old.mpy")
    (tmp_path / "lib/thing/old.mpy").write_bytes(b"stale")
    _, out, _ = deploy_to(tmp_path, capsys)
    assert "delete /lib/thing/old.mpy" in out
    assert not (tmp_path / "lib/thing/old.mpy").exists()
    assert "/lib/thing/old.mpy" not in json.loads(mpath.read_text())["files"]


def test_a_package_that_became_a_module_leaves_no_directory_to_shadow_it(tmp_path, capsys):
    # MicroPython imports a directory before name.mpy beside it (py/builtinimport.c), an
    # empty one as a namespace package: `import sensordata.clock` would find nothing in it.
    deploy_to(tmp_path, capsys)
    for old in ("/lib/sensordata/clock/__init__.mpy", "/lib/sensordata/clock/sub/ntp.mpy"):
        manifest_lists(tmp_path, old)
        (tmp_path / old.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / old.lstrip("/")).write_bytes(b"stale")
    _, out, _ = deploy_to(tmp_path, capsys)
    assert "delete /lib/sensordata/clock/sub/ntp.mpy" in out
    assert not (tmp_path / "lib/sensordata/clock").exists()
    assert (tmp_path / "lib/sensordata/clock.mpy").is_file()


def test_a_directory_emptied_by_a_deploy_keeps_what_the_deploy_did_not_send(tmp_path, capsys):
    deploy_to(tmp_path, capsys)
    manifest_lists(tmp_path, "/lib/gone/old.mpy")
    (tmp_path / "lib/gone").mkdir()
    (tmp_path / "lib/gone/old.mpy").write_bytes(b"stale")
    (tmp_path / "lib/gone/mine.txt").write_text("put there by hand")
    code, _, err = deploy_to(tmp_path, capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "lib/gone").iterdir()) == ["mine.txt"]


def test_a_stale_file_already_gone_from_the_board_does_not_block_the_deploy(tmp_path, capsys):
    # An interrupted deploy leaves a manifest naming files it had already removed.
    deploy_to(tmp_path, capsys)
    mpath = manifest_lists(tmp_path, "/lib/thing/gone.mpy")
    code, out, err = deploy_to(tmp_path, capsys)
    assert code == 0, err
    assert "delete /lib/thing/gone.mpy" in out
    assert "/lib/thing/gone.mpy" not in json.loads(mpath.read_text())["files"]


def test_a_truncated_manifest_sends_everything_with_a_warning(tmp_path, capsys):
    deploy_to(tmp_path, capsys)
    mpath = tmp_path / ".deploy.json"
    mpath.write_text(mpath.read_text()[:100])
    code, out, err = deploy_to(tmp_path, capsys)
    assert code == 0, err
    assert "warning: /.deploy.json on the board is no manifest" in out and " 0 unchanged" in out
    assert json.loads(mpath.read_text())["chip"] == "esp32"
    assert not (tmp_path / ".deploy.json.tmp").exists()


def test_a_file_an_interrupted_deploy_sent_is_sent_again_after_the_tree_went_back(
    tmp_path, capsys, monkeypatch
):
    # Ctrl-C in a deploy of an edit, the edit undone, deploy again: the board must not keep
    # the undone edit (or a file cut short) because the old manifest has the tree's hash.
    deploy_to(tmp_path, capsys)
    wifi = "/lib/thing/wifi.mpy"
    edited = tmp_path / "edited.mpy"
    edited.write_bytes(b"an edit, undone after the interrupted deploy")
    real_stage, real_copy = deploy.stage, deploy.shutil.copyfile

    def stage_edit(*args, **kwargs):
        return dict(real_stage(*args, **kwargs), **{wifi: edited})

    def copy_then_interrupt(src, dst):
        real_copy(src, dst)
        if dst.endswith(wifi + ".tmp"):
            raise KeyboardInterrupt

    staged = deploy.stage("esp32_devkitc", "esp32", None)
    monkeypatch.setattr(deploy, "stage", stage_edit)
    monkeypatch.setattr(deploy.shutil, "copyfile", copy_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        deploy_to(tmp_path, capsys)
    assert "send %s (changed)" % wifi in capsys.readouterr().out
    # Sent under a temporary name: the board still has the old module whole (a .mpy cut
    # short hangs MicroPython's loader for good).
    assert (tmp_path / wifi.lstrip("/")).read_bytes() == staged[wifi].read_bytes()
    monkeypatch.setattr(deploy, "stage", real_stage)
    monkeypatch.setattr(deploy.shutil, "copyfile", real_copy)
    code, out, err = deploy_to(tmp_path, capsys)
    assert code == 0, err
    assert "send %s " % wifi in out
    assert (tmp_path / wifi.lstrip("/")).read_bytes() == staged[wifi].read_bytes()


def test_a_py_from_mip_or_by_hand_is_removed_so_that_the_mpy_is_imported(tmp_path, capsys):
    # MicroPython's import tries name.py before name.mpy (py/builtinimport.c).
    (tmp_path / "lib/xmpp").mkdir(parents=True)
    (tmp_path / "lib/xmpp/errors.py").write_text("# installed by mip")
    (tmp_path / "lib/board.py").write_text("# copied by hand")
    code, _, err = deploy_to(tmp_path, capsys)
    assert code == 0, err
    assert (tmp_path / "lib/xmpp/errors.mpy").exists() and (tmp_path / "lib/board.mpy").exists()
    assert not (tmp_path / "lib/xmpp/errors.py").exists()
    assert not (tmp_path / "lib/board.py").exists()


def test_a_py_put_beside_a_deployed_mpy_later_is_removed_by_the_next_deploy(tmp_path, capsys):
    # `mpremote mip install` after a deploy: the .py files are imported instead of the .mpy
    # files the manifest names, though nothing in the tree changed.
    deploy_to(tmp_path, capsys)
    (tmp_path / "lib/xmpp/errors.py").write_text("# installed by mip")
    code, out, err = deploy_to(tmp_path, capsys)
    assert code == 0, err
    assert "delete /lib/xmpp/errors.py" in out and "up to date" not in out
    assert not (tmp_path / "lib/xmpp/errors.py").exists()
    assert (tmp_path / "lib/xmpp/errors.mpy").exists()
    code, out, err = deploy_to(tmp_path, capsys)
    assert code == 0 and "up to date" in out, err


def test_a_board_that_ran_another_chips_build_gets_everything(tmp_path, capsys):
    deploy_to(tmp_path, capsys)
    _, out, _ = deploy_to(tmp_path, capsys, board="esp32c3")
    assert "ran a esp32 build: sending everything" in out and " 0 unchanged" in out


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path, capsys):
    code, out, _ = deploy_to(tmp_path, capsys, "--dry-run")
    assert code == 0 and "dry run, nothing sent" in out
    assert "send /lib/board.mpy (new)" in out and "would run: cp " in out
    assert not (tmp_path / ".deploy.json").exists()


# -- mpremote --------------------------------------------------------------------------------


class FakeMpremote:
    """subprocess.run for mpremote: answers the manifest read, records everything."""

    def __init__(self, manifest=None):
        """manifest: what /.deploy.json holds, as a dict or as text."""
        manifest = manifest or {}
        self.manifest = manifest if isinstance(manifest, str) else json.dumps(manifest)
        self.calls = []

    def __call__(self, cmd, capture_output=False, text=False):
        self.calls.append(cmd)
        out = ""
        if "exec" in cmd and "DEPLOY:" in cmd[-1]:
            out = "DEPLOY:" + self.manifest + "\r\n"
        return subprocess.CompletedProcess(cmd, 0, out, "")


def steps_of(cmds):
    """The steps of mpremote command lines (split at their "+" arguments), in order."""
    steps = []
    for cmd in cmds:
        step = []
        for arg in cmd[3:]:
            if arg == "+":
                steps.append(step)
                step = []
            else:
                step.append(arg)
        steps.append(step)
    return steps


@pytest.fixture
def tty(tmp_path):
    p = tmp_path / "ttyUSB0"
    p.touch()
    return str(p)


def test_dry_run_on_a_serial_port_prints_the_exact_mpremote_commands(tty, capsys):
    fake = FakeMpremote()
    code = deploy.main(["--port", tty, "--board", "esp32_devkitc", "--dry-run"], run=fake)
    out = capsys.readouterr().out
    assert code == 0 and len(fake.calls) == 2  # the manifest was read, then the board reset
    would = [line for line in out.splitlines() if line.startswith("deploy: would run: ")]
    assert all(" connect %s " % tty in line for line in would)
    assert " fs cp -f " in would[0] and ":/boot.py" in would[0]
    assert would[-1].endswith(" reset")
    # The manifest goes last, after every file, renamed into place.
    assert "os.rename('/.deploy.json.tmp', '/.deploy.json')" in would[-2]


def up_to_date(board="esp32_devkitc", chip="esp32"):
    """The manifest of a board that has this tree's files."""
    files = deploy.stage(board, chip, None)  # compile_once's stage: no output directory
    hashes = {dst: deploy.sha256(src) for dst, src in files.items()}
    return {"board": board, "chip": chip, "files": hashes}


@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_reading_the_board_stops_its_firmware_so_a_deploy_with_nothing_to_send_resets_it(
    extra, tty, capsys
):
    # mpremote interrupts the firmware and soft-resets into the raw REPL, where main.py
    # does not run: without a reset the board would stay stopped.
    fake = FakeMpremote(up_to_date())
    code = deploy.main(["--port", tty, "--board", "esp32_devkitc", *extra], run=fake)
    assert code == 0
    assert fake.calls[-1][1:] == ["connect", tty, "reset"]


def test_no_reset_leaves_the_board_at_the_repl_even_with_nothing_to_send(tty, capsys):
    fake = FakeMpremote(up_to_date())
    code = deploy.main(["--port", tty, "--board", "esp32_devkitc", "--no-reset"], run=fake)
    assert code == 0 and len(fake.calls) == 1 and "up to date" in capsys.readouterr().out


def test_a_deploy_over_mpremote_copies_deletes_then_writes_the_manifest(tty, capsys):
    fake = FakeMpremote({"chip": "esp32", "files": {"/lib/thing/old.mpy": "x"}})
    code = deploy.main(["--port", tty, "--board", "esp32_devkitc"], run=fake)
    assert code == 0
    steps = steps_of(fake.calls[1:])
    # No watchdog step: mpremote's Ctrl-C reaches the firmware, which relaxes its own watchdog.
    assert not any("WDT" in arg for step in steps for arg in step)
    # First the old manifest without what is about to change, so that an interrupted deploy
    # is redone even if the tree goes back to it.
    assert steps[0][-1] == ":/.deploy.json.tmp" and "os.rename" in steps[1][1]
    assert steps[2][0] == "exec" and "os.mkdir" in steps[2][1] and "'/lib/thing'" in steps[2][1]
    rm = next(i for i, s in enumerate(steps) if "'/lib/thing/old.mpy'" in s[-1])
    assert steps[rm][0] == "exec" and "os.remove" in steps[rm][1]
    assert all(s[:3] == ["fs", "cp", "-f"] and s[-1].endswith(".tmp") for s in steps[3 : rm - 1])
    assert steps[rm - 1][0] == "exec" and "os.rename(p + '.tmp', p)" in steps[rm - 1][1]
    assert steps[rm + 1][-1] == ":/.deploy.json.tmp"  # the manifest last, whole or not at all
    assert steps[rm + 2][0] == "exec"
    assert "os.rename('/.deploy.json.tmp', '/.deploy.json')" in steps[rm + 2][1]
    assert steps[-1] == ["reset"] and rm + 3 == len(steps) - 1


def test_a_truncated_manifest_read_over_mpremote_sends_everything(tty, capsys):
    fake = FakeMpremote('{"board":"esp32_devkitc","chip":"esp32","files":{"/boot.py":"a')
    code = deploy.main(["--port", tty, "--board", "esp32_devkitc"], run=fake)
    out = capsys.readouterr().out
    assert code == 0 and "is no manifest" in out and " 0 unchanged" in out


def test_the_py_that_would_shadow_a_sent_mpy_is_removed_with_the_directories(tty, capsys):
    fake = FakeMpremote()
    assert deploy.main(["--port", tty, "--board", "esp32_devkitc"], run=fake) == 0
    first = steps_of(fake.calls[1:])[2]  # after the manifest that marks the deploy unfinished
    assert first[0] == "exec" and "'/lib/board.py'" in first[1]
    assert "'/lib/xmpp/errors.py'" in first[1] and "'/main.py'" not in first[1]


def test_an_mpremote_shortcut_is_not_a_port(capsys):
    # `mpremote a0` means `mpremote connect /dev/ttyACM0`, but `mpremote connect a0` fails.
    fake = FakeMpremote()
    assert deploy.main(["--port", "a0", "--board", "esp32_devkitc"], run=fake) == 2
    assert "PORT=/dev/ttyACM0" in capsys.readouterr().err and not fake.calls
    assert isinstance(deploy.connect("auto"), deploy.SerialBoard)
    assert isinstance(deploy.connect("id:0123456789"), deploy.SerialBoard)


def test_a_failing_mpremote_stops_the_deploy_with_a_message(tty, capsys):
    def failing(cmd, capture_output=False, text=False):
        return subprocess.CompletedProcess(cmd, 1, "", "mpremote: no device found")

    assert deploy.main(["--port", tty, "--board", "esp32_devkitc"], run=failing) == 2
    assert "no device found" in capsys.readouterr().err


def test_missing_arguments_are_named(capsys):
    assert deploy.main(["--board", "esp32_devkitc"]) == 2
    assert "PORT is missing" in capsys.readouterr().err
    assert deploy.main(["--board", ""]) == 2  # both at once, as make flash does
    assert "BOARD and PORT are missing" in capsys.readouterr().err
    assert deploy.main(["--port", "/dev/ttyUSB77", "--board", "esp32_devkitc"]) == 2
    assert "no serial port /dev/ttyUSB77" in capsys.readouterr().err
    assert deploy.main(["--port", "/dev/null", "--board", ""]) == 2
    assert "BOARD is missing" in capsys.readouterr().err
    # A config's dry run needs no PORT: only the config is named as missing.
    assert deploy.main(["--config", "", "--dry-run"]) == 2
    assert "deploy: CONFIG is missing\n" == capsys.readouterr().err
    # A board this tree does not have is named before the serial port is looked for.
    assert deploy.main(["--port", "/dev/ttyUSB77", "--board", "esp32", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "no board 'esp32'" in err and "ttyUSB77" not in err, err


def micropython(code, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(code)
    proc = subprocess.run([MICROPYTHON, str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_code_sent_to_the_board_runs_under_micropython(tmp_path):
    board = deploy.SerialBoard("/dev/null", run=None)
    captured = {}
    board._exec = lambda code: captured.setdefault("code", code) and micropython(code, tmp_path)
    f = tmp_path / "f.mpy"
    f.write_bytes(bytes(range(256)) * 5)
    # No /.deploy.json on this machine; of the .py files that would shadow a .mpy, one is there.
    assert board.read_state([str(f), str(tmp_path / "f.py")]) == ("", [str(f)])
    captured.clear()
    found = board.read_hashes([str(f), str(tmp_path / "missing.mpy")])
    assert found == {
        str(f): hashlib.sha256(f.read_bytes()).hexdigest(),
        str(tmp_path / "missing.mpy"): None,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "a/c.py").write_text("shadow")
    puts = [(str(tmp_path / "a/b/c.mpy"), f), (str(tmp_path / "a/c.mpy"), f)]
    for d in ("old/sub", "kept"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "kept/mine.txt").write_text("not ours")
    gone = [str(tmp_path / p) for p in ("gone.mpy", "old/sub/x.mpy", "old/y.mpy", "kept/z.mpy")]
    cmds = board.commands(puts, gone, False)
    steps = steps_of(cmds)
    codes = [s[1] for s in steps if s[0] == "exec"]
    # Make dirs and remove shadowing .py; the files, sent under temporary names, renamed into
    # place together; remove what left the tree; then the directories that left it with
    # them, when nothing else is in them.
    assert len(codes) == 4
    assert [s[-1] for s in steps if s[0] == "fs"] == [":" + d + ".tmp" for d, _ in puts]
    micropython(codes[0], tmp_path)
    for d, src in puts:
        Path(d + ".tmp").write_bytes(src.read_bytes())  # what mpremote's cp would do
    for code in codes[1:]:
        micropython(code, tmp_path)
    for code in codes[:1] + codes[2:]:  # again: the directories are there, the files gone
        micropython(code, tmp_path)
    assert (tmp_path / "a/b/c.mpy").read_bytes() == f.read_bytes()
    assert not (tmp_path / "a/b/c.mpy.tmp").exists()
    assert (tmp_path / "a/b").is_dir() and not (tmp_path / "a/c.py").exists()
    assert not (tmp_path / "old").exists() and (tmp_path / "kept/mine.txt").exists()


# -- the config ------------------------------------------------------------------------------

GOOD = {
    "xmpp": {"jid": "dev@example.org", "password": "pw", "resource": "sensor", "ca": "ca.der"},
    "allow": ["owner@example.org"],
    "board": "esp32_devkitc",
    "wifi": {"ssid": "home", "password": "secret-wifi"},
}


@pytest.fixture(scope="module")
def ca():
    return CertificateAuthority.shared()


def write_config(tmp_path, cfg, name="my.json"):
    p = tmp_path / name
    p.write_text(json.dumps(cfg))
    return p


def test_pem_is_converted_to_the_same_der_as_openssl(ca, tmp_path):
    pem = Path(ca.pem_path).read_bytes()
    out = tmp_path / "ca.der"
    subprocess.run(
        ["openssl", "x509", "-in", ca.pem_path, "-outform", "DER", "-out", out], check=True
    )
    assert deploy.to_der(pem) == out.read_bytes()
    assert deploy.to_der(out.read_bytes()) == out.read_bytes()  # DER passes through


def test_a_bundle_or_garbage_is_not_a_ca(ca):
    pem = Path(ca.pem_path).read_bytes()
    with pytest.raises(deploy.DeployError, match="holds 2 certificates"):
        deploy.to_der(pem + pem)
    with pytest.raises(deploy.DeployError, match="neither a PEM nor a DER"):
        deploy.to_der(b"\x30\x82\x01\x00 truncated")


def test_deploy_config_sends_the_config_and_the_ca_as_der(ca, tmp_path, capsys):
    cfg = write_config(tmp_path, GOOD)
    board = tmp_path / "board"
    code = deploy.main(
        ["--port", "dir:%s" % board, "--config", str(cfg), "--ca", str(ca.pem_path)]
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads((board / "config.json").read_text()) == GOOD
    assert (board / "ca.der").read_bytes() == Path(ca.der_path).read_bytes()


def test_a_wifi_name_outside_the_bmp_reaches_the_board_as_written(ca, tmp_path, capsys):
    # MicroPython's json reads "\\ud83c\\udfe0" as two lone surrogates (extmod/modjson.c
    # pairs none): escaped, an emoji SSID would be another network's name on the board.
    ssid = "\U0001f3e0 Home"
    cfg = write_config(tmp_path, dict(GOOD, wifi={"ssid": ssid, "password": "secret-wifi"}))
    (tmp_path / "ca.der").write_bytes(Path(ca.der_path).read_bytes())
    board = tmp_path / "board"
    code = deploy.main(["--port", "dir:%s" % board, "--config", str(cfg)])
    assert code == 0, capsys.readouterr().err
    read = "import json\nprint(json.load(open(%r))['wifi']['ssid'].encode())"
    assert micropython(read % str(board / "config.json"), tmp_path).strip() == repr(ssid.encode())


def test_deploy_config_takes_the_ca_named_beside_the_config(ca, tmp_path):
    cfg = write_config(tmp_path, GOOD)
    (tmp_path / "ca.der").write_bytes(Path(ca.pem_path).read_bytes())  # PEM under a .der name
    files = deploy.config_files(cfg)
    assert files["/ca.der"] == Path(ca.der_path).read_bytes()


def test_deploy_config_sends_the_ca_before_the_config_that_names_it(ca, tmp_path, tty, capsys):
    # An interrupted upload must not leave a config whose CA is not there yet: the board
    # would refuse to start on it.
    cfg = write_config(tmp_path, dict(GOOD, xmpp=dict(GOOD["xmpp"], ca="server-ca.der")))
    fake = FakeMpremote()
    code = deploy.main(["--port", tty, "--config", str(cfg), "--ca", str(ca.pem_path)], run=fake)
    assert code == 0, capsys.readouterr().err
    renames = [s[-1] for s in steps_of(fake.calls) if s[0] == "exec" and "rename" in s[-1]]
    assert renames == ["import os\nos.rename(%r, %r)\n" % (d + ".tmp", d)
                       for d in ("/server-ca.der", "/config.json")]  # fmt: skip


def test_an_interrupted_config_upload_leaves_the_old_config_whole(ca, tmp_path, monkeypatch):
    # A config (or CA) cut short stops the board at start-up, or lets it run with no
    # usable CA: each goes under a temporary name first, then is renamed.
    cfg = write_config(tmp_path, GOOD)
    (tmp_path / "ca.der").write_bytes(Path(ca.der_path).read_bytes())
    board = tmp_path / "board"
    board.mkdir()
    (board / "config.json").write_text("the old config")
    (board / "ca.der").write_bytes(b"the old CA")

    def cut_short(src, dst):
        Path(dst).write_bytes(Path(src).read_bytes()[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy.shutil, "copyfile", cut_short)
    with pytest.raises(KeyboardInterrupt):
        deploy.main(["--port", "dir:%s" % board, "--config", str(cfg)])
    assert (board / "config.json").read_text() == "the old config"
    assert (board / "ca.der").read_bytes() == b"the old CA"


def test_deploy_config_refuses_a_config_the_board_would_refuse(tmp_path, capsys):
    bad = dict(GOOD, xmpp=dict(GOOD["xmpp"], port=70000), log="loud")
    del bad["wifi"]
    cfg = write_config(tmp_path, bad)
    assert deploy.main(["--port", "dir:%s" % tmp_path, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "xmpp.port: 70000 is outside 1..65535" in err
    assert "wifi: missing" in err and "log: must be one of" in err
    assert not (tmp_path / "config.json").exists()


def test_deploy_config_refuses_a_password_scram_would_prepare_otherwise(tmp_path, capsys):
    for password, problem in (
        ("cafe\u0301", "the server reads it otherwise from U+0065 on (Unicode NFKC"),
        ("bell\x07", "holds U+0007, which SASLprep (RFC 4013) prohibits"),
    ):
        cfg = write_config(tmp_path, dict(GOOD, xmpp=dict(GOOD["xmpp"], password=password)))
        assert deploy.main(["--port", "dir:%s" % tmp_path, "--config", str(cfg)]) == 2
        assert "xmpp.password: " + problem in capsys.readouterr().err
        assert not (tmp_path / "config.json").exists()


@pytest.mark.parametrize(
    "board, pins, refusal",
    [
        ("esp32_devkitc", {"adc": [{"pin": 21}]}, "GPIO21 is not an ADC1 pin of the ESP32"),
        ("esp32_devkitc", {"adc": [{"pin": 25}]}, "GPIO25 is on ADC2"),
        ("esp32_devkitc", {"led_pin": 6}, "led_pin: GPIO6 is the SPI flash on this board"),
        ("esp32s3_devkitc", {"led_pin": 1}, "led_pin: GPIO1 is an ADC channel on this board"),
        ("esp32c3", {"adc": [{"pin": 4}]}, "adc: GPIO4 is the I2C SDA on this board"),
    ],
)
def test_deploy_config_refuses_pins_the_board_refuses(board, pins, refusal, ca, tmp_path, capsys):
    # The board's own checks (boards/<board>/board.py), run before anything is written.
    cfg = write_config(tmp_path, dict(GOOD, board=board, **pins))
    (tmp_path / "ca.der").write_bytes(Path(ca.der_path).read_bytes())
    target = tmp_path / "board"
    assert deploy.main(["--port", "dir:%s" % target, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert refusal in err, err
    assert not target.exists()


def test_deploy_config_lists_every_config_and_pin_problem_in_one_run(tmp_path, capsys):
    # One run per problem was the old way: the pins were checked only once the rest was
    # right, and the board's check stopped at its first refusal.
    bad = dict(GOOD, xmpp=dict(GOOD["xmpp"], port=70000), led_pin=6)
    bad["adc"] = [{"pin": 25}, {"pin": 21}, {"pin": 34, "atten": "12dB"}]
    bad["sensors"] = [{"type": "bh1751", "address": "0x23"}]
    cfg = write_config(tmp_path, bad)
    assert deploy.main(["--port", "dir:%s" % tmp_path, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    for fragment in (
        "xmpp.port: 70000 is outside 1..65535",
        "adc: entry 3, atten: must be 0..3 or one of",
        "sensors: entry 1, type: 'bh1751' is not a known type",
        "board esp32_devkitc: GPIO25 is on ADC2",
        "board esp32_devkitc: GPIO21 is not an ADC1 pin of the ESP32",
        "board esp32_devkitc: led_pin: GPIO6 is the SPI flash on this board",
    ):
        assert fragment in err, (fragment, err)
    assert not (tmp_path / "config.json").exists()


def test_the_pin_checks_pass_over_entries_the_config_check_refuses(tmp_path):
    # Run on a config with problems of its own, the board's check must not trip over them.
    bad = dict(GOOD, led_pin="6", adc=[{"pin": "25"}, 3, {"atten": 3}, {"pin": True}])
    assert deploy.board_problems(bad) == []
    assert deploy.board_problems(dict(GOOD, adc={"pin": 25}, led_pin=None)) == []
    with pytest.raises(deploy.DeployError) as e:
        deploy.config_files(write_config(tmp_path, dict(bad, board=5)))
    assert "board: must be a board name" in str(e.value)


def test_the_config_check_knows_the_options_of_every_driver(monkeypatch):
    # deploy-config refuses an option the driver would refuse at boot (a TypeError then),
    # and takes every one it has: the checker's table has each constructor's keywords.
    import importlib
    import inspect
    import types

    if "micropython" not in sys.modules:
        stub = types.ModuleType("micropython")
        stub.const = lambda value: value
        monkeypatch.setitem(sys.modules, "micropython", stub)
    from drivers import detect
    from thing import parts

    for kind, (module, cls) in detect.DRIVERS.items():
        init = getattr(importlib.import_module("drivers." + module), cls).__init__
        keywords = list(inspect.signature(init).parameters)
        assert keywords[:3] == ["self", "i2c", "address"], (kind, keywords)
        assert sorted(parts.SENSOR_TYPES[kind][1]) == sorted(keywords[3:]), kind


def test_deploy_config_refuses_a_board_this_tree_does_not_have(tmp_path, capsys):
    cfg = write_config(tmp_path, dict(GOOD, board="esp32_wroom"))
    assert deploy.main(["--port", "dir:%s" % tmp_path, "--config", str(cfg)]) == 2
    assert "board: no board 'esp32_wroom' in boards/" in capsys.readouterr().err


def test_deploy_config_takes_pins_the_board_takes(ca, tmp_path, capsys):
    # An ESP32-S3-DevKitC-1 v1.1 has its LED on GPIO38; an ADC1 pin of its own is free.
    pins = {"led_pin": 38, "adc": [{"pin": 2}]}
    cfg = write_config(tmp_path, dict(GOOD, board="esp32s3_devkitc", **pins))
    (tmp_path / "ca.der").write_bytes(Path(ca.der_path).read_bytes())
    target = tmp_path / "board"
    assert deploy.main(["--port", "dir:%s" % target, "--config", str(cfg)]) == 0
    assert json.loads((target / "config.json").read_text())["led_pin"] == 38


def test_a_config_dry_run_needs_no_board(ca, tmp_path, capsys):
    # It reads nothing from the board: the config is checked and the commands printed, the
    # board may still be in its box.
    cfg = write_config(tmp_path, GOOD)
    (tmp_path / "ca.der").write_bytes(Path(ca.der_path).read_bytes())

    def no_mpremote(*args, **kwargs):
        raise AssertionError("mpremote ran")

    argv = ["--port", "/dev/ttyUSB77", "--config", str(cfg), "--dry-run"]
    assert deploy.main(argv, run=no_mpremote) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert " connect /dev/ttyUSB77 fs cp -f " in out and ":/config.json" in out
    assert "dry run, nothing sent" in out
    # Not on a dry run, the port must be there.
    assert deploy.main(argv[:-1], run=no_mpremote) == 2
    assert "no serial port /dev/ttyUSB77" in capsys.readouterr().err
    # Nor named at all: make deploy-config CONFIG=... DEPLOY_ARGS=--dry-run
    assert deploy.main(["--port", "", *argv[2:]], run=no_mpremote) == 0
    assert " connect PORT fs cp -f " in capsys.readouterr().out


def test_deploy_config_names_what_is_missing(ca, tmp_path):
    no_ca = dict(GOOD, xmpp=dict(GOOD["xmpp"], tls="plain"))
    del no_ca["xmpp"]["ca"]
    with pytest.raises(deploy.DeployError, match='add "ca": "ca.der"'):
        deploy.config_files(write_config(tmp_path, no_ca), str(ca.pem_path))
    with pytest.raises(deploy.DeployError, match="no .*ca.der here to send"):
        deploy.config_files(write_config(tmp_path, GOOD))
    with pytest.raises(deploy.DeployError, match="host is the simulated one"):
        deploy.config_files(write_config(tmp_path, dict(GOOD, board="host")), str(ca.pem_path))


# -- mip and freezing ----------------------------------------------------------------------


def test_package_json_is_up_to_date():
    assert (ROOT / "package.json").read_text() == deploy.package_json_text(), (
        "run: .venv/bin/python tools/deploy.py --package-json"
    )


class FakeTransport:
    def __init__(self):
        self.files = {}
        self.dirs = set()

    def fs_exists(self, path):
        return path in self.dirs

    def fs_mkdir(self, path):
        self.dirs.add(path)

    def fs_writefile(self, path, data, progress_callback=None):
        self.files[path] = data


def test_mip_installs_lib_as_a_deploy_lays_it_out(monkeypatch):
    from mpremote import mip

    monkeypatch.chdir(ROOT)
    t = FakeTransport()
    mip._install_json(t, "package.json", mip._PACKAGE_INDEX, "/lib", None, True)
    want = {"/lib/" + p.relative_to(ROOT / "lib").as_posix(): p.read_bytes()
            for p in (ROOT / "lib").rglob("*.py")}  # fmt: skip
    assert t.files == want


def test_manifest_freezes_every_lib_package():
    calls = []

    def package(path, files=None, base_path=".", opt=None):
        calls.append((path, base_path, opt))

    exec((ROOT / "manifest.py").read_text(), {"package": package})
    pkgs = {p.parent.name for p in (ROOT / "lib").glob("*/__init__.py")}
    assert {c[0] for c in calls} == pkgs
    assert all(
        base == "lib" and (ROOT / base / name / "__init__.py").exists() for name, base, _ in calls
    )


@pytest.mark.parametrize("port", ["dir:", "dir:.", "dir:lib", "dir:.."])
def test_a_directory_board_over_this_tree_is_refused(port, capsys, monkeypatch):
    # Over the sources, each lib/x.py is a .py that would shadow the x.mpy sent: deleted.
    monkeypatch.chdir(deploy.ROOT)
    assert deploy.main(["--port", port, "--board", "esp32c3"]) == 2
    assert "give a directory outside this tree" in capsys.readouterr().err


def test_mpremote_failing_with_a_traceback_is_told_in_its_last_line_with_a_hint():
    class Proc:
        returncode = 1
        stdout = ""
        stderr = "Traceback (most recent call last):\n  File ...\n" + (
            "mpremote.transport.TransportError: could not enter raw repl"
        )

    board = deploy.SerialBoard("/dev/ttyS0", run=lambda *a, **k: Proc())
    with pytest.raises(deploy.DeployError) as e:
        board.read_state()
    assert "Traceback" not in str(e.value) and "could not enter raw repl" in str(e.value)
    assert "press its reset button" in str(e.value)


def test_a_ca_named_outside_the_boards_folder_is_refused(tmp_path, capsys):
    cfg = write_config(tmp_path, dict(GOOD, xmpp=dict(GOOD["xmpp"], ca="../ca.der")))
    board = tmp_path / "board"
    assert deploy.main(["--port", "dir:%s" % board, "--config", str(cfg)]) == 2
    assert "leaves the board's folder" in capsys.readouterr().err
    assert not (tmp_path / "ca.der").exists() and not board.exists()


def test_a_config_sent_to_a_directory_board_is_readable_by_its_owner_only(ca, tmp_path):
    import stat

    cfg = write_config(tmp_path, GOOD)
    (tmp_path / "ca.der").write_bytes(ca.der_path.read_bytes())
    board = tmp_path / "board"
    assert deploy.main(["--port", "dir:%s" % board, "--config", str(cfg)]) == 0
    assert stat.S_IMODE((board / "config.json").stat().st_mode) == 0o600  # it holds passwords

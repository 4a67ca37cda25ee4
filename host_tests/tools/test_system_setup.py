"""The set-up scripts `make test` and `make demo` run first, on a fresh Debian:
tools/make-venv (the venv; Debian's python3-venv first when the system Python lacks it) and
tools/install-system (the servers). They run against stand-ins for python3, apt-get and
systemctl that record what they are asked; nothing is installed."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PYTHON3 = """#!/bin/sh
# A Debian python3: `import ensurepip` works once python3-venv is installed.
echo "python3 $*" >> "$LOG"
case "$*" in
  "-c import ensurepip") [ -e "$STATE/python3-venv" ];;
  "-m venv "*)
    mkdir -p "$3/bin" && : > "$3/bin/python"
    # Without python3-venv, Debian's venv leaves one without pip behind, and fails.
    [ -e "$STATE/python3-venv" ] || exit 1
    : > "$3/bin/pip" && chmod +x "$3/bin/pip";;
esac
"""

APT_GET = """#!/bin/sh
echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$LOG"
for p in "$@"; do : > "$STATE/$p"; done
"""

NO_APT = """#!/bin/sh
echo "apt-get $*" >> "$LOG"
exit 100
"""

SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$LOG"
"""


def _run(tmp_path, script, *args, apt=APT_GET, installed=(), **env):
    """Run tools/SCRIPT with only the stand-ins and a few coreutils on PATH: (proc, log)."""
    bin_, state, log = tmp_path / "bin", tmp_path / "state", tmp_path / "log"
    for d in (bin_, state):
        d.mkdir(exist_ok=True)
    for name, text in (("python3", PYTHON3), ("apt-get", apt), ("systemctl", SYSTEMCTL)):
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    for tool in ("env", "id", "mkdir", "chmod", "rm"):
        if not (bin_ / tool).exists():
            (bin_ / tool).symlink_to(shutil.which(tool))
    for name in installed:
        (bin_ / name).write_text("#!/bin/sh\n")
        (bin_ / name).chmod(0o755)
    if log.exists():
        log.unlink()
    env = dict(os.environ, PATH=str(bin_), LOG=str(log), STATE=str(state), **env)
    proc = subprocess.run(
        [str(ROOT / "tools" / script), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc, log.read_text().splitlines() if log.exists() else []


def test_a_python_without_venv_support_gets_debians_python3_venv_first(tmp_path):
    proc, log = _run(tmp_path, "make-venv", ".venv")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installs = [line for line in log if line.startswith("apt-get install")]
    assert len(installs) == 1 and "python3-venv" in installs[0], log
    assert "DEBIAN_FRONTEND=noninteractive" in installs[0]
    assert (tmp_path / ".venv" / "bin" / "pip").exists()


def test_a_venv_left_without_pip_is_made_again(tmp_path):
    # What `python3 -m venv` leaves on Debian without python3-venv: a python, no pip. The
    # next run must not take it for a finished venv.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("")
    (tmp_path / ".venv" / "stale").write_text("")
    proc, _ = _run(tmp_path, "make-venv", ".venv")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / ".venv" / "bin" / "pip").exists()
    assert not (tmp_path / ".venv" / "stale").exists()


def test_a_finished_venv_is_left_alone(tmp_path):
    assert _run(tmp_path, "make-venv", ".venv")[0].returncode == 0
    (tmp_path / ".venv" / "mine").write_text("")
    proc, log = _run(tmp_path, "make-venv", ".venv")
    assert proc.returncode == 0 and log == []  # not even python3 was asked
    assert (tmp_path / ".venv" / "mine").exists()


def test_a_venv_that_cannot_be_made_says_what_to_install_and_leaves_nothing(tmp_path):
    proc, _ = _run(tmp_path, "make-venv", ".venv", apt=NO_APT)
    assert proc.returncode != 0
    assert "python3-venv" in proc.stderr
    assert not (tmp_path / ".venv").exists()


def test_installed_servers_do_not_stay_up_as_system_services(tmp_path):
    (tmp_path / "systemd").mkdir()
    proc, log = _run(
        tmp_path, "install-system", WITH_EJABBERD="0", SYSTEMD_RUN_DIR=str(tmp_path / "systemd")
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    install = [line for line in log if line.startswith("apt-get install")]
    assert len(install) == 1 and "prosody" in install[0] and "openssl" in install[0], log
    assert "DEBIAN_FRONTEND=noninteractive" in install[0]
    assert "systemctl disable --now prosody" in log


def test_without_systemd_no_service_is_touched(tmp_path):
    proc, log = _run(
        tmp_path, "install-system", WITH_EJABBERD="0", SYSTEMD_RUN_DIR=str(tmp_path / "none")
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert any(line.startswith("apt-get install") for line in log)
    assert not any(line.startswith("systemctl") for line in log)


def test_with_everything_present_nothing_is_installed(tmp_path):
    proc, log = _run(
        tmp_path, "install-system", WITH_EJABBERD="0", installed=("prosody", "openssl")
    )
    assert proc.returncode == 0 and log == [], log

"""tools/flash.py: argument checking, the offsets table, and the esptool command lines."""

import struct
import subprocess

import flash
import pytest


def image(tmp_path, chip_id, name="fw.bin", cut=0):
    """A full firmware .bin for `chip_id`, laid out as micropython.org's: the bootloader's
    image header (esp_image_header_t) at its start, the application's at 0x10000 in flash
    (one segment of 4 KB); `cut` bytes short of whole."""
    head = bytes([0xE9, 3, 2, 0x20]) + bytes(4) + bytes([0xEE, 0, 0, 0])
    head += chip_id.to_bytes(2, "little") + bytes(10)
    app_at = 0x10000 - (0x1000 if chip_id == 0 else 0)
    app = bytes([0xE9, 1]) + head[2:] + struct.pack("<II", 0x3F400020, 4096) + bytes(4096)
    data = head + bytes(app_at - len(head)) + app + bytes(16)
    path = tmp_path / name
    path.write_bytes(data[: len(data) - cut])
    return path


@pytest.fixture
def port(tmp_path):
    p = tmp_path / "ttyUSB0"
    p.touch()
    return str(p)


def test_offsets_follow_the_micropython_download_pages():
    assert flash.CHIPS["esp32"][0] == 0x1000
    assert flash.CHIPS["esp32s3"][0] == 0x0
    assert flash.CHIPS["esp32c3"][0] == 0x0


@pytest.mark.parametrize(
    "chip, offset", [("esp32", "0x1000"), ("esp32s3", "0x0"), ("esp32c3", "0x0")]
)
def test_commands_erase_then_write_at_the_chips_offset(chip, offset):
    erase, write = flash.commands("/dev/ttyUSB0", chip, "fw.bin", 921600)
    assert erase[1:] == [
        "--chip",
        chip,
        "--port",
        "/dev/ttyUSB0",
        "--baud",
        "921600",
        "erase-flash",
    ]
    assert write[-4:] == ["write-flash", "--compress", offset, "fw.bin"]


def test_no_erase_only_writes():
    (write,) = flash.commands("/dev/ttyUSB0", "esp32", "fw.bin", erase=False)
    assert "write-flash" in write


@pytest.mark.parametrize("chip", sorted(flash.CHIPS))
def test_esptool_accepts_the_command_lines(chip, tmp_path):
    # No board here: esptool must get as far as opening the port, so its parser took them.
    fw = image(tmp_path, flash.CHIPS[chip][1])
    for cmd in flash.commands(str(tmp_path / "no-such-port"), chip, fw):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "Could not open" in out, out
        assert "No such option" not in out and "Usage:" not in out


def run(capsys, *argv):
    code = flash.main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_missing_chip(capsys, tmp_path, port):
    code, _, err = run(capsys, "--port", port, "--firmware", str(image(tmp_path, 0)))
    assert code == 2 and "CHIP is missing: give one of esp32, esp32s3, esp32c3" in err


def test_unknown_chip(capsys, tmp_path, port):
    code, _, err = run(capsys, "--port", port, "--chip", "esp8266", "--firmware", "x.bin")
    assert code == 2 and "unknown CHIP 'esp8266'" in err


def test_chip_names_are_forgiving_about_case_and_dashes(capsys, tmp_path, port):
    fw = image(tmp_path, 9)
    code, out, _ = run(
        capsys, "--port", port, "--chip", "ESP32-S3", "--firmware", str(fw), "--dry-run"
    )
    assert code == 0 and "write-flash --compress 0x0" in out


def test_missing_firmware_file(capsys, port):
    code, _, err = run(capsys, "--port", port, "--chip", "esp32", "--firmware", "/nope/fw.bin")
    assert code == 2 and "no firmware file /nope/fw.bin" in err
    code, _, err = run(capsys, "--port", port, "--chip", "esp32")
    assert code == 2 and "FIRMWARE is missing" in err


def test_a_file_that_is_no_firmware_image(capsys, tmp_path, port):
    junk = tmp_path / "readme.bin"
    junk.write_bytes(b"hello world, this is not firmware")
    code, _, err = run(capsys, "--port", port, "--chip", "esp32", "--firmware", str(junk))
    assert code == 2 and "not an ESP firmware image" in err


def app_image(tmp_path, chip_id):
    """An application image (.app-bin): one segment, in flash-mapped data (DROM), opening
    with the ESP-IDF esp_app_desc_t (magic word 0xABCD5432, then versions and names)."""
    desc = struct.pack("<II8s32s32s", 0xABCD5432, 0, b"", b"v1.25.0", b"micropython")
    desc += bytes(256 - len(desc))
    head = bytearray(image(tmp_path, chip_id).read_bytes()[:24])
    head[1] = 1  # one segment
    path = tmp_path / "fw.app-bin"
    path.write_bytes(head + struct.pack("<II", 0x3F400020, len(desc)) + desc + bytes(16))
    return path


def test_the_synthetic_app_image_is_one_to_esptool(tmp_path):
    # esptool image-info looks for the app descriptor where check_image does.
    cmd = [flash.esptool(), "image-info", str(app_image(tmp_path, 0))]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    assert "Application Information" in out and "Project name: micropython" in out
    out = subprocess.run(cmd[:-1] + [str(image(tmp_path, 0))], capture_output=True, text=True)
    assert "Application Information" not in out.stdout


@pytest.mark.parametrize("chip", sorted(flash.CHIPS))
def test_an_application_image_is_refused_it_would_not_boot(chip, capsys, tmp_path, port):
    fw = str(app_image(tmp_path, flash.CHIPS[chip][1]))
    code, _, err = run(capsys, "--port", port, "--chip", chip, "--firmware", fw, "--dry-run")
    assert code == 2 and "is an application image" in err


def test_firmware_for_another_chip_is_refused_before_anything_is_erased(
    capsys, tmp_path, port, monkeypatch
):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("esptool ran"))
    fw = image(tmp_path, 9)  # an S3 image
    code, _, err = run(capsys, "--port", port, "--chip", "esp32", "--firmware", str(fw))
    assert code == 2 and "is built for esp32s3, not esp32" in err


def test_no_port(capsys, tmp_path):
    fw = str(image(tmp_path, 0))
    code, _, err = run(capsys, "--chip", "esp32", "--firmware", fw)
    assert code == 2 and "PORT is missing" in err
    code, _, err = run(capsys, "--port", "/dev/ttyUSB77", "--chip", "esp32", "--firmware", fw)
    assert code == 2 and "no serial port /dev/ttyUSB77" in err


def test_dry_run_prints_the_commands_and_runs_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("esptool ran"))
    fw = image(tmp_path, 5)
    code, out, _ = run(
        capsys, "--port", "/dev/ttyACM0", "--chip", "esp32c3", "--firmware", str(fw), "--dry-run"
    )
    assert code == 0
    assert "[1/2]" in out and "erase-flash" in out
    assert "[2/2]" in out and "write-flash --compress 0x0 " + str(fw) in out
    assert "dry run" in out


def test_runs_esptool_in_order_and_stops_at_the_first_failure(capsys, tmp_path, port, monkeypatch):
    ran = []

    def fake_run(cmd, **kwargs):
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 1 if "erase-flash" in cmd else 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    fw = image(tmp_path, 0)
    code, _, err = run(capsys, "--port", port, "--chip", "esp32", "--firmware", str(fw))
    assert code == 1 and len(ran) == 1 and "esptool failed (step 1)" in err
    ran.clear()
    code, out, _ = run(
        capsys, "--port", port, "--chip", "esp32", "--firmware", str(fw), "--no-erase"
    )
    assert code == 0 and len(ran) == 1 and ran[0][-2:] == ["0x1000", str(fw)]
    assert "flash: done" in out


def test_make_flash_with_nothing_names_everything_missing_at_once(capsys):
    code, out, err = run(capsys, "--port", "", "--chip", "", "--firmware", "")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "flash: CHIP is missing: give one of esp32, esp32s3, esp32c3",
        "flash: FIRMWARE is missing: the .bin file from micropython.org/download",
        "flash: PORT is missing: the board's serial port, e.g. PORT=/dev/ttyUSB0",
        "flash: e.g. make flash PORT=/dev/ttyUSB0 CHIP=esp32 FIRMWARE=ESP32_GENERIC-v1.25.0.bin",
    ]


def test_a_missing_port_is_named_with_the_image_problems(capsys, tmp_path):
    code, _, err = run(capsys, "--chip", "esp32", "--firmware", str(image(tmp_path, 9)))
    assert code == 2
    assert "is built for esp32s3, not esp32" in err and "PORT is missing" in err


@pytest.mark.parametrize("cut", [17, 4096, 40_000])
def test_a_firmware_cut_short_is_refused_before_the_erase(capsys, tmp_path, port, cut):
    fw = image(tmp_path, 0, cut=cut)
    code, out, err = run(capsys, "--port", port, "--chip", "esp32", "--firmware", str(fw))
    assert code == 2 and "is cut short" in err and "download it again" in err, err
    assert "erase" not in out
    assert flash.check_image(str(image(tmp_path, 0, name="whole.bin", cut=16)), "esp32")

"""Erase an ESP32 and write a MicroPython firmware image to it with esptool.

Usage: python tools/flash.py --port /dev/ttyUSB0 --chip esp32 --firmware ESP32_GENERIC.bin
       (make flash PORT=/dev/ttyUSB0 CHIP=esp32 FIRMWARE=ESP32_GENERIC.bin)
Options: --baud N (default 460800), --no-erase, --dry-run (print the esptool commands only).

The image is the single .bin from micropython.org/download. It goes at 0x1000 on the
original ESP32 (its second-stage bootloader lives there) and at 0x0 on the S3 and C3, as
the download pages say. Nothing is fetched: the file must already be here. The image's own
header names the chip it was built for, so a wrong CHIP is caught before anything is erased,
and an application image (.app-bin, for OTA updates: no bootloader, so written here the
board would not boot) is refused.
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

# chip: (flash offset of the .bin, chip id in the image header)
CHIPS = {
    "esp32": (0x1000, 0),
    "esp32s3": (0x0, 9),
    "esp32c3": (0x0, 5),
}
# ESP-IDF esp_image_header_t: magic 0xE9 at byte 0, chip_id (uint16 LE) at byte 12; with
# its extended header 24 bytes, then the first segment's 8-byte header (load address, length).
_IMAGE_MAGIC = 0xE9
# An application's first segment opens with esp_app_desc_t, whose first word is this magic
# (ESP-IDF "App image format"; esptool image-info looks for it there); the bootloader at the
# start of the full .bin has none.
_APP_DESC_MAGIC = (0xABCD5432).to_bytes(4, "little")
_FIRST_SEGMENT_DATA = 24 + 8
# The application in a full .bin: MicroPython's partition tables put it at 0x10000 in flash.
_APP_AT = 0x10000
_CHIP_NAMES = {0: "esp32", 2: "esp32s2", 5: "esp32c3", 9: "esp32s3", 12: "esp32c2", 13: "esp32c6"}


class FlashError(Exception):
    """A problem with the arguments or the image; the message says what to do."""


def esptool():
    exe = Path(sys.executable).parent / "esptool"
    return str(exe) if exe.exists() else (shutil.which("esptool") or "esptool")


def check_chip(chip):
    if not chip:
        raise FlashError("CHIP is missing: give one of %s" % ", ".join(CHIPS))
    chip = chip.lower().replace("-", "")
    if chip not in CHIPS:
        raise FlashError("unknown CHIP %r: give one of %s" % (chip, ", ".join(CHIPS)))
    return chip


def check_port(port):
    if not port:
        raise FlashError("PORT is missing: the board's serial port, e.g. PORT=/dev/ttyUSB0")
    # Only local device paths can be checked; COM3, rfc2217://... are esptool's to judge.
    if port.startswith("/") and not os.path.exists(port):
        raise FlashError("no serial port %s: is the board plugged in? (ls /dev/tty*)" % port)
    return port


def check_image(path, chip):
    """The image's size; FlashError if it is missing, no full image or for another chip."""
    if not path:
        raise FlashError("FIRMWARE is missing: the .bin file from micropython.org/download")
    p = Path(path)
    if not p.is_file():
        raise FlashError("no firmware file %s" % path)
    with p.open("rb") as f:
        head = f.read(_FIRST_SEGMENT_DATA + 4)
    if len(head) < 16 or head[0] != _IMAGE_MAGIC:
        raise FlashError("%s is not an ESP firmware image (no 0xE9 header)" % path)
    if head[_FIRST_SEGMENT_DATA:] == _APP_DESC_MAGIC:
        raise FlashError(
            "%s is an application image (.app-bin, for OTA updates); it would not boot at"
            " 0x%x: take the .bin from micropython.org/download" % (path, CHIPS[chip][0])
        )
    image_chip = int.from_bytes(head[12:14], "little")
    expected = CHIPS[chip][1]
    if image_chip != expected:
        name = _CHIP_NAMES.get(image_chip, "chip id %d" % image_chip)
        raise FlashError("%s is built for %s, not %s: check CHIP or the file" % (path, name, chip))
    size = p.stat().st_size
    end = _app_end(p, _APP_AT - CHIPS[chip][0])
    if end is None or end > size:
        # A download cut short passes every test above: refused before the erase.
        raise FlashError(
            "%s is cut short (%d bytes%s): download it again from micropython.org/download"
            % (path, size, "" if end is None else "; its application ends at byte %d" % end)
        )
    return size


def _app_end(path, at):
    """Where the application image starting at file offset `at` ends (its segment headers
    add up), or None when no image header is there."""
    with path.open("rb") as f:
        f.seek(at)
        head = f.read(24)
        if len(head) < 24 or head[0] != _IMAGE_MAGIC:
            return None
        end = at + 24
        for _ in range(head[1]):
            f.seek(end)
            seg = f.read(8)
            if len(seg) < 8:
                return end + 8
            end += 8 + int.from_bytes(seg[4:8], "little")
    return end


def commands(port, chip, firmware, baud=460800, erase=True):
    """The esptool command lines, in order."""
    base = [esptool(), "--chip", chip, "--port", port, "--baud", str(baud)]
    cmds = []
    if erase:
        cmds.append(base + ["erase-flash"])
    cmds.append(base + ["write-flash", "--compress", "0x%x" % CHIPS[chip][0], str(firmware)])
    return cmds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", default="")
    ap.add_argument("--chip", default="")
    ap.add_argument("--firmware", default="")
    ap.add_argument("--baud", type=int, default=460800)
    ap.add_argument("--no-erase", action="store_true", help="write without erasing first")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = ap.parse_args(argv)
    # Every problem at once: a bare `make flash` learns all it has to give in one go.
    problems = []
    chip = size = port = None
    try:
        chip = check_chip(args.chip)
    except FlashError as e:
        problems.append(e)
    try:
        if chip or not args.firmware:
            size = check_image(args.firmware, chip)
    except FlashError as e:
        problems.append(e)
    try:
        port = args.port if args.dry_run and args.port else check_port(args.port)
    except FlashError as e:
        problems.append(e)
    if problems:
        for e in problems:
            print("flash: %s" % e, file=sys.stderr)
        if not (args.port and args.chip and args.firmware):
            print("flash: e.g. make flash PORT=/dev/ttyUSB0 CHIP=esp32"
                  " FIRMWARE=ESP32_GENERIC-v1.25.0.bin", file=sys.stderr)  # fmt: skip
        return 2
    cmds = commands(port, chip, args.firmware, args.baud, not args.no_erase)
    print(
        "flash: %s (%d bytes) to %s on %s at 0x%x"
        % (args.firmware, size, chip, port, CHIPS[chip][0])
    )
    for i, cmd in enumerate(cmds, 1):
        print("flash: [%d/%d] %s" % (i, len(cmds), shlex.join(cmd)))  # pastable as shown
        if args.dry_run:
            continue
        if subprocess.run(cmd).returncode:
            print("flash: esptool failed (step %d); nothing more was done" % i, file=sys.stderr)
            return 1
    print("flash: done%s" % (" (dry run, nothing ran)" if args.dry_run else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

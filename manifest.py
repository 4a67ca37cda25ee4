# Freeze the XMPP sensor stack into your own MicroPython firmware build.
#
# In your board's manifest (e.g. a copy of ports/esp32/boards/manifest.py):
#     include("$(PORT_DIR)/boards/manifest.py")        # the port's own modules, ntptime too
#     include("/path/to/this/repo/manifest.py")
# and build with: make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/yours.py
# Frozen modules run from flash: no .mpy files on the filesystem, far less heap at import.
# The board definition and the two startup scripts stay on the filesystem (make deploy puts
# them there; or freeze a board too with module("board.py", base_path=...)).
# Flash with make flash, then send /main.py, /boot.py and /lib/board.mpy with
# `tools/deploy.py --frozen` (make deploy DEPLOY_ARGS=--frozen) and the config with
# make deploy-config. Frozen modules come before /lib on the ESP32's sys.path.

for _pkg in ("xmlstream", "xmpp", "sensordata", "drivers", "thing"):
    package(_pkg, base_path="lib", opt=3)  # noqa: F821 - given by manifestfile.py

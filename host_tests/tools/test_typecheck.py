"""tools/typecheck.py checks every call into the port: in the modules that import a port module,
and on the port objects a module is handed rather than makes (the WLAN in thing.wifi, the RTC
in thing.timesync, the WDT in thing.supervisor)."""

import shutil
from pathlib import Path

import typecheck

ROOT = Path(__file__).resolve().parents[2]

# One call in each module turned into one the ESP32 port's object does not take.
WRONG = {
    "lib/thing/firmware.py": ("machine.WDT(timeout=", "machine.WDT(timeot="),
    "lib/thing/startup.py": ("machine.Pin.PULL_UP", "machine.Pin.PULLUP"),
    "lib/thing/esp32board.py": ("atten=atten)", "attn=atten)"),
    "lib/thing/wifi.py": ('self.wlan.status("rssi")', "self.wlan.rssi()"),
    "lib/thing/timesync.py": ("self.rtc.datetime(", "self.rtc.now("),
    "lib/thing/supervisor.py": ("self.wdt.feed()", "self.wdt.feed(1)"),
}


def test_a_wrong_call_into_the_port_is_found_in_every_module_that_makes_one(tmp_path, capsys):
    for top in ("lib", "firmware", "boards"):
        shutil.copytree(ROOT / top, tmp_path / top)
    for rel, (right, wrong) in WRONG.items():
        path = tmp_path / rel
        text = path.read_text()
        assert right in text
        path.write_text(text.replace(right, wrong))
    assert typecheck.main(tmp_path) == 1
    out = capsys.readouterr().out
    for rel in WRONG:
        assert [ln for ln in out.splitlines() if ln.startswith(rel) and ": error:" in ln], out

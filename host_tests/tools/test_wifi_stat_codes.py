"""lib/thing/wifi.py and the test fakes use the ESP32 port's own network.STAT_* values."""

import ast
import re
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def port_values():
    stub = Path(sysconfig.get_paths()["purelib"]) / "network.pyi"  # micropython-esp32-stubs
    return {
        m[1]: int(m[2])
        for m in re.finditer(r"^(STAT_\w+): Final\[int\] = (\d+)", stub.read_text(), re.M)
    }


def constants(path):
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id.lstrip("_")  # private ones too: wifi.py's own use
            value = node.value
            if isinstance(value, ast.Call):  # const(N)
                value = value.args[0]
            if name.startswith("STAT_") and isinstance(value, ast.Constant):
                out[name] = value.value
    return out


def test_thing_wifi_status_codes_are_the_esp32_ports():
    port = port_values()
    ours = constants(ROOT / "lib/thing/wifi.py")
    assert {
        "STAT_IDLE",
        "STAT_CONNECTING",
        "STAT_GOT_IP",
        "STAT_WRONG_PASSWORD",
        "STAT_NO_AP_FOUND",
    } <= set(ours)
    assert {k: port[k] for k in ours} == ours
    assert port["STAT_CONNECT_FAIL"] == ours["STAT_ASSOC_FAIL"]


def test_the_fake_wlan_uses_the_same_codes():
    port = port_values()
    fakes = constants(ROOT / "host_tests/unit/test_wifi_fakes.py")
    assert fakes and {k: port[k] for k in fakes} == fakes

# thing.startup: what the board checks before it starts, and its safe-mode escape.
import gc
import json
import os
import sys

import scratch

import thing
from thing import startup
from thing.config import ConfigError

GOOD = {
    "xmpp": {"jid": "dev@example.org", "password": "pw", "resource": "sensor", "ca": "ca.der"},
    "allow": ["owner@example.org"],
    "board": "esp32_devkitc",
    "wifi": {"ssid": "home", "password": "secret-wifi"},
}
DER = b"\x30\x82\x01\x0a" + bytes(range(100))


_made = [0]


def folder(files):
    _made[0] += 1
    d = scratch.path("startup-%d" % _made[0])
    os.mkdir(d)
    for name, data in files.items():
        with open(d + "/" + name, "wb") as f:
            f.write(data if isinstance(data, bytes) else json.dumps(data).encode())
    return d


def test_a_good_config_and_der_ca_load():
    d = folder({"config.json": GOOD, "ca.der": DER})
    cfg, ca = startup.load(d + "/config.json")
    assert cfg["wifi"]["ssid"] == "home"
    assert ca == DER


def test_config_and_ca_problems_are_listed_together():
    bad = dict(GOOD, log="loud")
    d = folder({"config.json": bad})
    try:
        startup.load(d + "/config.json")
    except ConfigError as e:
        text = str(e)
        assert len(e.problems) == 2
        assert "log: must be one of" in text
        assert "xmpp.ca: cannot read " + d + "/ca.der" in text
    else:
        raise AssertionError("loaded a broken config")


def test_a_host_config_copied_to_a_board_is_refused_with_all_it_lacks():
    # The host's config has no WiFi: checked as the host's, a board would fail to start
    # on a KeyError instead of saying so.
    host = {k: v for k, v in GOOD.items() if k != "wifi"}
    host["board"] = "host"
    d = folder({"config.json": host, "ca.der": DER})
    try:
        startup.load(d + "/config.json")
    except ConfigError as e:
        assert any(p.startswith("board: 'host'") for p in e.problems), e.problems
        assert any(p.startswith("wifi: missing") for p in e.problems), e.problems
    else:
        raise AssertionError("a board took the host's config")


def test_a_pem_ca_is_refused_with_the_way_to_fix_it():
    d = folder({"config.json": GOOD, "ca.der": b"-----BEGIN CERTIFICATE-----\nMIIB\n"})
    try:
        startup.load(d + "/config.json")
    except ConfigError as e:
        assert "is PEM; the board needs DER" in e.problems[0]
    else:
        raise AssertionError("loaded a PEM CA")


def test_a_file_that_is_not_json_is_a_config_problem():
    d = folder({"config.json": b"{not json"})
    try:
        startup.load(d + "/config.json")
    except ConfigError as e:
        assert "not valid JSON" in e.problems[0]
    else:
        raise AssertionError("loaded garbage")


def test_an_absolute_ca_path_is_used_as_is():
    d = folder({"ca.der": DER})
    cfg = dict(GOOD, xmpp=dict(GOOD["xmpp"], ca=d + "/ca.der"))
    d2 = folder({"config.json": cfg})
    assert startup.load(d2 + "/config.json")[1] == DER


def test_safe_mode_from_the_config_or_the_button():
    assert startup.safe_mode(GOOD) is None
    assert "button" in startup.safe_mode(GOOD, button=True)
    assert "safe_mode" in startup.safe_mode(dict(GOOD, safe_mode=True))


class Pin:
    def __init__(self, *values):
        self.values = list(values)

    def value(self):
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_the_button_counts_as_held_only_if_pressed_for_the_whole_window():
    assert startup.held(Pin(0), gap_ms=1)
    assert not startup.held(Pin(1), gap_ms=1)
    assert not startup.held(Pin(0, 0, 1, 0, 0), gap_ms=1)  # a bounce is not a request


def test_the_boot_button_pin_follows_the_chip():
    assert startup.default_safe_pin("ESP32 module with ESP32") == 0
    assert startup.default_safe_pin("Generic ESP32S3 module with ESP32S3") == 0
    assert startup.default_safe_pin("ESP32C3 module with ESP32C3") == 9


def collect():
    lines = []
    return lines, lines.append


def test_prepare_prints_every_problem_and_starts_nothing():
    d = folder({"config.json": {"board": "esp32_devkitc"}})
    lines, out = collect()
    assert startup.prepare(d + "/config.json", object(), False, out) is None
    assert "xmpp: missing" in lines[0] and "wifi: missing" in lines[0]
    assert "nothing started" in lines[0]


def test_prepare_stops_in_safe_mode():
    d = folder({"config.json": dict(GOOD, safe_mode=True), "ca.der": DER})
    lines, out = collect()
    assert startup.prepare(d + "/config.json", object(), False, out) is None
    assert lines[0].startswith("safe mode: the config says")


def test_prepare_stops_when_the_button_is_held():
    d = folder({"config.json": GOOD, "ca.der": DER})
    lines, out = collect()
    assert startup.prepare(d + "/config.json", object(), True, out) is None
    assert "button" in lines[0]


def test_prepare_returns_the_config_when_all_is_well():
    d = folder({"config.json": GOOD, "ca.der": DER})
    lines, out = collect()
    cfg, ca = startup.prepare(d + "/config.json", object(), False, out)
    assert ca == DER and lines == []


def test_a_missing_config_file_is_reported():
    lines, out = collect()
    assert startup.prepare("/tmp/does-not-exist/config.json", object(), False, out) is None
    assert "cannot be read" in lines[0]


def test_a_der_file_too_short_for_a_certificate_is_refused():
    d = folder({"short.der": DER[:63]})
    der, problem = startup.read_ca(d + "/short.der")
    assert der is None and "not a DER certificate" in problem


def big_file(name, head, fill, size, tail=b""):
    # Written in pieces: a whole one would not fit the test's own heap.
    d = folder({})
    with open(d + "/" + name, "wb") as f:
        f.write(head)
        piece = fill * 1000
        for _ in range(size // len(piece)):
            f.write(piece)
        f.write(tail)
    return d


def test_a_ca_file_too_large_for_one_certificate_is_refused_without_reading_it_all():
    d = big_file("bundle.der", DER, b"\0", 200_000)  # a bundle copied by hand
    gc.collect()
    before = gc.mem_alloc()
    der, problem = startup.read_ca(d + "/bundle.der")
    assert der is None and "larger than 8192 bytes: not one DER certificate" in problem
    assert gc.mem_alloc() - before < 16_384  # 200 KB would not fit this test's heap anyway


def test_a_config_too_large_for_the_heap_is_a_config_problem_not_a_crash():
    d = big_file("config.json", b'{"allow": ["', b"a", 400_000, b'"]}')
    for _ in range(2):  # and once more: nothing of the first attempt is left to fail on
        try:
            startup.load(d + "/config.json")
        except ConfigError as e:
            assert e.problems == [d + "/config.json: too large for this board's memory"]
        else:
            raise AssertionError("loaded 400 KB into a 128 KB heap")


def test_the_c6_boot_button_is_gpio9():
    assert startup.default_safe_pin("ESP32C6 module with ESP32C6") == 9


def test_prepare_starts_nothing_without_a_board_definition():
    d = folder({"config.json": GOOD, "ca.der": DER})
    lines, out = collect()
    assert startup.prepare(d + "/config.json", None, False, out) is None
    assert any("no board definition" in line for line in lines), lines


def _heap():
    gc.collect()
    return gc.mem_alloc()


def test_the_config_checker_and_its_heap_go_once_the_board_starts():
    # Needed only to start: kept after, its code would take heap for the board's whole run.
    # This file's ConfigError holds the module; main() holds nothing of it (prepare, forget).
    d = folder({"config.json": GOOD, "ca.der": DER})
    checker = sys.modules["thing.config"]
    del sys.modules["thing.config"]  # a fresh copy, which only startup will hold
    base = _heap()
    assert startup.prepare(d + "/config.json", object(), False, collect()[1]) is not None
    loaded = _heap()
    assert "thing.config" in sys.modules
    startup.forget("thing.config")
    gone = _heap()
    sys.modules["thing.config"] = checker
    assert not hasattr(thing, "config")
    assert loaded - base > 4096, "the checker was not loaded afresh: %d" % (loaded - base)
    held = gone - base
    assert held < (loaded - base) // 8, "still held: %d of %d" % (held, loaded - base)


def test_forget_leaves_alone_what_is_not_loaded():
    startup.forget("thing.never_loaded")
    startup.forget("nopackage")
    assert "thing.never_loaded" not in sys.modules

# Config checks at their bounds, and the checks the main config tests do not reach.
from thing.config import check

GOOD = {
    "xmpp": {"jid": "dev@example.org", "password": "pw", "ca": "ca.der"},
    "allow": ["owner@example.org"],
    "board": "host",
}


def _with(**changes):
    cfg = {"xmpp": dict(GOOD["xmpp"]), "allow": list(GOOD["allow"]), "board": "host"}
    for k, v in changes.items():
        if k.startswith("x_"):
            cfg["xmpp"][k[2:]] = v
        else:
            cfg[k] = v
    return cfg


def _board(**changes):
    changes.setdefault("wifi", {"ssid": "home", "password": "secret-wifi"})
    return _with(board="esp32_devkitc", **changes)


def _one(problems, fragment):
    assert any(fragment in p for p in problems), problems


def test_a_configuration_that_is_not_an_object_is_one_problem():
    for cfg in ([], "x", None, 3):
        problems = check(cfg)
        assert problems == ["the configuration must be a JSON object"], (cfg, problems)


def test_a_section_that_is_not_an_object_is_reported():
    _one(check(_with(sensor=[])), "sensor: must be an object")
    _one(check(_with(xmpp="dev@example.org")), "xmpp: must be an object")


def test_null_values_count_as_absent():
    assert check(_with(x_port=None, x_resource=None)) == []
    problems = check(_with(x_jid=None))
    _one(problems, "xmpp.jid: missing")
    assert not any("must be a string" in p for p in problems), problems


def test_inclusive_bounds_of_numbers():
    assert check(_with(x_port=1, x_max_stanza=1024)) == []
    assert check(_with(x_port=65535, x_max_stanza=65536)) == []
    assert check(_with(sensor={"sessions": 32})) == []
    _one(check(_with(sensor={"sessions": 33})), "sensor.sessions: 33 is outside 1..32")
    assert check(_with(ntp={"period_s": 60})) == []
    _one(check(_with(ntp={"period_s": 59})), "ntp.period_s")


def test_direct_tls_needs_a_ca_too():
    cfg = _with(x_tls="direct")
    del cfg["xmpp"]["ca"]
    _one(check(cfg), "xmpp.ca: missing")


def test_a_resource_of_exactly_1023_bytes_is_accepted():
    assert check(_with(x_resource="r" * 1023)) == []
    _one(check(_with(x_resource="r" * 1024)), "xmpp.resource")


def test_the_fields_budget_leaves_512_bytes_of_the_output_buffer():
    assert check(_with(x_out_buffer=4096, sensor={"fields_budget": 3584})) == []
    _one(check(_with(x_out_buffer=4096, sensor={"fields_budget": 3585})), "fields_budget")


def test_the_fields_budget_follows_a_configured_stanza_size():
    # No out_buffer: it defaults to max_stanza + 1024, from the configured max_stanza.
    assert check(_with(x_max_stanza=16384, sensor={"fields_budget": 16384})) == []
    _one(check(_with(x_max_stanza=1024, sensor={"fields_budget": 2048})), "fields_budget")


def test_a_name_of_32_characters_is_accepted():
    assert check(_with(name="n" * 32)) == []


def test_the_board_must_be_a_non_empty_string():
    _one(check(_with(board=5)), "board: must be a board name")
    _one(check(_with(board="")), "board: must be a board name")


def test_a_config_checked_off_board_needs_no_wifi():
    cfg = _with(board="esp32_devkitc")
    _one(check(cfg), "wifi: missing")
    assert check(cfg, on_board=False) == []


def test_without_a_board_no_wifi_and_no_offline_limit_are_needed():
    cfg = _with(x_retry_permanent_s=86400)
    del cfg["board"]
    assert check(cfg) == []


def test_the_ssid_limit_counts_bytes():
    _one(check(_board(wifi={"ssid": "é" * 17})), "wifi.ssid: must be 1 to 32 bytes")
    assert check(_board(wifi={"ssid": "é" * 16})) == []


def test_a_wpa_password_of_63_characters_is_the_longest():
    assert check(_board(wifi={"ssid": "home", "password": "p" * 63})) == []
    _one(check(_board(wifi={"ssid": "home", "password": "p" * 64})), "8 to 63")


def test_watchdog_true_is_not_an_object():
    _one(check(_with(watchdog=True)), "watchdog: must be an object")


def test_led_pins_0_to_48_are_accepted():
    assert check(_with(led_pin=0)) == []
    assert check(_with(led_pin=48)) == []
    _one(check(_with(led_pin=49)), "led_pin")
    _one(check(_with(led_pin=-1)), "led_pin")


def test_safe_mode_must_be_a_boolean():
    assert check(_with(safe_mode=True)) == []
    _one(check(_with(safe_mode="yes")), "safe_mode: must be true or false")

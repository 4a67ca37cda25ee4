import scratch

from thing.config import ConfigError, check, load

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


def _one(problems, fragment):
    assert any(fragment in p for p in problems), problems


def test_a_complete_config_has_no_problems():
    assert check(_with()) == []


def test_every_problem_is_reported_at_once():
    problems = check({"xmpp": {"jid": "not a jid", "port": 0, "tls": "ssl"}, "allow": "x"})
    for fragment in ("xmpp.jid", "xmpp.password: missing", "xmpp.port", "xmpp.tls", "allow"):
        _one(problems, fragment)
    assert len(problems) >= 5


def test_missing_xmpp_section_is_named():
    _one(check({"board": "host"}), "xmpp: missing")


def test_a_full_jid_is_not_accepted_as_the_account():
    _one(check(_with(x_jid="dev@example.org/res")), "xmpp.jid")


def test_a_domain_without_a_local_part_is_not_an_account():
    # SASL would log in as "" and the server answer not-authorized, every retry_permanent_s.
    _one(check(_with(x_jid="example.org")), "xmpp.jid")


def test_a_resource_is_one_to_1023_bytes_without_slashes_or_control_characters():
    assert check(_with(x_resource="kitchen sensor é")) == []
    for bad in ("", "a/b", "tab\there", "bell\x07", "del\x7f", "é" * 512):
        _one(check(_with(x_resource=bad)), "xmpp.resource")


def test_the_name_is_a_host_name_sized_string():
    assert check(_with(name="kitchen-sensor")) == []
    for bad in ("", 42, "x" * 33, "a\nb"):
        _one(check(_with(name=bad)), "name: must be 1 to 32 bytes")


def test_the_name_limit_counts_bytes_as_the_esp32_port_does():
    # network.hostname() refuses a name longer than 32 bytes of UTF-8, whatever its length in
    # characters: 20 "é" are 40 bytes.
    _one(check(_with(name="é" * 20)), "name: must be 1 to 32 bytes")
    _one(check(_with(name="é" * 17)), "name: must be 1 to 32 bytes")
    assert check(_with(name="é" * 16)) == []


def test_tls_needs_a_ca_but_plain_does_not():
    cfg = _with()
    del cfg["xmpp"]["ca"]
    _one(check(cfg), "xmpp.ca: missing")
    cfg["xmpp"]["tls"] = "plain"
    assert check(cfg) == []


def test_numbers_must_be_whole_and_in_range():
    _one(check(_with(x_port="5222")), "xmpp.port: must be a whole number")
    _one(check(_with(x_port=True)), "xmpp.port: must be a whole number")
    _one(check(_with(x_max_stanza=100)), "outside 1024..65536")


def test_unknown_keys_are_reported():
    _one(check(_with(x_pasword="x")), "xmpp.pasword: unknown key")
    _one(check(_with(colour="red")), "colour: unknown key")


def test_allow_entries_must_be_bare_jids():
    _one(check(_with(allow=["a@b/c"])), "'a@b/c' is not a bare JID")
    _one(check(_with(allow=["@b"])), "'@b' is not a bare JID")
    _one(check(_with(allow=["a<b@example.org"])), "'a<b@example.org' is not a bare JID")
    _one(check(_with(allow=["a@example..org"])), "'a@example..org' is not a bare JID")


def test_jids_with_characters_xml_cannot_carry_are_refused():
    # The account goes into every stream header, unescaped by a server: one such character
    # and each login ends in not-well-formed. MicroPython's json makes "\ud800" a surrogate.
    import json

    for bad in ("dev\x01@example.org", "dev@exa\x1fmple.org", "d\x7fev@example.org"):
        _one(check(_with(x_jid=bad)), "xmpp.jid")
        _one(check(_with(allow=[bad])), "is not a bare JID")
    for escaped in ("d\\ufffeev@example.org", "d\\uffffev@example.org", "d\\ud800ev@example.org"):
        bad = json.loads('"%s"' % escaped)
        _one(check(_with(x_jid=bad)), "xmpp.jid")
        _one(check(_with(x_resource="r" + bad)), "xmpp.resource")
        _one(check(_with(name="n" + bad[:8])), "name: must be")
    assert check(_with(x_jid="dév@example.org", x_resource="salon ☀")) == []


def test_a_real_board_needs_wifi_the_host_does_not():
    _one(check(_with(board="esp32_devkitc")), "wifi: missing")
    assert (
        check(_with(board="esp32_devkitc", wifi={"ssid": "home", "password": "secret-pw"})) == []
    )
    assert check(_with()) == []


def test_sensor_section_is_checked():
    _one(check(_with(sensor={"sessions": 0})), "sensor.sessions")
    _one(check(_with(sensor={"colour": 1})), "sensor.colour: unknown key")


def test_load_reports_unreadable_and_invalid_files():
    try:
        load("/nonexistent/config.json")
    except ConfigError as e:
        assert "cannot be read" in str(e)
    else:
        raise AssertionError("expected ConfigError")
    with open(scratch.path("bad.json"), "w") as f:
        f.write("{not json")
    try:
        load(scratch.path("bad.json"))
    except ConfigError as e:
        assert "not valid JSON" in str(e)
    else:
        raise AssertionError("expected ConfigError")


def test_wifi_ssid_and_password_lengths_are_checked():
    board = {"board": "esp32_devkitc"}
    _one(check(_with(wifi={"ssid": ""}, **board)), "wifi.ssid: must be 1 to 32 bytes")
    _one(check(_with(wifi={"ssid": "x" * 33}, **board)), "wifi.ssid")
    _one(check(_with(wifi={"ssid": "home", "password": "short"}, **board)), "8 to 63")
    assert check(_with(wifi={"ssid": "open-cafe", "password": ""}, **board)) == []


def test_ntp_is_a_host_or_an_object():
    assert check(_with(ntp="time.example.org")) == []
    assert check(_with(ntp={"host": "t.example.org", "period_s": 600})) == []
    _one(check(_with(ntp="")), "ntp: empty")
    _one(check(_with(ntp={"period_s": 5})), "ntp.period_s")
    _one(check(_with(ntp={"server": "x"})), "ntp.server: unknown key")


def test_watchdog_is_false_or_an_object():
    assert check(_with(watchdog=False)) == []
    assert check(_with(watchdog={"timeout_s": 30})) == []
    _one(check(_with(watchdog={"timeout_s": 1})), "watchdog.timeout_s")
    _one(check(_with(watchdog={"enabled": "yes"})), "watchdog.enabled: must be true or false")


def test_the_watchdog_outlasts_the_blocking_calls():
    _one(check(_with(watchdog={"timeout_s": 10})), "watchdog.timeout_s")  # below 20
    bad = _with(watchdog={"timeout_s": 25}, ntp={"timeout_s": 10})
    _one(check(bad), "at least 3 times ntp.timeout_s")
    assert check(_with(watchdog={"timeout_s": 30}, ntp={"timeout_s": 10})) == []


def test_documented_board_keys_are_accepted_and_checked():
    assert check(_with(led_pin=38, soft_i2c=True)) == []
    _one(check(_with(led_pin="38")), "led_pin")
    _one(check(_with(soft_i2c="yes")), "soft_i2c")


def test_a_password_of_the_wrong_type_is_not_echoed():
    problems = check(_with(x_password=12345678))
    _one(problems, "xmpp.password: must be a string")
    assert not any("12345678" in p for p in problems)


def test_the_fields_budget_is_checked_against_the_default_output_buffer_too():
    _one(check(_with(sensor={"fields_budget": 16384})), "sensor.fields_budget")
    assert check(_with(sensor={"fields_budget": 4096})) == []


def _board(**changes):
    changes.setdefault("wifi", {"ssid": "home", "password": "secret-wifi"})
    return _with(board="esp32_devkitc", **changes)


def test_the_watchdog_outlasts_the_clients_longest_wait_before_a_retry():
    # Offline longer than offline_s resets the board, and the client then tries at once: a
    # shorter offline_s would undo the wait that keeps a misconfigured board (wrong password)
    # from hammering its server.
    assert check(_board()) == []
    _one(check(_board(watchdog={"offline_s": 300})), "watchdog.offline_s")  # 600 s by default
    _one(check(_board(x_retry_permanent_s=3600)), "watchdog.offline_s")  # 1800 s by default
    _one(check(_board(watchdog={"offline_s": 900}, x_backoff_cap_s=900)), "watchdog.offline_s")
    assert check(_board(watchdog={"offline_s": 300}, x_retry_permanent_s=120)) == []
    assert check(_board(watchdog=False, x_retry_permanent_s=86400)) == []
    assert check(_board(watchdog={"enabled": False}, x_retry_permanent_s=86400)) == []
    assert check(_with(x_retry_permanent_s=86400)) == []  # the host board has no watchdog


def test_a_broken_xmpp_section_is_listed_once_not_judged_against_the_watchdog():
    # The offline check reads the client's own waits: a section the client could not read
    # has its own problems listed, and no second, confused one.
    for key, bad in (("retry_permanent_s", "long"), ("backoff_cap_s", [1]), ("jid", 5)):
        problems = check(_board(**{"x_" + key: bad}))
        _one(problems, "xmpp." + key)
        assert not any("offline_s" in p for p in problems), problems
    cfg = _board()
    del cfg["xmpp"]["password"]
    problems = check(cfg)
    _one(problems, "xmpp.password")
    assert not any("offline_s" in p for p in problems), problems


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


def test_null_tls_allow_and_log_take_their_defaults():
    assert check(_with(x_tls=None, allow=None, log=None)) == []


def test_null_values_are_judged_by_their_defaults_in_the_cross_checks():
    # Each null is read as its default, which these combinations do not allow.
    _one(check(_with(x_out_buffer=1024, sensor={"fields_budget": None})), "fields_budget")
    _one(check(_board(watchdog={"enabled": None, "offline_s": 300})), "watchdog.offline_s")
    _one(check(_board(watchdog={"offline_s": None}, x_retry_permanent_s=3600)), "offline_s")
    _one(check(_board(watchdog={"offline_s": 300}, x_retry_permanent_s=None)), "offline_s")
    _one(check(_board(xmpp=None)), "xmpp: missing")


def test_inclusive_bounds_of_numbers():
    assert check(_with(x_port=1, x_max_stanza=1024)) == []
    assert check(_with(x_port=65535, x_max_stanza=65536)) == []
    assert check(_with(sensor={"sessions": 32})) == []
    _one(check(_with(sensor={"sessions": 33})), "sensor.sessions: 33 is outside 1..32")
    # Shorter than a BH1750's conversion at MTreg 254 (664 ms): it would time out each time.
    _one(check(_with(sensor={"comm_timeout_ms": 999})), "sensor.comm_timeout_ms: 999 is outside")
    assert check(_with(sensor={"comm_timeout_ms": 1000})) == []
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


def test_a_small_output_buffer_is_checked_against_the_default_fields_budget():
    # Unset, the budget is 1536 bytes: an output buffer under 2048 could not send a readout.
    problems = check(_with(x_out_buffer=1024))
    _one(problems, "sensor.fields_budget")
    _one(problems, "1536")
    assert check(_with(x_out_buffer=2048)) == []
    assert check(_with(x_out_buffer=1024, sensor={"fields_budget": 512})) == []


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


def test_on_the_host_no_wifi_and_no_offline_limit_are_needed():
    cfg = _with(x_retry_permanent_s=86400)
    assert check(cfg) == []
    del cfg["board"]
    assert check(cfg, on_board=False) == []
    assert "wifi: missing" in check(cfg)[0]


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


def test_the_bus_scan_and_mcu_switches_must_be_booleans():
    # The boards read them as truth values: "false", or "off", would scan and keep the node.
    assert check(_with(detect=False, mcu=True)) == []
    _one(check(_with(detect="false")), "detect: must be true or false")
    _one(check(_with(mcu="off")), "mcu: must be true or false")


def test_an_empty_ca_name_is_missing_when_tls_is_on():
    # startup skips an empty name, and the client would then fail every TLS connection with a
    # TypeError (no CA to verify against) instead of the board saying what to fix.
    _one(check(_with(x_ca="")), "xmpp.ca: missing")
    assert check(_with(x_ca="", x_tls="plain")) == []


def test_watchdog_zero_is_neither_false_nor_an_object():
    # 0 == False in Python: it passed the check, and the firmware then armed the watchdog.
    _one(check(_with(watchdog=0)), "watchdog: must be an object")


def test_an_empty_ntp_host_is_refused_in_the_object_form_too():
    _one(check(_with(ntp={"host": ""})), "ntp.host: empty")


def test_adc_channels_must_be_a_list_of_objects_with_a_gpio_number():
    # The boards read entry["pin"] (the ESP32-S3 and C3 already for their LED, outside the
    # start-up's guard): a malformed entry was a KeyError or TypeError traceback at boot.
    for bad in ([{"gpio": 3}], {"pin": 3}, [3], [{"pin": "3"}], [{"pin": True}]):
        _one(check(_with(adc=bad)), "adc: ")
    assert check(_with(adc=[{"pin": 3, "atten": "11dB"}])) == []
    assert check(_with(adc=[])) == []


def test_sensor_entries_must_be_objects_with_an_address():
    for bad in ([{"type": "sht4x"}], {"address": "0x44"}, ["0x44"]):
        _one(check(_with(sensors=bad)), "sensors: ")
    assert check(_with(sensors=[{"address": "0x44", "type": "sht4x"}])) == []


def test_a_config_that_names_no_board_needs_wifi_on_a_board():
    # On an ESP32 the firmware joins WiFi whatever "board" says: without the section it
    # stopped with "cannot start: KeyError('wifi',)". Only "host" runs without one.
    cfg = _with()
    del cfg["board"]
    _one(check(cfg), "wifi: missing")
    assert check(cfg, on_board=False) == []
    assert check(_with()) == []


def test_an_empty_password_is_refused():
    _one(check(_with(x_password="")), "xmpp.password: empty")


def test_a_boards_pin_check_lists_every_refusal_in_one_error():
    # tools/deploy.py runs it beside check(): one run lists every pin problem with the rest.
    import sys

    from drivers.errors import ConfigError as BoardConfigError

    sys.path.insert(0, "boards/esp32_devkitc")
    import board

    cfg = _board(adc=[{"pin": 25}, {"pin": 21}, {"pin": "34"}, 7], led_pin=6)
    try:
        board.check(cfg)
    except BoardConfigError as e:
        refusals = e.args
    else:
        raise AssertionError("accepted")
    assert len(refusals) == 3, refusals
    assert "GPIO25 is on ADC2" in refusals[0]
    assert "GPIO21 is not an ADC1 pin" in refusals[1]
    assert refusals[2] == "led_pin: GPIO6 is the SPI flash on this board; use another pin"
    # The entries it passes over are check()'s to report.
    _one(check(cfg), "adc: entry 3, pin: must be a whole number")
    _one(check(cfg), "adc: entry 4: must be an object")
    try:
        board.check(_board(adc=[{"pin": 25}]))
    except BoardConfigError as e:
        assert str(e).startswith("GPIO25 is on ADC2"), e  # one refusal reads as before
    else:
        raise AssertionError("accepted")


def test_a_jid_with_a_port_is_refused_with_where_the_port_goes():
    cfg = {"xmpp": {"jid": "thing1@example.org:5222", "password": "pw", "tls": "plain"}}
    problems = check(cfg, on_board=False)
    assert any("xmpp.jid" in p and "xmpp.port" in p for p in problems), problems

"""XEP-0323 between slixmpp 1.17 (the reference requester) and the host board, over Prosody."""

import time

import pytest
from hostboard import board_config
from sdrequester import SDRequester, fields_of

ONLINE = r"online as (\S+)"


@pytest.fixture
def device(prosody, board):
    """The firmware on the host board (five simulated nodes), online; returns (board, jid)."""

    def start(**sensor):
        cfg = board_config(prosody)
        if sensor:
            cfg["sensor"] = sensor
        fw = board(cfg)
        return fw, fw.wait_log(ONLINE).group(1)

    return start


def _results(rs):
    return [r for r, _ in rs]


def test_all_nodes_answer_with_accepted_fields_and_done(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, flags={"momentary": "true"}))
    assert _results(rs)[0] == "accepted" and _results(rs)[-1] == "done"
    nodes = {info["node"] for r, info in rs if r == "fields"}
    assert {"bme280-76", "sht4x-44", "bh1750-23"} <= nodes
    f = fields_of(rs)[("bme280-76", "Temperature")]
    assert f["typename"] == "numeric" and f["unit"] == "°C"
    assert f["flags"].get("momentary") == "true"
    assert f["flags"].get("automaticReadout") == "true"


def test_a_node_subset_limits_the_readout(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, nodeIds=["sht4x-44"]))
    assert {info["node"] for r, info in rs if r == "fields"} == {"sht4x-44"}


def test_a_field_subset_limits_the_readout(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, fields=["Humidity"], flags={"momentary": "true"}))
    names = {name for (_, name) in fields_of(rs)}
    assert names == {"Humidity"}


@pytest.mark.parametrize(
    "flag, node", [("momentary", "bme280-76"), ("identity", "bme280-76"), ("status", "bh1750-23")]
)
def test_each_type_flag_selects_fields_of_that_type(prosody, clients, device, flag, node):
    fw, me = device()
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, nodeIds=[node], flags={flag: "true"}))
    fields = fields_of(rs)
    assert fields, rs
    assert all(f["flags"].get(flag) == "true" for f in fields.values())


def test_historical_with_from_and_to(prosody, clients, device):
    fw, me = device(sample_s=1, history=8)
    req = SDRequester(clients, prosody)
    # Asked again until the sampler has taken two samples: a loaded host may take its time.
    deadline = time.monotonic() + 60
    while True:
        now = time.time()
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60))
        flags = {"historical": "true", "from": start, "to": end}
        rs = req.wait(req.request(me, nodeIds=["bme280-76"], flags=flags))
        stamps = {info["timestamp"] for r, info in rs if r == "fields"}
        if len(stamps) >= 2 or time.monotonic() > deadline:
            break
        req.settle(0.5)
    assert len(stamps) >= 2, rs
    # Each sample is flagged by the shift its time lies on (XEP-0323 "Field Types").
    for ts, fields in [(i["timestamp"], i["fields"]) for r, i in rs if r == "fields"]:
        shift = "historicalSecond" if ts[17:19] != "00" else "historicalMinute"
        if ts[14:19] == "00:00":
            shift = "historicalHour" if ts[11:13] != "00" else "historicalDay"
        for f in fields:
            assert f["flags"].get(shift) == "true", (ts, f)


def test_a_future_when_is_queued_started_then_done(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    # Far enough ahead to be queued still when a loaded host delivers the request.
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    rs = req.wait(req.request(me, flags={"momentary": "true", "when": when}), timeout=60)
    assert _results(rs)[:2] == ["queued", "started"]
    assert _results(rs)[-1] == "done"


def test_cancel_while_queued(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30))
    seqnr = req.request(me, flags={"momentary": "true", "when": when})
    req.wait(seqnr, until=("queued",))
    req.cancel(seqnr)
    rs = req.wait(seqnr)
    assert _results(rs) == ["queued", "cancelled"]
    fw.wait_log(r"cancelled .* seqnr=%s" % seqnr)


def test_unknown_node_is_rejected(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, nodeIds=["nope"]))
    assert _results(rs) == ["rejected"]
    assert "nope" in rs[0][1]["error"]


def test_unknown_field_is_rejected(prosody, clients, device):
    fw, me = device()
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, fields=["Colour"]))
    assert _results(rs) == ["rejected"]


def test_more_than_16_field_names_are_rejected_with_bad_request_as_documented(
    prosody, clients, device
):
    # XEP-0323 calls <field> a hint; slixmpp's sensor takes any number. Ours bounds the
    # request it keeps (README, "XEP-0323 on the wire"): the 17th name is refused, not ignored.
    fw, me = device()
    req = SDRequester(clients, prosody)
    names = ["Temperature"] + ["F%d" % i for i in range(16)]
    rs = req.wait(req.request(me, fields=names))
    assert _results(rs) == ["rejected"] and "at most 16" in rs[0][1]["error"], rs
    rs = req.wait(req.request(me, fields=names[:16], flags={"momentary": "true"}))
    assert _results(rs)[-1] == "done"


def test_unauthorized_jid_is_rejected(prosody, clients, device):
    prosody.register("stranger", "stranger-secret")
    fw, me = device()
    req = SDRequester(clients, prosody, "stranger")
    rs = req.wait(req.request(me))
    assert _results(rs) == ["rejected"]
    assert rs[0][1]["error"] == "Access denied"


def test_queued_requests_over_half_the_table_are_rejected_and_everyone_answered_once(
    prosody, clients, board
):
    # Requests queued with `when` hold at most half the table (the full table's overflow,
    # with readouts, is the flood test's).
    users = ["r%d" % i for i in range(3)]
    for u in users:
        prosody.register(u, u + "-secret")
    cfg = board_config(prosody, allow=users)
    cfg["sensor"] = {"sessions": 4}
    fw = board(cfg)
    me = fw.wait_log(ONLINE).group(1)
    reqs = [SDRequester(clients, prosody, u) for u in users]
    # Far enough ahead for all six to be queued still when a loaded host delivers them.
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 8))
    sent = [
        (r, r.request(me, flags={"momentary": "true", "when": when}))
        for r in reqs
        for _ in range(2)
    ]
    for r, seqnr in sent:
        r.wait(seqnr, timeout=60)
    finals = [_results(r.results[s])[-1] for r, s in sent]
    assert finals.count("done") == 2
    assert finals.count("rejected") == 4
    for r, s in sent:
        assert sum(x in ("done", "rejected") for x in _results(r.results[s])) == 1
    assert fw.wait_count("queued requests at their limit", 4) == 4


def test_several_fields_messages_for_a_big_readout(prosody, clients, device):
    fw, me = device(fields_budget=256)
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, flags={"all": "true"}))
    assert _results(rs)[-1] == "done"
    assert len({info["node"] for r, info in rs if r == "fields"}) >= 5


def test_cancel_while_reading(prosody, clients, board):
    # At its largest MTreg a BH1750 takes ~660 ms per high-resolution conversion; two of them,
    # read one after the other, give the cancel ~1.3 s to arrive mid-readout, also through a
    # loaded host.
    cfg = board_config(prosody)
    cfg["sim"] = {"bh1750-5c": {}}
    cfg["sensors"] = [
        {"type": "bh1750", "address": "0x23", "mtreg": 254},
        {"type": "bh1750", "address": "0x5c", "mtreg": 254},
    ]
    # No history sampler: its readout at start (a request could join it) ends too soon.
    cfg["sensor"] = {"history": 0}
    fw = board(cfg)
    me = fw.wait_log(ONLINE).group(1)
    req = SDRequester(clients, prosody)
    slow = ["bh1750-23", "bh1750-5c"]
    seqnr = req.request(me, nodeIds=slow, flags={"momentary": "true"})
    req.wait(seqnr, until=("accepted",))
    req.cancel(seqnr)
    rs = req.wait(seqnr)
    assert _results(rs) == ["accepted", "cancelled"], rs
    req.settle(1.5)  # past both conversions: nothing may follow a confirmed cancel
    assert _results(req.results[seqnr]) == ["accepted", "cancelled"]


def test_the_slowest_conversion_fits_the_shortest_readout_timeout(prosody, clients, board):
    # A BH1750 at its largest MTreg converts for ~660 ms; comm_timeout_ms cannot be set below
    # a second, so a working part never times out (a node that does fails alone: test_node).
    cfg = board_config(prosody)
    cfg["sensors"] = [{"type": "bh1750", "address": "0x23", "mtreg": 254}]
    cfg["sensor"] = {"comm_timeout_ms": 1000}
    fw = board(cfg)
    me = fw.wait_log(ONLINE).group(1)
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, flags={"momentary": "true"}))
    kinds = _results(rs)
    assert kinds[0] == "accepted" and kinds[-1] == "done" and "failure" not in kinds, rs
    nodes = {info["node"] for r, info in rs if r == "fields"}
    assert {"bh1750-23", "bme280-76", "sht4x-44"} <= nodes


def test_an_unplugged_sensor_fails_its_node_only(prosody, clients, board):
    cfg = board_config(prosody)
    cfg["sim"] = {"sht4x-44": {"present": False}}
    cfg["detect"] = False
    cfg["sensors"] = [{"type": "sht4x", "address": 0x44}, {"type": "bme280", "address": 0x76}]
    fw = board(cfg)
    me = fw.wait_log(ONLINE).group(1)
    req = SDRequester(clients, prosody)
    rs = req.wait(req.request(me, flags={"momentary": "true"}))
    assert _results(rs)[-1] == "failure"
    assert rs[-1][1]["node"] == "sht4x-44"
    assert "bme280-76" in {info["node"] for r, info in rs if r == "fields"}


def test_configured_physical_values_travel_through_the_real_drivers(prosody, clients, board):
    cfg = board_config(prosody)
    cfg["sim"] = {
        "bme280-76": {"temperature": 23.45, "humidity": 51.5, "pressure": 987.65},
        "sht4x-44": {"temperature": -4.2, "humidity": 88.0},
        "bh1750-23": {"illuminance": 1234},
    }
    fw = board(cfg)
    me = fw.wait_log(ONLINE).group(1)
    req = SDRequester(clients, prosody)
    f = fields_of(req.wait(req.request(me, flags={"momentary": "true"})))

    def value(node, name):
        return float(f[(node, name)]["value"])

    assert abs(value("bme280-76", "Temperature") - 23.45) <= 0.01
    assert abs(value("bme280-76", "Humidity") - 51.5) <= 0.1
    assert abs(value("bme280-76", "Pressure") - 987.65) <= 0.02
    assert abs(value("sht4x-44", "Temperature") - -4.2) <= 0.02
    assert abs(value("sht4x-44", "Humidity") - 88.0) <= 0.05
    assert abs(value("bh1750-23", "Illuminance") - 1234) <= 1.0
    assert f[("bme280-76", "Pressure")]["unit"] == "hPa"

# MicroPython: a board reading another thing with the XEP-0323 requester role.
# Usage: micropython mp_requester.py REQUESTER.json TARGET_FULL_JID [SENSOR.json] [NODE...]
# With SENSOR.json, a second board (the sensor, with the host board's nodes) runs in the
# same process: two things, one interpreter, no shared state.
# Prints one line per callback: RESULT {json}; exits after the final result.
import json
import sys

_root = __file__.rpartition("/")[0].rpartition("/")[0].rpartition("/")[0] or "."
sys.path[:0] = [_root + "/lib", _root + "/boards/host"]

import asyncio  # noqa: E402

from thing import app, config  # noqa: E402


def _load(path):
    cfg = config.load(path, on_board=False)
    ca = cfg["xmpp"].get("ca")
    return cfg, app.read_file(ca) if ca else None


async def main(req_path, target, sensor_path, nodes):
    cfg, ca = _load(req_path)
    things = []
    if sensor_path:
        import board

        scfg, sca = _load(sensor_path)
        sensor = app.Thing(scfg, board.nodes(scfg), sca)
        things.append(sensor)
        asyncio.create_task(sensor.run())
        await sensor.client.online.wait()
        if target == "-":
            target = sensor.client.full_jid
    me = app.Thing(cfg, [], ca)
    things.append(me)
    asyncio.create_task(me.run())
    await me.client.online.wait()
    done = asyncio.Event()

    def cb(session, result, node_id=None, timestamp=None, fields=None, error_msg=None):
        out = {"result": result, "node": node_id, "timestamp": timestamp, "error": error_msg}
        if fields:
            out["fields"] = [list(f) for f in fields]
        print("RESULT " + json.dumps(out))
        if session.state == "ended":  # a failure of one node of several is not the end
            done.set()

    s = me.requester.request_data(target, cb, node_ids=nodes or None, flags=("momentary",))
    await asyncio.wait_for_ms(done.wait(), 20_000)
    print("SESSIONS-IN-USE %d" % me.requester.table.in_use())
    for t in things:
        t.stop()
    await asyncio.sleep_ms(50)
    return s


asyncio.run(
    main(
        sys.argv[1],
        sys.argv[2],
        sys.argv[3] if len(sys.argv) > 3 and sys.argv[3].endswith(".json") else None,
        [a for a in sys.argv[3:] if not a.endswith(".json")],
    )
)

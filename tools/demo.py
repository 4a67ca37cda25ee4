"""`make demo`: the whole stack on this machine, with nothing but Debian's Prosody.

Starts a private Prosody on loopback (throwaway CA, random port, two accounts), runs the
firmware on the simulated host board under the MicroPython unix port, reads it once with
`tools/query` (XEP-0323, slixmpp) and once with a chat command, prints both, and stops
everything it started, also on Ctrl-C, SIGTERM or a closed terminal (SIGHUP).

--keep leaves the board and Prosody running until Ctrl-C and prints how to reach them: the
tools/query command line, and the account an XMPP client can log in with.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

from hostboard import HostBoard, board_config  # noqa: E402
from localxmpp import Prosody  # noqa: E402
from localxmpp.client import ClientLoop  # noqa: E402

ACCOUNTS = {"sensor": "sensor-demo-pw", "owner": "owner-demo-pw"}
SIM = {
    "bme280-76": {"temperature": 22.5, "humidity": 41.0, "pressure": 1008.4},
    "sht4x-44": {"temperature": 22.4, "humidity": 40.5},
    "bh1750-23": {"illuminance": 320.0},
}


def say(text):
    print(text, flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true",
                    help="leave the board and Prosody running until Ctrl-C")  # fmt: skip
    args = ap.parse_args(argv)
    # Stopped another way than Ctrl-C, the demo cleans up all the same: the board, Prosody
    # and the temporary folders would otherwise outlive it.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:  # nohup's SIG_IGN stays
            signal.signal(sig, _interrupt)
    # The board's files; removed on the way out, also on Ctrl-C or an error.
    with tempfile.TemporaryDirectory(prefix="xmpp-sensor-demo-") as work:
        return demo(Path(work), args.keep)


def demo(work, keep=False):
    say("1. starting a private Prosody on 127.0.0.1 (throwaway CA, random port)")
    with Prosody() as server:
        server.register_all(ACCOUNTS)
        server.start()
        say("   Prosody %s listening on port %d" % (server.domain, server.port))
        cfg = board_config(server, "sensor", allow=("owner",))
        cfg["sim"] = SIM
        cfg["name"] = "demo board"
        fw = HostBoard(cfg, work / "board")
        say(
            "2. running the firmware on the simulated host board (its config: %s)" % fw.config_path
        )
        fw.start()
        try:
            me = fw.wait_log(r"online as (\S+)", timeout=30).group(1)
            say("   the board is online as %s" % me)
            say("3. reading it with tools/query (XEP-0323, slixmpp requester):\n")
            env = dict(os.environ, QUERY_PASSWORD=ACCOUNTS["owner"])
            query = subprocess.run(
                [
                    str(TOOLS / "query"),
                    me,
                    "--all",
                    "--jid",
                    server.jid("owner"),
                    "--server",
                    "127.0.0.1:%d" % server.port,
                    "--ca",
                    str(server.ca_pem_path),
                ],
                env=env,
                text=True,
                capture_output=True,
                timeout=60,
            )
            say(query.stdout.rstrip())
            if query.returncode:
                say(query.stderr.rstrip())
                raise SystemExit("tools/query failed (exit %d)" % query.returncode)
            say("\n4. asking it by chat, as a person would from their phone: 'read'\n")
            with ClientLoop() as clients:
                owner = clients.connect(server, "owner", resource="phone")
                owner.send_message(me, "read")
                answer = owner.wait_message(lambda m: m["body"], timeout=15)
                say(answer["body"])
            say("\ndemo finished: the board answered over XEP-0323 and over chat.")
            if keep:
                stay(server, fw, me)
            else:
                say("(to try tools/query and chat commands yourself: %s %s --keep)"
                    % (os.path.relpath(sys.executable), os.path.relpath(__file__)))  # fmt: skip
        finally:
            fw.stop()
    return 0


def stay(server, fw, me):
    """Until Ctrl-C: the board and Prosody stay up, for tools/query and XMPP clients."""
    say(
        "\nThe board and Prosody keep running until Ctrl-C. From another terminal:\n\n"
        "  QUERY_PASSWORD=%s %s %s --jid %s --server 127.0.0.1:%d --ca %s\n\n"
        "(then --json, --node bme280-76, --field Temperature, --history...). In an XMPP\n"
        "client, log in as %s (password %s, server 127.0.0.1, port %d, the CA\n"
        "above) and chat help, nodes, read or status to %s, or run its\n"
        'ad-hoc command "Read sensors". The board\'s log follows (a second board on the same\n'
        "account would take its place: the server ends the older session with a conflict)."
        % (
            ACCOUNTS["owner"], TOOLS / "query", me, server.jid("owner"), server.port,
            server.ca_pem_path, server.jid("owner"), ACCOUNTS["owner"], server.port, me,
        )
    )  # fmt: skip
    shown = len(fw.lines)
    try:
        while fw.alive():
            time.sleep(0.5)
            new = fw.lines[shown:]  # the pump thread may append meanwhile: counted as taken
            shown += len(new)
            for line in new:
                say("  board| " + line)
    except KeyboardInterrupt:
        say("\nstopping the board and Prosody")
        return
    raise SystemExit("the board stopped:\n%s" % fw.log[-3000:])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped")
        sys.exit(130)

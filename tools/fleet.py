"""A fleet of simulated boards against one XMPP server, polled by one XEP-0323 requester.

    python tools/fleet.py                                  # both servers, growing fleets
    python tools/fleet.py --server prosody --sizes 100,500 --per-process 50 --rounds 3

Boards are `thing.app.Thing`s, `--per-process` of them in each MicroPython process
(tools/fleet_mp.py), each with its own account, connection and two small nodes; one of
them answers the board's own index, so every answer is checked to come from the board that
was asked. A slixmpp requester polls every board `--rounds` times, `--window` requests in
flight at once. Sizes are tried in order; the run reports, per server, the largest fleet
served with zero lost answers and its round trip (p50, p99). Exits 1 if the smallest size
already lost answers.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from sdrequester import FINAL, SDRequester  # noqa: E402

# Light boards: small buffers, quiet logs, quick to come back.
FLEET_XMPP = {
    "out_buffer": 2048,
    "max_stanza": 2048,
    "read_chunk": 256,
    "backoff_base_s": 1,
    "backoff_cap_s": 10,
    "login_timeout_s": 60,
    "connect_timeout_s": 30,
}
_LINE = re.compile(r"FLEET online=(\d+) of (\d+) heap=(\d+)")


class FleetProcess:
    """One MicroPython process running a slice of the fleet."""

    def __init__(self, cfg_path, heap):
        mp = ROOT / ".venv" / "bin" / "micropython"
        self.proc = subprocess.Popen(
            [str(mp), "-X", "heapsize=" + heap, str(TOOLS / "fleet_mp.py"), str(cfg_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, MICROPYPATH=".frozen"),
            cwd=ROOT,
        )
        self.online = 0
        self.boards = None  # how many boards this process runs, from its FLEET lines
        self.heap = None
        self.heap_built = None
        self.heaps = []  # heap in use, once a second, while the whole slice is online
        self.other = []  # every other line: board warnings, tracebacks
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            m = _LINE.match(line)
            if m:
                self.online, self.heap = int(m.group(1)), int(m.group(3))
                self.boards = int(m.group(2))
                if self.online == self.boards:
                    self.heaps.append(self.heap)
            elif line.startswith("FLEET built"):
                self.heap_built = int(line.rsplit("=", 1)[1])
            else:
                self.other.append(line)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def account(i):
    return "b%04d" % i, "board-%04d-secret" % i


def start_fleet(server, n, per_process, workdir, heap="8m", xmpp=None):
    """Start `n` boards, `per_process` per MicroPython process; the FleetProcesses."""
    common = dict(FLEET_XMPP, host="127.0.0.1", port=server.port, **(xmpp or {}))
    procs = []
    for first in range(0, n, per_process):
        boards = []
        for i in range(first, min(n, first + per_process)):
            user, password = account(i)
            boards.append({"jid": server.jid(user), "password": password, "index": i})
        path = Path(workdir) / ("fleet%03d.json" % (first // per_process))
        path.write_text(
            json.dumps(
                {
                    "ca": str(server.ca_der_path),
                    "allow": [server.jid("poller")],
                    "xmpp": common,
                    "boards": boards,
                    "stagger_ms": 20,
                }
            )
        )
        procs.append(FleetProcess(path, heap))
    return procs


def wait_online(procs, n, timeout):
    """Seconds until all `n` boards are online; TimeoutError (with the count) otherwise."""
    t0 = time.monotonic()
    while sum(p.online for p in procs) < n:
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(
                "%d of %d boards online after %.0f s" % (sum(p.online for p in procs), n, timeout)
            )
        dead = [p for p in procs if not p.alive()]
        if dead:
            time.sleep(0.5)  # let its last output reach the pump thread
            raise RuntimeError(
                "a fleet process died (exit %s):\n%s"
                % (dead[0].proc.returncode, "\n".join(dead[0].other[-30:]))
            )
        time.sleep(0.2)
    return time.monotonic() - t0


def poll(clients, requester, targets, rounds=1, window=50, timeout=30.0):
    """Ask every (index, full JID) in `targets` for a readout, `rounds` times; figures."""
    out = {"asked": 0, "answered": 0, "wrong_board": 0, "failed": 0, "rejected": 0}
    out["lost"] = 0
    rtts = []

    async def run():
        queue = [t for _ in range(rounds) for t in targets]
        inflight = {}  # seqnr -> (index, sent)
        while queue or inflight:
            while queue and len(inflight) < window:
                index, jid = queue.pop(0)
                seqnr = requester.request(jid, flags={"momentary": "true", "identity": "true"})
                inflight[seqnr] = (index, time.perf_counter())
                out["asked"] += 1
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            for seqnr, (index, sent) in list(inflight.items()):
                results = requester.results.get(seqnr, ())
                final = [r for r, _ in results if r in FINAL]
                if final:
                    del inflight[seqnr]
                    if final[0] == "done":
                        out["answered"] += 1
                        rtts.append(requester.times[seqnr] - sent)
                        if _board_of(results) != index:
                            out["wrong_board"] += 1
                    elif final[0] == "rejected":
                        out["rejected"] += 1
                    else:
                        out["failed"] += 1
                elif now - sent > timeout:
                    del inflight[seqnr]
                    out["lost"] += 1

    t0 = time.perf_counter()
    clients.loop.run_until_complete(run())
    elapsed = time.perf_counter() - t0
    # A second final answer never reaches slixmpp's callback: count the stanzas, once the
    # last answers have had a moment to be followed by a duplicate.
    clients.loop.run_until_complete(asyncio.sleep(0.2))
    out["twice"] = sum(1 for n in requester.finals_seen.values() if n > 1)
    out["seconds"] = round(elapsed, 1)
    # Readouts served per second of polling, from the unrounded duration.
    out["per_second"] = round(out["answered"] / max(elapsed, 1e-3), 1)
    rtts.sort()
    out["rtt_p50_ms"] = _pct_ms(rtts, 50)
    out["rtt_p99_ms"] = _pct_ms(rtts, 99)
    out["rtt_max_ms"] = _pct_ms(rtts, 100)
    return out


def fleet_problems(f):
    """Why a polled fleet does not count as served with zero lost answers ([] if it does):
    every request must end in data from the board that was asked."""
    p = []
    if f["answered"] != f["asked"]:
        p.append(
            "%d of %d readouts answered: %d lost, %d failed, %d rejected"
            % (f["answered"], f["asked"], f["lost"], f["failed"], f["rejected"])
        )
    if f["twice"]:
        p.append("%d readouts answered more than once" % f["twice"])
    if f["wrong_board"]:
        p.append("%d answers from the wrong board" % f["wrong_board"])
    if not f["alive"]:
        p.append("a fleet process died")
    return p


def _board_of(results):
    for r, info in results:
        if r == "fields" and info["node"] == "id":
            for f in info["fields"]:
                if f["name"] == "Board":
                    return int(f["value"])
    return None


def _pct_ms(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return round(sorted_values[i] * 1000, 1)


def run_fleet(server, clients, n, per_process, workdir, rounds=1, window=50,
              online_timeout=None, say=print):  # fmt: skip
    """Accounts, `n` boards online, every board polled; figures (raises if not all online)."""
    accounts = dict(account(i) for i in range(n))
    accounts["poller"] = "poller-secret"
    server.register_all({u: p for u, p in accounts.items() if u not in server.accounts})
    procs = start_fleet(server, n, per_process, workdir)
    try:
        up = wait_online(procs, n, online_timeout or max(60.0, n * 0.25))
        say("  %d boards online in %.1f s" % (n, up))
        requester = SDRequester(clients, server, "poller")
        targets = [(i, "%s/sensor" % server.jid(account(i)[0])) for i in range(n)]
        figures = {"boards": n, "processes": len(procs), "online_s": round(up, 1)}
        figures.update(poll(clients, requester, targets, rounds, window))
        time.sleep(1.1)  # one more heap line from every process
        heaps = [(p.heaps[-1], p.boards) for p in procs if p.heaps]
        figures["heap_per_process"] = max(h for h, _ in heaps) if heaps else None
        # Each process by its own board count: the last one (or a fleet smaller than
        # per_process) runs fewer than per_process.
        figures["heap_per_board"] = max(h // b for h, b in heaps) if heaps else None
        figures["alive"] = all(p.alive() for p in procs)
        figures["board_warnings"] = sum(len(p.other) for p in procs)
        requester.client.abort()
        return figures
    finally:
        for p in procs:
            p.stop()


# ---- servers -----------------------------------------------------------------------------
def make_ejabberd():
    """An ejabberd that also takes in-band registration (XEP-0077) from loopback.

    ejabberdctl starts an Erlang VM per account (~1 s); registering over the stream takes
    a few ms, so a fleet of hundreds gets its accounts in seconds.
    """
    from localxmpp import Ejabberd

    server = Ejabberd()
    text = server.config_path.read_text()
    text = text.replace(
        "modules:\n",
        "registration_timeout: infinity\nmodules:\n  mod_register:\n"
        "    welcome_message: {}\n    ip_access: all\n",
    )
    server.config_path.write_text(text)
    server.register_all = lambda accounts: _register_in_band(server, accounts)
    return server


def _register_in_band(server, accounts):
    todo = [(u, p) for u, p in accounts.items() if u not in server.accounts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda a: _register_one(server, *a), todo))
    server.accounts.update(todo)


def _register_one(server, user, password):
    ctx = ssl.create_default_context(cafile=str(server.ca_pem_path))
    header = (
        "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" % server.domain
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(header)
        _read_until(raw, b"</stream:features>")
        raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        _read_until(raw, b"proceed")
        with ctx.wrap_socket(raw, server_hostname=server.domain) as s:
            s.sendall(header)
            _read_until(s, b"</stream:features>")
            s.sendall(
                (
                    "<iq type='set' id='reg'><query xmlns='jabber:iq:register'>"
                    "<username>%s</username><password>%s</password></query></iq>"
                    % (user, password)
                ).encode()
            )
            answer = _read_until(s, rb"<iq\b[^>]*\btype=['\"](result|error)")
            if not re.search(rb"type=['\"]result", answer):
                raise RuntimeError("in-band registration of %s failed: %r" % (user, answer))
            s.sendall(b"</stream:stream>")
    return password


def _read_until(sock, marker):
    """Read until `marker` (bytes, or a regex as bytes) has arrived; all that was read."""
    data = b""
    while not (re.search(marker, data) if marker.startswith(b"<iq") else marker in data):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before %r: %r" % (marker, data))
        data += chunk
    return data


def make_server(kind):
    from localxmpp import Prosody

    if kind == "prosody":
        return Prosody(log_level="warn").start()
    return make_ejabberd().start()


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need and hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def show(figures):
    for k, v in figures.items():
        print("    %-18s %s" % (k, v))


def main():
    from localxmpp.client import ClientLoop

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", choices=("prosody", "ejabberd", "both"), default="both")
    ap.add_argument("--sizes", default="100,250,500,750,1000")
    ap.add_argument("--per-process", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--time-limit", type=float, default=1200, help="seconds for the whole run")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    logging.getLogger().setLevel(logging.ERROR)  # slixmpp: "Unknown stanza interface"
    sizes = [int(s) for s in args.sizes.split(",")]
    print("open files limit: %d" % raise_fd_limit(4 * max(sizes) + 256))
    t_end = time.monotonic() + args.time_limit
    best = {}
    kinds = ("prosody", "ejabberd") if args.server == "both" else (args.server,)
    for kind in kinds:
        server = make_server(kind)
        try:
            for n in sizes:
                if time.monotonic() > t_end:
                    print("time limit reached; stopping before %d boards" % n)
                    break
                print("== %s: %d boards, %d per process ==" % (kind, n, args.per_process))
                clients = ClientLoop()
                try:
                    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
                        f = run_fleet(server, clients, n, args.per_process, tmp,
                                      args.rounds, args.window)  # fmt: skip
                except (TimeoutError, RuntimeError) as e:
                    print("    failed: %s" % e)
                    break
                finally:
                    clients.close()
                show(f)
                problems = fleet_problems(f)
                if problems:
                    print("    %s: stopping here" % "; ".join(problems))
                    break
                best[kind] = f
        finally:
            server.close()
    print("== largest fleet served with zero lost answers ==")
    for kind in kinds:
        f = best.get(kind)
        if f is None:
            print("  %-9s none" % kind)
        else:
            print(
                "  %-9s %d boards in %d processes: %d readouts, p50 %s ms, p99 %s ms, "
                "%.0f readouts/s, heap %s B per board"
                % (kind, f["boards"], f["processes"], f["asked"], f["rtt_p50_ms"],
                   f["rtt_p99_ms"], f["per_second"], f["heap_per_board"])
            )  # fmt: skip
    return 0 if len(best) == len(kinds) else 1


if __name__ == "__main__":
    sys.exit(main())

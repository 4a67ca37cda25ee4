"""Write a board's config file from answers or arguments, checked as the board checks it.

Usage:
  python tools/provision.py --out my.json                      (asks for what is missing)
  python tools/provision.py --out my.json --board esp32_devkitc --wifi-ssid home \\
      --wifi-password secret --jid dev@example.org --password pw --server xmpp.example.org \\
      --ca ca.pem --allow owner@example.org [--allow other@example.org] --no-input
  (make provision OUT=my.json [PROVISION_ARGS="--board esp32_devkitc ... --no-input"])

Passwords can come from the environment instead: XMPP_PASSWORD, WIFI_PASSWORD. The result
is checked with lib/thing/config.py, the checker the board itself runs, and written (mode
0600: it holds passwords) only if it passes; otherwise every problem is printed. With
--ca, the CA is converted to DER and written beside the config as the file xmpp.ca names,
ready for `make deploy-config`.
"""

import argparse
import getpass
import json
import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "tools"))

import hostport  # noqa: E402
from deploy import DeployError, password_problems, to_der  # noqa: E402

from thing import config as thing_config  # noqa: E402

# (argument, prompt, secret, environment variable)
QUESTIONS = (
    ("board", "Board (%s)", False, None),
    ("wifi_ssid", "WiFi network name", False, None),
    ("wifi_password", "WiFi password", True, "WIFI_PASSWORD"),
    ("jid", "The board's XMPP account (JID), e.g. dev@example.org", False, None),
    ("password", "Its XMPP password", True, "XMPP_PASSWORD"),
    ("server", "XMPP server host[:port] (empty: the JID's domain)", False, None),
    (
        "ca",
        "CA certificate that signed the server's (PEM or DER file; TLS is verified)",
        False,
        None,
    ),
    ("allow", "Who may read the sensors (bare JIDs, comma-separated)", False, None),
)


class ProvisionError(Exception):
    def __init__(self, problems):
        super().__init__("\n  - ".join(["the config was not written:"] + list(problems)))
        self.problems = problems


def boards():
    return sorted(p.parent.name for p in (ROOT / "boards").glob("*/board.py"))


def _split_server(server):
    return hostport.split(server) if server else (None, None)


def build(answers, ca_name="ca.der"):
    """The config dict from answers (a dict of QUESTIONS' keys and the optional ones)."""
    x = {"jid": answers.get("jid") or "", "password": answers.get("password") or ""}
    x["resource"] = answers.get("resource") or "sensor"
    try:
        host, port = _split_server(answers.get("server"))
    except ValueError:
        host, port = None, None  # check() says why
    if host:
        x["host"] = host
    if port is not None:
        x["port"] = port
    x["tls"] = answers.get("tls") or "starttls"
    if answers.get("ca"):
        x["ca"] = ca_name
    cfg = {"xmpp": x}
    allow = answers.get("allow") or []
    if isinstance(allow, str):
        allow = [allow]
    cfg["allow"] = [j.strip() for a in allow for j in a.split(",") if j.strip()]
    cfg["board"] = answers.get("board") or ""
    if cfg["board"] != "host":
        # No "ssid": "" for a missing answer: the checker would take the empty name.
        wifi = {"ssid": answers["wifi_ssid"]} if answers.get("wifi_ssid") else {}
        if answers.get("wifi_password"):
            wifi["password"] = answers["wifi_password"]
        cfg["wifi"] = wifi
    if answers.get("name"):
        cfg["name"] = answers["name"]
    if answers.get("ntp"):
        cfg["ntp"] = answers["ntp"]
    return cfg


def check(cfg, answers):
    """Every problem: the board's checker's sentences, then the tool's own."""
    board = cfg.get("board")
    problems = []
    try:
        _split_server(answers.get("server"))
    except ValueError as e:
        problems.append("server: %s" % e)
    for p in thing_config.check(cfg, on_board=board != "host"):
        if p.startswith("xmpp.ca: missing"):  # the checker's words name the DER the board reads
            p = (
                "xmpp.ca: missing: the CA that signed the server's certificate (PEM or DER),"
                " to verify TLS with (--ca; --tls plain, for a lab server only, needs none)"
            )
        if board or not p.startswith("board:"):  # a missing board: the line below says it
            problems.append(p)
    problems += password_problems(cfg)
    if not board:
        problems.append("board: missing (one of %s)" % ", ".join(boards()))
    elif board not in boards():
        problems.append("board: no boards/%s here (one of %s)" % (board, ", ".join(boards())))
    if not cfg.get("allow"):
        problems.append("allow: nobody could read the sensors; name at least one JID")
    ca = answers.get("ca")
    if ca:
        try:
            to_der(Path(ca).read_bytes(), ca)
        except OSError as e:
            problems.append("ca: cannot read %s (%s)" % (ca, e))
        except DeployError as e:
            problems.append("ca: %s" % e)
    return problems


def ask(answers, read=input, secret=getpass.getpass, show=print):
    """Fill in the missing answers interactively."""
    for key, prompt, hidden, env in QUESTIONS:
        if answers.get(key) or (env and os.environ.get(env)):
            continue
        if key == "board":
            prompt = prompt % ", ".join(b for b in boards() if b != "host")
        if key == "wifi_ssid" and answers.get("board") == "host":
            continue
        if key == "ca" and answers.get("tls") == "plain":
            continue
        answer = (secret if hidden else read)(prompt + ": ")
        # A password is kept as typed: spaces at its ends are part of it.
        answers[key] = answer if hidden else answer.strip()
    return answers


def provision(answers, out, force=False):
    """Check and write; returns the config. ProvisionError lists every problem."""
    answers = dict(answers)
    for key, _prompt, _hidden, env in QUESTIONS:
        if env and not answers.get(key) and os.environ.get(env):
            answers[key] = os.environ[env]
    out = Path(out)
    cfg = build(answers)
    problems = check(cfg, answers)
    if out.exists() and not force:
        problems.append("%s exists; give --force to replace it" % out)
    der = None
    if answers.get("ca") and not problems:
        der = to_der(Path(answers["ca"]).read_bytes(), answers["ca"])
        ca_out = out.parent / cfg["xmpp"]["ca"]
        # Another config in this folder may name that file: another server's CA would cut
        # its board off.
        if ca_out.exists() and ca_out.read_bytes() != der and not force:
            problems.append(
                "%s beside it holds another CA; give --force to replace it, or write this"
                " config to a folder of its own" % cfg["xmpp"]["ca"]
            )
    if der is not None and out.resolve() == (out.parent / cfg["xmpp"]["ca"]).resolve():
        problems.append("%s: the config would be written over its own CA" % out)
    if out.is_dir():
        problems.append("%s is a directory; give the config file's path" % out)
    if problems:
        raise ProvisionError(problems)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then renamed: an interrupted --force never
        # leaves half a config; the CA goes after it, so a config that failed leaves none.
        tmp = out.parent / (out.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # the mode above is for a new file only
        # UTF-8, not \uXXXX escapes: MicroPython's json (run-host) reads a surrogate pair as
        # two lone surrogates, so an emoji in a password would be other bytes there.
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, out)
        if der is not None:
            (out.parent / cfg["xmpp"]["ca"]).write_bytes(der)
    except OSError as e:
        raise ProvisionError(["%s: cannot be written (%s)" % (out, e)]) from e
    return cfg


def main(argv=None, read=input, secret=getpass.getpass):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the config file to write")
    ap.add_argument("--board", help="one of boards/ (e.g. esp32_devkitc)")
    ap.add_argument("--wifi-ssid")
    ap.add_argument("--wifi-password", help="or the WIFI_PASSWORD environment variable")
    ap.add_argument("--jid", help="the board's bare JID")
    ap.add_argument("--password", help="or the XMPP_PASSWORD environment variable")
    ap.add_argument("--server", help="host[:port] to connect to (default: the JID's domain)")
    ap.add_argument("--tls", choices=thing_config.TLS_MODES, default="starttls")
    ap.add_argument("--ca", help="the server's CA certificate, PEM or DER")
    ap.add_argument("--allow", action="append", default=[], help="a JID that may read (repeat)")
    ap.add_argument("--resource", default="sensor")
    ap.add_argument("--name", help="the board's name (status, DHCP host name)")
    ap.add_argument("--ntp", help="NTP server (default pool.ntp.org)")
    ap.add_argument("--no-input", action="store_true", help="never ask; fail on what is missing")
    ap.add_argument("--force", action="store_true", help="replace an existing file")
    args = ap.parse_args(argv)
    answers = {k: v for k, v in vars(args).items() if v not in (None, [], "")}
    if not args.no_input and sys.stdin.isatty():
        try:
            ask(answers, read, secret)
        except (EOFError, KeyboardInterrupt):
            print("\nprovision: stopped, nothing written", file=sys.stderr)
            return 1
    try:
        cfg = provision(answers, args.out, args.force)
    except ProvisionError as e:
        print("provision: %s" % e, file=sys.stderr)
        return 2
    print("provision: wrote %s for %s on %s" % (args.out, cfg["xmpp"]["jid"], cfg["board"]))
    if "ca" in cfg["xmpp"]:
        print("provision: wrote %s (DER) beside it" % cfg["xmpp"]["ca"])
    wifi = cfg.get("wifi")
    if wifi and not wifi.get("password"):
        # Valid (an open network), but also what a forgotten WIFI_PASSWORD gives.
        hint = "give --wifi-password or WIFI_PASSWORD for a WPA one"
        print(
            "provision: no WiFi password: %r is taken for an open network (%s)"
            % (wifi["ssid"], hint)
        )
    print("provision: next: make deploy-config PORT=... CONFIG=%s" % shlex.quote(str(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

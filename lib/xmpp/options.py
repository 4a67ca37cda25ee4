"""The client's settings (the config's `xmpp` section), resolved once, durations in ms."""

from xmpp import jid as jids

MAX_STANZA = 4096  # bytes, the default stanza limit
# Room in the output buffer beyond max_stanza: an answer may echo a request as large as
# max_stanza (e.g. a huge iq id).
OUT_HEADROOM = 1024


class Options:
    def __init__(self, cfg):
        def get(key, default):
            v = cfg.get(key)
            return default if v is None else v

        self.jid = cfg["jid"]
        self.password = cfg["password"]
        self.local, self.domain, _ = jids.split(self.jid)
        self.resource = get("resource", "sensor")
        self.tls = get("tls", "starttls")
        self.host = cfg.get("host") or self.domain
        self.port = get("port", 5223 if self.tls == "direct" else 5222)
        self.max_stanza = get("max_stanza", MAX_STANZA)
        self.out_buffer = get("out_buffer", self.max_stanza + OUT_HEADROOM)
        self.read_chunk = get("read_chunk", 512)
        self.max_contacts = get("max_contacts", 16)
        self.version_os = get("version_os", True)
        self.keepalive_ms = get("keepalive_s", 60) * 1000
        self.ping_ms = get("ping_s", 120) * 1000
        self.ping_timeout_ms = get("ping_timeout_s", 20) * 1000
        self.connect_timeout_ms = get("connect_timeout_s", 20) * 1000
        self.login_timeout_ms = get("login_timeout_s", 30) * 1000
        self.backoff_base_ms = get("backoff_base_s", 1) * 1000
        self.backoff_cap_ms = get("backoff_cap_s", 120) * 1000
        self.stable_ms = get("stable_s", 60) * 1000
        # After a failure that retrying cannot fix (wrong password, conflict, no TLS):
        # wait this long, so a misconfigured board never hammers its server.
        self.retry_permanent_ms = get("retry_permanent_s", 600) * 1000

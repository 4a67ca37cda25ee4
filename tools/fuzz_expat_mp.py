"""Our side of the differential fuzz against expat (tools/fuzz_expat.py); runs in MicroPython.

    micropython -X heapsize=1m tools/fuzz_expat_mp.py RECORDS

RECORDS holds documents, each as a JSON header line `[length, cuts, cuts, ...]` and then
`length` bytes. Each document is fed to a new Tokenizer whole, then once per list of cuts
in the pieces they make. Printed per document, in order, one JSON line:
`[verdict, events, chunking]`. verdict: null (read and every element closed), "incomplete"
(no error, but an element or a token still open), an XMLError condition, or "exception: ..."
for anything else raised. events (of the whole feed): ["s", name, [[attr, value], ...], ns],
["e", name], ["t", text]. chunking: null, or how a split feed differed from the whole one.
"""

import json
import sys

_here = __file__.rpartition("/")[0] or "."
ROOT = _here.rpartition("/")[0] or "."
if __name__ == "__main__":
    if ROOT + "/lib" not in sys.path:
        sys.path.insert(0, ROOT + "/lib")

from xmlstream.errors import XMLError  # noqa: E402
from xmlstream.tokenizer import Tokenizer  # noqa: E402

MAX_STANZA = 1 << 16  # far above the documents' size: limits are not what is compared
MAX_DEPTH = 16  # the firmware's depth; the documents nest at most about 10 deep


class _Events:
    def __init__(self):
        self.out = []

    def start(self, name, attrs, ns):
        self.out.append(["s", name, sorted([k, v] for k, v in attrs.items()), ns])

    def end(self, name):
        self.out.append(["e", name])

    def text(self, s):
        self.out.append(["t", s])


def parse(chunks):
    """(verdict, events) for the document fed as these chunks."""
    h = _Events()
    t = Tokenizer(h, MAX_STANZA, MAX_DEPTH)
    try:
        for c in chunks:
            t.feed(c)
    except XMLError as e:
        return e.condition, h.out
    except Exception as e:  # noqa: BLE001 - anything but XMLError is a finding
        return "exception: %r" % (e,), h.out
    depth = 0
    for ev in h.out:
        depth += 1 if ev[0] == "s" else -1 if ev[0] == "e" else 0
    # A push parser waits for more: what it still holds is what a document end would refuse.
    if depth or t._pend or t._pmore or t._tparts is not None:
        return "incomplete", h.out
    return None, h.out


def chunking(doc, cuts, verdict, events):
    """How the feed split at `cuts` differs from the whole one, or None."""
    bounds = [0] + cuts + [len(doc)]
    v, ev = parse([doc[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)])
    if v != verdict:
        return "cuts %r: %s, whole: %s" % (cuts, v, verdict)
    # Where a chunk ends decides how much of a refused document is reported before the error.
    n = len(events) if verdict is None else min(len(ev), len(events))
    if ev[:n] != events[:n] or (verdict is None and len(ev) != n):
        return "cuts %r: other events" % (cuts,)
    return None


def main(path):
    with open(path, "rb") as f:
        while True:
            head = f.readline()
            if not head:
                break
            spec = json.loads(head)
            doc = f.read(spec[0])
            verdict, events = parse([doc])
            diff = None
            for cuts in spec[1:]:
                diff = diff or chunking(doc, cuts, verdict, events)
            print(json.dumps([verdict, events, diff]))


if __name__ == "__main__":
    main(sys.argv[1])

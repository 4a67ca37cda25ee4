# The short run of the fuzzer (`make fuzz` runs 100 000 cases): a few thousand generated and
# mutated streams through the tokenizer, the stanza builder and a sensor, checked for
# exceptions, chunking differences, memory held and unanswered iqs (tools/fuzz_mp.py).
# A failure names its seed and case: `python tools/fuzz.py --seed S --case I --shrink`.
import sys

_root = __file__.rpartition("/")[0].rpartition("/")[0].rpartition("/")[0] or "."
if _root + "/tools" not in sys.path:
    sys.path.append(_root + "/tools")

import fuzz_mp  # noqa: E402

HEAPSIZE = "512k"
SEED = 2
CASES = 1000  # per test; about 7 s on the host
DEADLINE_MS = 60000  # a slow machine runs fewer cases rather than time out (runner: 120 s)


def _fuzz(first):
    done, found, stats = fuzz_mp.run(SEED, first, CASES, deadline_ms=DEADLINE_MS)
    lines = [
        "seed %d case %d: %s: %s" % (v["seed"], v["case"], v["check"], v["detail"]) for v in found
    ]
    assert not found, "\n".join(lines)
    assert done >= CASES // 10, done
    return stats


def test_first_thousand_cases_of_the_seed_violate_nothing():
    stats = _fuzz(0)
    assert stats.get("kind:xep", 0) and stats.get("kind:grammar", 0) and stats["kind:corpus"]


def test_second_thousand_cases_of_the_seed_violate_nothing():
    stats = _fuzz(CASES)
    assert stats.get("policy-violation", 0) and stats.get("xep:accepted", 0)


def test_third_thousand_cases_of_the_seed_violate_nothing():
    _fuzz(2 * CASES)

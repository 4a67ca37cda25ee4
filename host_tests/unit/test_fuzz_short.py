# The short run of the fuzzer (`make fuzz` runs 100 000 cases): a few thousand generated and
# mutated streams through the tokenizer, the stanza builder and a sensor, checked for
# exceptions, chunking differences, memory held and unanswered iqs (tools/fuzz_mp.py), and
# stanzas of every kind through a whole Thing (tools/fuzz_thing_mp.py).
# A failure names its seed and case: `python tools/fuzz.py --seed S --case I --shrink`
# (with `--kind thing` for the last test's cases).
import sys

_root = __file__.rpartition("/")[0].rpartition("/")[0].rpartition("/")[0] or "."
if _root + "/tools" not in sys.path:
    sys.path.append(_root + "/tools")

import fuzz_mp  # noqa: E402

# The fuzzer, its generators and every module of a Thing compiled from source share this
# heap (make fuzz gives 1m): 512k left a 6 KB case unbuilt once the sensor and requester
# gained their written-whole forms. At 85 % of 640k the same case was built or not by the
# heap's layout (the tokenizer's allocations moved it: built at 80 % and 90 %, not below
# 80 % with either tokenizer), hence 25 % more.
HEAPSIZE = "800k"
SEED = 2
CASES = 1000  # per test; about 7 s on the host
DEADLINE_MS = 60000  # a slow machine runs fewer cases rather than time out (runner: 120 s)


def _fuzz(first, count=CASES, only=None):
    done, found, stats = fuzz_mp.run(SEED, first, count, deadline_ms=DEADLINE_MS, only=only)
    lines = [
        "seed %d case %d: %s: %s" % (v["seed"], v["case"], v["check"], v["detail"]) for v in found
    ]
    assert not found, "\n".join(lines)
    assert done >= count // 10, done
    return stats


def test_first_thousand_cases_of_the_seed_violate_nothing():
    stats = _fuzz(0)
    assert stats.get("kind:xep", 0) and stats.get("kind:grammar", 0) and stats["kind:corpus"]
    assert stats.get("kind:thing", 0)


def test_second_thousand_cases_of_the_seed_violate_nothing():
    stats = _fuzz(CASES)
    assert stats.get("policy-violation", 0) and stats.get("xep:accepted", 0)


def test_third_thousand_cases_of_the_seed_violate_nothing():
    _fuzz(2 * CASES)


def test_stanzas_of_every_kind_through_a_whole_thing_violate_nothing():
    stats = _fuzz(0, 500, "thing")
    assert stats.get("thing:chat", 0) and stats.get("thing:chat-refused", 0), stats
    assert stats.get("thing:command", 0) and stats.get("thing:push", 0), stats
    assert stats.get("thing:req-done", 0) and stats.get("thing:accepted", 0), stats
    assert "max:thing_heap_growth" in stats, stats  # the heap was measured, within its bound


def test_names_enough_to_clear_the_name_caches_are_not_counted_as_memory_held():
    # seed 1 case 13602, cut down: more distinct tag heads than a cache holds, so the caches
    # start over while the case is measured. They are the parser's constant, filled to their
    # bound before measuring; what the case holds beyond them is its own.
    data = (
        b"<?xml version='1.0'?><m d='' s='' v=''><m><v x=''><bind s=''><session s=''><c s='' "
        b"h=''><q d=''><q o=''><query s=''><y t=''/><e r=''/><f v=''/><e m='' g=''>\xe2\x98\xba"
        b"<c n=''><query x='' r=''><q e=''><query x='' r=''><q p='' d='' o=''><d x='' s=''>"
        b"<e o=''><d s='' r=''><e t=''><fi s='1' de='te'><de nd='b'><t v=''/><ol v='e' "
        b"st='te'/><sg y='tZ' ss='te'/><n ne='Ue' vs='te'/> <e s='u'> <r p='2'><rd r='2'>"
        b"<error>A><r pe=''><f x='s'/><tt s='u' id='3'><d r=''>"
    )
    for _ in range(8):  # each draws its own read size
        fuzz_mp.check_memory(data, 2048, 32)

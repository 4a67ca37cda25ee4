"""The short run of the differential fuzz against expat (`make fuzz` runs 100 000 documents):
a few thousand generated and mutated documents, each read by the tokenizer in MicroPython
(whole and in random splits) and by CPython's expat; any difference in what is well-formed
or in the events fails. A failure names its seed and case:
`python tools/fuzz.py --kind expat --seed S --case I --shrink`."""

import fuzz_expat

SEED = 4
DOCUMENTS = 3000  # about 3 s on the host
DEADLINE_S = 60  # a slow machine compares fewer rather than time out


def test_documents_of_the_seed_are_read_as_expat_reads_them():
    done, found, stats = fuzz_expat.run(SEED, 0, DOCUMENTS, jobs=1, deadline_s=DEADLINE_S)
    lines = [
        "seed %d case %d: %s: %s\n  %r" % (d["seed"], d["case"], d["check"], d["detail"], d["doc"])
        for d in found
    ]
    assert not found, "\n".join(lines)
    assert done >= DOCUMENTS // 10, done
    # Both verdicts in numbers, and the constructs ours refuses on purpose among them.
    assert stats["expat:ok"] > done // 4 and stats["expat:refused"] > done // 4, stats
    assert stats["expat:design"] and stats["ours:restricted-xml"], stats


def test_a_document_read_differently_is_reported():
    # ']]>' in text: expat refuses it, ours does not look (documented), so it is never generated.
    assert fuzz_expat.verdict(b"<r><s>a]]>b</s></r>")[0] == "accepted"
    assert fuzz_expat.verdict(b"<r><s>a]]&gt;b</s></r>") is None

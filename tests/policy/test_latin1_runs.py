"""analysis.latin1_runs stands in for re.findall on Latin-1 text (LNG001's word vote, STY011's
doubled words). It must return the same runs, in order, for every Latin-1 character, and step
aside (None) for any other text."""
from __future__ import annotations

import random
import re

import pytest

from streams.policy.analysis import byte_table, latin1_runs

LATIN1 = [chr(code) for code in range(256)]


@pytest.mark.parametrize("token", [r"[^\W\d_]", r"\w"])
def test_runs_equal_findall_on_latin1_text(token):
    pattern, table = re.compile(token + "+"), byte_table(re.compile(token))
    rng = random.Random(4)
    common = list("aZé ß_9²½\u00a0\t\n.-ÿ")   # the characters where the classes differ, often
    for _ in range(20_000):
        text = "".join(rng.choice(common if rng.random() < 0.6 else LATIN1) for _ in range(rng.randint(0, 20)))
        assert latin1_runs(text, table) == [run.encode("latin-1") for run in pattern.findall(text)], repr(text)


def test_other_text_is_left_to_the_regex():
    table = byte_table(re.compile(r"\w"))
    assert latin1_runs("Grüße aus Köln", table) == [b"Gr\xfc\xdfe", b"aus", b"K\xf6ln"]
    assert latin1_runs("ご注文 123", table) is None
    assert latin1_runs("œuvre", table) is None        # U+0153 is not Latin-1

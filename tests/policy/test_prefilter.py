"""The Hyperscan prefilter may only ever say "can match" too often, never too rarely."""
from __future__ import annotations

import pytest

from streams.bench import generate
from streams.policy import lexicons
from streams.policy.analysis import analyse
from streams.policy.prefilter import Prefilter, hyperscan, widen
from tests.policy.test_corpus import CASES

import streams.policy.registry  # noqa: F401  (rule modules register their prefiltered patterns)


def test_widen_drops_assertions_and_bounds_and_widens_classes():
    assert widen(r"\bfoo\b") == "foo"
    assert widen(r"a[^.!?\n]{0,80}b") == r"a[^.!?\n]*b"
    assert widen(r"\d{7}") == r"[0-9\x{660}-\x{669}\x{6F0}-\x{6F9}\x{966}-\x{96F}\x{FF10}-\x{FF19}]+"
    assert widen(r"[\w.-]+") == r"[\w\x{80}-\x{10FFFF}.-]+"
    assert widen(r"(?P<x>a)") == "(?:a)"


def _texts() -> list[str]:
    texts = [analyse(c["request"]["subject"], c["request"]["body"], c["request"]["body_format"]).norm_text
             for _, _, c in CASES]
    texts += [analyse(r["subject"], r["body"], r["body_format"]).norm_text for r, _ in generate(300)]
    texts += ["write to j o h n (at) shop dot com", "ｗｈａｔｓａｐｐ：＋４９ １７１ ２３４５６７８",
              "leave a 5-star review", "unsubscribe here: https://x.example/u", "www.myshop.com/deals"]
    return texts


@pytest.mark.skipif(hyperscan is None, reason="no hyperscan wheel on this platform: nothing is prefiltered")
def test_every_python_match_is_a_prefilter_candidate():
    prefilter = lexicons.prefilter()
    assert prefilter._db is not None
    patterns = {name: [lexicons.pattern(name)] if name in lexicons._data()["en"] or any(
        name in lexicons._data()[lang] for lang in lexicons.LANGUAGES) else list(lexicons._EXTRA[name])
        for name in prefilter.names}
    checked = 0
    for text in _texts():
        candidates = prefilter.candidates(text)
        for name, compiled in patterns.items():
            if any(p.search(text) for p in compiled):
                checked += 1
                assert name in candidates, (name, text[:120])
    assert checked > 100   # the texts do exercise the patterns


def test_without_hyperscan_everything_is_a_candidate():
    plain = Prefilter.__new__(Prefilter)
    plain.names, plain.name_set, plain._db, plain._memo = ("a", "b"), frozenset({"a", "b"}), None, {}
    assert plain.candidates("anything") == {"a", "b"}


def test_prefilter_is_selective():
    """If it said yes to everything it would be correct but useless: most texts hit few names."""
    prefilter = lexicons.prefilter()
    if prefilter._db is None:
        pytest.skip("no hyperscan wheel on this platform")
    texts = _texts()
    average = sum(len(prefilter.candidates(t)) for t in texts) / len(texts)
    assert average < len(prefilter.names) / 2


@pytest.mark.skipif(hyperscan is None, reason="no hyperscan wheel on this platform: nothing is prefiltered")
def test_hand_written_supersets_hold_on_random_text():
    """A hand-written superset (lexicons.register_prefiltered(superset=...)) replaces widening, so
    it gets its own check: random short texts of word characters, spaces, ASCII and non-ASCII
    punctuation and letters; wherever the Python pattern matches, the name must be a candidate."""
    import random

    prefilter = lexicons.prefilter()
    rng = random.Random(11)
    alphabet = ["a", "b", "é", "ß", "1", "_", " ", " ", " ", ".", "(", "«", "。", "語", "\n", "-"]
    # phone numbers need digits, prefixes and keywords to occur at all: a richer alphabet
    phone = ["+", "00", "(", ")", " ", " ", "-", ".", "/", "tel", "tel.", "phone ", "電話", "é", "a", "x", "\n",
             "١", "_"] + list("0123456789") * 3
    alphabets = {"phone": (phone, 30)}
    checked: dict[str, int] = {}
    for name, expression in lexicons._SUPERSETS.items():
        assert expression and name in prefilter.names
        letters, longest = alphabets.get(name, (alphabet, 12))
        for _ in range(20_000):
            text = "".join(rng.choice(letters) for _ in range(rng.randint(1, longest)))
            prefilter._memo.clear()
            if any(p.search(text) for p in lexicons._EXTRA[name]):
                checked[name] = checked.get(name, 0) + 1
                assert name in prefilter.candidates(text), (name, text)
    assert set(checked) == set(lexicons._SUPERSETS) and min(checked.values()) > 300, checked


def test_phone_gate_is_selective():
    """German "Bestellung" contains "tel", and order IDs contain "00" followed by digits: neither
    may make every message run the phone regexes."""
    prefilter = lexicons.prefilter()
    if prefilter._db is None:
        pytest.skip("no hyperscan wheel on this platform")
    assert prefilter.may_match("phone", "rufen sie an: telefon 030 1234567")
    assert prefilter.may_match("phone", "whatsapp: +49 171 2345678")
    assert not prefilter.may_match("phone", "ihre bestellung 123-1234567-1234567 kommt zwischen 9 und 12 uhr.")
    assert not prefilter.may_match("phone", "order 123-0012345-1234567 ships today.")


def test_spaced_characters_gate_is_selective():
    prefilter = lexicons.prefilter()
    if prefilter._db is None:
        pytest.skip("no hyperscan wheel on this platform")
    assert prefilter.may_match("spaced_chars", "write to j o h n (at) shop dot com")
    assert not prefilter.may_match("spaced_chars", "hello, this is about your order 123-1234567-1234567.")


@pytest.mark.skipif(hyperscan is None, reason="no hyperscan wheel on this platform: nothing is prefiltered")
def test_search_runs_only_candidate_patterns_and_finds_what_the_alternation_finds():
    """`lexicons.search` runs the patterns the prefilter names one by one instead of the
    category's alternation: every pattern that matches must be named, and the match (span and
    text) must be the alternation's, on every text and category."""
    import random

    prefilter = lexicons.prefilter()
    categories = sorted({c for lang in lexicons.LANGUAGES for c in lexicons._data()[lang]})
    texts = _texts()
    # phrases of the lexicons themselves, glued at random: several categories and patterns per text
    rng = random.Random(17)
    words = [w for t in texts for w in t.split()]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))) for _ in range(1_500)]
    found = 0
    for text in texts:
        prefilter._memo.clear()
        for category in categories:
            nths = prefilter.candidate_patterns(category, text)
            for nth, single in enumerate(lexicons.patterns(category)):
                if single.search(text):
                    assert nth in nths, (category, nth, text[:120])
            expected, got = lexicons.pattern(category).search(text), lexicons.search(category, text)
            assert (expected and (expected.span(), expected.group(0))) == (got and (got.span(), got.group(0))), \
                (category, text[:120])
            found += expected is not None
    assert found > 300

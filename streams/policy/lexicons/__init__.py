"""Per-language phrase data (TOML files, one per language), compiled once per category.

Each file has tables named after a category, with a list of regular expressions matched on
normalised, lower-cased text. All languages of a category compile into one alternation, so a
rule makes one pass over the text whatever the language.
"""
from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "de", "fr", "es", "it", "ja")
_DIR = Path(__file__).resolve().parent


@cache
def _data() -> dict[str, dict[str, list[str]]]:
    return {lang: tomllib.loads((_DIR / f"{lang}.toml").read_text()) for lang in LANGUAGES}


def _sources(category: str) -> list[str]:
    return [p for lang in LANGUAGES for p in _data()[lang].get(category, {}).get("patterns", [])]


@cache
def pattern(category: str) -> re.Pattern:
    parts = _sources(category)
    if not parts:
        raise KeyError(f"no lexicon entries for category {category!r}")
    # Text is lower-cased before matching (Analysis.norm_text), so no IGNORECASE: measurably faster.
    return re.compile("|".join(f"(?:{p})" for p in parts))


# Patterns of rule modules that also go through the prefilter (name -> compiled patterns), and
# hand-written Hyperscan expressions used instead of widening them (name -> expression).
_EXTRA: dict[str, tuple[re.Pattern, ...]] = {}
_SUPERSETS: dict[str, str] = {}


def register_prefiltered(name: str, *patterns: re.Pattern, superset: str | None = None) -> None:
    """Let a rule module gate its own expensive regexes with the same single scan.

    `superset`: a Hyperscan expression to scan for instead of the widened patterns, for a pattern
    whose widened form would match nearly everything (word boundaries are what make it rare). It
    must match wherever the patterns do; tests/policy/test_prefilter.py checks that property.
    """
    if prefilter.cache_info().currsize:
        raise RuntimeError(f"{name!r} registered after the prefilter was built")
    _EXTRA[name] = patterns
    if superset is not None:
        _SUPERSETS[name] = superset


_built = None   # prefilter(), once built: skips the cache wrapper on the hot path


@cache
def prefilter():
    global _built
    from ..prefilter import build

    # The prefilter's pattern ids follow `patterns(category)`: `search` runs them by that position.
    named = {category: list(patterns(category)) for category in sorted({c for lang in LANGUAGES for c in _data()[lang]})}
    named.update(_EXTRA)
    named.update({name: [expression] for name, expression in _SUPERSETS.items()})
    _built = build(named)
    return _built


def candidates(text: str) -> frozenset[str]:
    """Every prefilter name whose patterns may match `text` (all names without Hyperscan)."""
    return (_built or prefilter()).candidates(text)


def prefiltered_names() -> tuple[str, ...]:
    return prefilter().names


def may_match(name: str, text: str) -> bool:
    """False only when no pattern of `name` can match `text` (one Hyperscan pass per text)."""
    built = _built or prefilter()
    return name in built.candidates(text) or name not in built.name_set


@cache
def patterns(category: str) -> tuple[re.Pattern, ...]:
    """The category's patterns one by one, in the order of its alternation (`pattern`)."""
    return tuple(re.compile(p) for p in _sources(category))


def search(category: str, text: str) -> re.Match | None:
    """`pattern(category).search(text)`, running only the patterns the prefilter says may match.

    The alternation of a category's 10-40 patterns costs 50-110 us per search (re cannot skip
    ahead with so many alternatives); one or two of its patterns cost a few. Same match: the
    alternation's is the leftmost start of any pattern, and at that start the first pattern in
    order; a pattern the prefilter rules out matches nowhere."""
    built = _built or prefilter()
    nths = built.candidate_patterns(category, text) if category in built.name_set else None
    if nths is None:   # no Hyperscan
        return pattern(category).search(text)
    best = None
    singles = patterns(category)
    for nth in nths:   # ascending: on a tie of starts the earlier pattern stays, as in the alternation
        match = singles[nth].search(text)
        if match is not None and (best is None or match.start() < best.start()):
            best = match
    return best

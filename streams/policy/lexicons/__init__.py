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


@cache
def pattern(category: str) -> re.Pattern:
    parts = [p for lang in LANGUAGES for p in _data()[lang].get(category, {}).get("patterns", [])]
    if not parts:
        raise KeyError(f"no lexicon entries for category {category!r}")
    # Text is lower-cased before matching (Analysis.norm_text), so no IGNORECASE: measurably faster.
    return re.compile("|".join(f"(?:{p})" for p in parts))


def search(category: str, text: str) -> re.Match | None:
    return pattern(category).search(text)

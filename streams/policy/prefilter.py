"""One pass over a text tells which patterns *can* match (Hyperscan in prefilter mode).

Running each category's Python regex over every message cost ~500 µs per message (13 lexicon
categories in six languages, plus the phone patterns); most messages match none. Hyperscan
scans the text once for all of them (~5 µs) and reports which named patterns may match; only
those run their exact Python regex afterwards, so findings and evidence are unchanged.

Correctness rests on one property: the Hyperscan expression of a pattern matches a *superset*
of what the Python pattern matches. `widen()` guarantees it by rewriting Python syntax to
something Hyperscan compiles fast (byte-level UTF-8 mode without Unicode properties):
assertions `\\b`/`\\B` are dropped, `\\w`/`\\s`/`\\d` gain every non-ASCII code point that Python's
Unicode classes could match, and counted repeats become unbounded. Lookarounds and back
references are approximated by Hyperscan's own prefilter mode (HS_FLAG_PREFILTER), which never
drops a match. Without the `hyperscan` wheel (not every platform has one) every pattern is
reported as a candidate: slower, same results.

The compiled database is cached under the msggate home folder, keyed by a hash of the patterns.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

try:
    import hyperscan
except ImportError:  # pragma: no cover - exercised only where no wheel exists
    hyperscan = None

_NON_ASCII = r"\x{80}-\x{10FFFF}"
_UNICODE_SPACES = r"\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
_UNICODE_DIGITS = r"\x{660}-\x{669}\x{6F0}-\x{6F9}\x{966}-\x{96F}\x{FF10}-\x{FF19}"
_CLASS_BODY = {"w": r"\w" + _NON_ASCII, "s": r"\s" + _UNICODE_SPACES, "d": "0-9" + _UNICODE_DIGITS}
_COUNTED = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def widen(pattern: str) -> str:
    """Rewrite a Python regex into a Hyperscan expression that matches at least as much."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in "bB" and not in_class:
                pass                                            # drop the assertion
            elif nxt in _CLASS_BODY:
                out.append(_CLASS_BODY[nxt] if in_class else f"[{_CLASS_BODY[nxt]}]")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if in_class:
            if ch == "]" and out[-1] not in ("[", "[^"):
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
            out.append(ch)
        elif ch == "{" and (counted := _COUNTED.match(pattern, i)):
            out.append("*" if counted.group(1) == "0" else "+")
            i = counted.end()
            if i < len(pattern) and pattern[i] == "?":
                i += 1                                          # lazy or greedy: same set of matches
            continue
        elif pattern.startswith("(?P<", i):
            out.append("(?:")
            i = pattern.index(">", i) + 1
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class Prefilter:
    """Named groups of Python patterns (or hand-written Hyperscan supersets of them, as str);
    `candidates(text)` -> names whose patterns may match."""

    def __init__(self, named: dict[str, list[re.Pattern | str]], cache_dir: Path | None = None):
        self.names = tuple(named)
        self.name_set = frozenset(self.names)
        self._db = None
        # text -> (candidate names, candidate pattern ids): the rules of one message ask about it
        self._memo: dict[str, tuple[frozenset[str], set[int]]] = {}
        self._name_of_id: list[str] = []   # Hyperscan id -> the name of its pattern
        self._nth_of_id: list[int] = []    # ... and the pattern's position in that name's list
        if hyperscan is None or os.environ.get("MSGGATE_NO_HYPERSCAN"):
            return
        expressions, ids, flags = [], [], []
        base = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_PREFILTER \
            | hyperscan.HS_FLAG_ALLOWEMPTY
        for index, name in enumerate(self.names):
            for nth, compiled in enumerate(named[name]):
                ids.append(len(self._name_of_id))
                self._name_of_id.append(name)
                self._nth_of_id.append(nth)
                if isinstance(compiled, str):   # already a Hyperscan superset, written by hand
                    expressions.append(compiled.encode())
                    flags.append(base)
                    continue
                expressions.append(widen(compiled.pattern).encode())
                flags.append(base | (hyperscan.HS_FLAG_CASELESS if compiled.flags & re.IGNORECASE else 0)
                             | (hyperscan.HS_FLAG_DOTALL if compiled.flags & re.DOTALL else 0))
        self._db = self._load_or_compile(expressions, ids, flags, cache_dir)

    @staticmethod
    def _load_or_compile(expressions, ids, flags, cache_dir):
        digest = hashlib.sha256(repr((expressions, ids, flags, hyperscan.__version__)).encode()).hexdigest()[:20]
        cached = cache_dir / f"{digest}.hsdb" if cache_dir else None
        if cached is not None and cached.exists():
            try:
                return hyperscan.loadb(cached.read_bytes())
            except Exception:   # a corrupt or foreign cache file: compile afresh
                pass
        database = hyperscan.Database()
        database.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_bytes(hyperscan.dumpb(database))
                tmp.replace(cached)
            except OSError:
                pass
        return database

    def candidates(self, text: str) -> frozenset[str]:
        if self._db is None:
            return self.name_set
        found = self._memo.get(text)
        return (found or self._scan(text))[0]

    def _scan(self, text: str) -> tuple[frozenset[str], set[int]]:
        hits: set[int] = set()
        self._db.scan(text.encode("utf-8", "replace"), match_event_handler=_collect, context=hits)
        found = frozenset(map(self._name_of_id.__getitem__, hits)), hits
        if len(self._memo) > 32:   # rules of one message ask about the same few texts
            self._memo.clear()
        self._memo[text] = found
        return found

    def candidate_patterns(self, name: str, text: str) -> tuple[int, ...] | None:
        """Which of `name`'s patterns (their positions in its list, ascending) may match `text`;
        None without Hyperscan (any may)."""
        if self._db is None:
            return None
        names, hits = self._memo.get(text) or self._scan(text)
        if name not in names:
            return ()
        return tuple(sorted(self._nth_of_id[i] for i in hits if self._name_of_id[i] == name))

    def may_match(self, name: str, text: str) -> bool:
        return name in self.candidates(text)


def _collect(pattern_id, _from, _to, _flags, hits):
    hits.add(pattern_id)


def build(named: dict[str, Iterable[re.Pattern]]) -> Prefilter:
    from ..broker import msggate_home

    return Prefilter({name: list(patterns) for name, patterns in named.items()},
                     cache_dir=msggate_home() / "prefilter")

"""Analysis.set_normalized_body builds `norm_text` from the normalised subject and body instead of
normalising their concatenation again; that is only right if normalising splits at the line
break between them. Random texts made of what could break it: entities cut at the edge,
combining marks, compatibility characters, zero-width characters, Greek sigma (whose lower
case depends on its neighbours), full-width and dotted capitals."""
from __future__ import annotations

import random

from streams.policy.analysis import Analysis, analyse, normalize

PIECES = ["a", "Z", " ", "&", "&amp", "&amp;", "&#", "&#x41;", "&#65", ";", "\u0301", "\u0327", "e", "Σ", "σ", "ς",
          "ΑΣ", "\u200b", "\u00ad", "ｆｕｌｌ", "ﬁ", "İ", "ß", "K", "①", "ｶﾞ", "ﾞ", "\u3099", "か", "\t", "."]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))


def test_normalising_the_parts_is_normalising_the_whole():
    rng = random.Random(3)
    for _ in range(30_000):
        subject, body = _random_text(rng), _random_text(rng)
        whole = normalize(f"{subject}\n{body}").lower()
        analysis = Analysis(subject=subject, body_format="text", text=body)
        analysis.set_normalized_body(normalize(body))
        assert analysis.norm_text == whole, (subject, body)


def test_analyse_sets_the_same_norm_text_as_before():
    for subject, body, body_format in [("Order Σ 1", "ΑΣ &amp; ｆｕｌｌ\u200b text", "text"),
                                       ("Re: ﬁne", "<p>Hallo &amp; tschüß</p><p>ΑΣ</p>", "html")]:
        analysis = analyse(subject, body, body_format)
        assert analysis.norm_text == normalize(f"{subject}\n{analysis.text}").lower()


def test_collapsing_line_breaks_is_the_regex_it_replaces():
    """`collapse_line_breaks` replaced a regex substitution on the hot path; random texts of
    white space (also the kinds it must leave alone: \\r, no-break space) and letters."""
    import re

    from streams.policy.analysis import collapse_line_breaks

    pattern = re.compile(r"[ \t]*\n[ \t\n]*")
    rng = random.Random(5)
    alphabet = [" ", "\t", "\n", "\r", "\xa0", "\u3000", "a", "b", "\n\n", " \n "]
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert collapse_line_breaks(text) == pattern.sub("\n", text).strip(), repr(text)

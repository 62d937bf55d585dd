"""Required content: the order ID, no other order's ID (RULES.md section 2)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from .. import lexicons
from ..analysis import byte_table, is_latin1, latin1_runs
from ..model import Context, Finding


def missing_order_id(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a proactive message that does not mention its 17-digit order ID.

    Why is this bad: Amazon requires every permitted proactive message to carry the order ID
    (`3-7-7` digits) in the subject or body, so the buyer knows which purchase it concerns.
    Replies are exempt. Full-width digits and typographic dashes count as written.

    Example: "Your delivery is delayed by two days." for order 123-1234567-1234567.
    Passes: "Order 123-1234567-1234567: your delivery is delayed by two days."
    """
    if not ctx.proactive:
        return
    own = ctx.request["order_id"]
    if own not in ctx.order_ids_mentioned:
        yield Finding("(order ID not found in subject or body)",
                      f"Proactive messages must include the order ID {own} in the subject or body.")


def foreign_order_id(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a message that mentions an order ID other than its own order's.

    Why is this bad: another order's ID is a sign that the message (or part of it) was meant
    for another buyer, so it may leak that buyer's data.

    Example: a message for 123-1234567-1234567 that says "about order 999-7654321-7654321".
    Passes: a message that mentions only 123-1234567-1234567.
    """
    own = ctx.request["order_id"]
    for found in ctx.order_ids_mentioned:
        if found != own:
            yield Finding(ctx.order_id_as_written(found),
                          f"The message mentions order {found}, which is not its own order {own}.")
            return


SUPPORTED_LANGUAGES = ("en", "de", "fr", "es", "it", "ja")
# Every alternative starts only where a token starts (lookbehind), so a 1 MB run without spaces
# costs one pass, not one pass per character (a quadratic trap found by the hostile-input tests).
# The number alternative is "(?<![\d.])\d..." written digit first ("\d(?<![\d.]\d)"): a pattern that
# starts with a character class lets `re` skip to candidates (8.3 -> 2.6 us on the bench mix).
_STRIP_URL, _STRIP_NUMBER, _STRIP_EMAIL = r"(?<!\S)(?:https?://|www\.)\S*", r"\d(?<![\d.]\d)[\d\s./:-]*", r"(?<!\S)[^\s@]++@\S*"
# One alternation per combination: an alternative that cannot match (no "@", no "www."/"://" in
# the text) is left out, which halves the cost on most messages (measured 17 -> 8 us).
_STRIP_FOR_LANGUAGE = {(url, email): re.compile("|".join(([_STRIP_URL] if url else []) + [_STRIP_NUMBER]
                                                         + ([_STRIP_EMAIL] if email else [])))
                       for url in (False, True) for email in (False, True)}


def _strip_for_language(text: str) -> str:
    """The text without URLs, numbers and e-mail addresses (they carry no language)."""
    has_url = "://" in text or "www." in text
    return _STRIP_FOR_LANGUAGE[has_url, "@" in text].sub(" ", text)
MIN_WORDS, MIN_CJK_CHARS = 6, 12


@cache
def _language_identifier():
    import py3langid  # ships its model in the wheel: nothing is downloaded at run time

    py3langid.set_languages(list(SUPPORTED_LANGUAGES))
    return py3langid


# Frequent function words, for a fast yes: a text whose function words are overwhelmingly the
# buyer's language needs no statistical model (~100 µs). Anything less clear goes to py3langid.
_FUNCTION_WORDS = {
    "en": "the and you your we our to of is are for with will this that be have please thank".split(),
    "de": "der die das und sie ihre ihr wir uns ist sind für mit wird nicht ein eine bitte vielen".split(),
    "fr": "le la les et vous votre nous est sont pour avec sera pas une des du merci".split(),
    "es": "el la los las y usted su nosotros es son para con será por una del gracias le pedido".split(),
    "it": "il lo la gli le e lei suo sua noi è sono per con sarà non una del grazie ci di ordine".split(),
}
# Only words that belong to one language vote ("la", "le", "es" are shared).
_WORD_LANGUAGE: dict[str, str] = {
    word: lang for lang, words in _FUNCTION_WORDS.items() for word in words
    if sum(word in other for other in _FUNCTION_WORDS.values()) == 1}
_WORD_RE = re.compile(r"[^\W\d_]+")
_WORD_TABLE = byte_table(re.compile(r"[^\W\d_]"))
_WORD_LANGUAGE_LATIN1 = {word.encode("latin-1"): lang for word, lang in _WORD_LANGUAGE.items()
                         if all(ord(c) < 256 for c in word)}   # no other word can be a Latin-1 run
_CJK = re.compile(r"[\u3040-\u9fff]")
# MIN_CJK_CHARS kana anywhere in the text: one linear pass (possessive: no backtracking), no list
_TWELVE_KANA = re.compile(r"(?:[^\u3040-\u30ff]*+[\u3040-\u30ff]){%d}" % MIN_CJK_CHARS)
_OTHER_LANGUAGES = {lang: [other for other in _FUNCTION_WORDS if other != lang] for lang in _FUNCTION_WORDS}


def _cjk_count(text: str) -> int:
    return 0 if text.isascii() or is_latin1(text) else len(_CJK.findall(text))   # no CJK below U+0100


def _clearly_written_in(expected: str, text: str, cjk: int | None = None) -> bool:
    """True when the text is beyond doubt in `expected` (never True for another language).
    `cjk`: the text's count of CJK characters, when the caller has it (`_cjk_count`)."""
    if expected == "ja":
        return _TWELVE_KANA.match(text) is not None
    if cjk is None:
        cjk = _cjk_count(text)
    if cjk:
        return False
    lowered = text.lower()
    runs = latin1_runs(lowered, _WORD_TABLE)   # the same words as _WORD_RE, as bytes, faster
    # the language of each function word, in C (a Counter costs twice as much)
    voters = [*filter(None, map(_WORD_LANGUAGE.get, _WORD_RE.findall(lowered)) if runs is None
                      else map(_WORD_LANGUAGE_LATIN1.get, runs))]
    own = voters.count(expected)
    if own < 4:
        return False
    # three times all other votes together is three times the largest of them, or more
    return own >= 3 * (len(voters) - own) or own >= 3 * max(map(voters.count, _OTHER_LANGUAGES[expected]))


def wrong_language(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a message that is not written in the buyer's language (`buyer_locale`).

    Why is this bad: Amazon requires messages in the buyer's preferred language. The visible
    text (without links, numbers and order IDs) is identified with py3langid among the six
    marketplace languages; texts shorter than six words (twelve characters in Japanese) are
    not judged, and locales outside those six are skipped.

    Example: "Guten Tag, wir müssen die Lieferung Ihres Sofas planen…" to a buyer with `en_US`.
    Passes: the same text to a buyer with `de_DE`; or "Order 123-1234567-1234567: thanks!" (too short).
    """
    locale = (ctx.order or {}).get("buyer_locale")
    if not locale:
        return
    expected = locale.replace("-", "_").split("_")[0].lower()
    if expected not in SUPPORTED_LANGUAGES:
        return
    text = ctx.analysis.text
    if "@" not in text and "://" not in text and "www." not in text:
        # Stripping would only take numbers out, and numbers are no words: the function-word vote
        # on the text as it is is the vote on the stripped text. A clear vote ends the check
        # whether or not the stripped text is long enough to judge (no finding either way).
        if _clearly_written_in(expected, text):
            return
    text = _strip_for_language(text)
    cjk = _cjk_count(text)
    if len(text.split(None, MIN_WORDS - 1)) < MIN_WORDS and cjk < MIN_CJK_CHARS:   # splits 6 words at most
        return
    if _clearly_written_in(expected, text, cjk):
        return
    detected, _ = _language_identifier().classify(text)
    if detected != expected:
        sample = " ".join(text.split())[:80]
        yield Finding(sample, f"The message looks written in '{detected}', but the buyer's language is '{expected}'.")


def unavailable_without_adjustment(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks an `order_issue` message about an unfulfillable order that does not say the order was adjusted and why.

    Why is this bad: Amazon's "order unavailable" template requires the seller to tell the buyer
    that the order amount or quantity was adjusted (refunded, reduced, cancelled) and why (no
    inventory, could not ship). Applies only to `order_issue` messages that mention either part;
    messages about other issues (an address problem) are not judged. Six languages.

    Example: "Order 123-1234567-1234567: the mug is out of stock." (no adjustment stated).
    Passes: "Order 123-1234567-1234567: the mug is out of stock, so we refunded it and adjusted your order."
    """
    if ctx.reason != "order_issue":
        return
    text = ctx.analysis.norm_text
    why, adjusted = lexicons.search("unavailable", text), lexicons.search("adjusted", text)
    if why and not adjusted:
        yield Finding(why.group(0), "Say that the order amount or quantity was adjusted (e.g. refunded) as well as why.")
    elif adjusted and not why:
        yield Finding(adjusted.group(0), "Say why the order was adjusted (e.g. out of stock, could not ship).")

import pytest

from tests.helpers import ORDER_ID, codes, decide, order, request


def test_id001_fires_without_order_id():
    assert "ID001" in codes(request(subject="Delivery update", body="Your parcel is two days late."), order())


def test_id001_fires_with_a_truncated_order_id():
    assert "ID001" in codes(request(subject="Update", body="Order 123-1234567 is late."), order())


def test_id001_silent_with_order_id_in_subject_or_body_or_fullwidth():
    assert "ID001" not in codes(request(subject=f"Order {ORDER_ID}", body="Late, sorry."), order())
    assert "ID001" not in codes(request(subject="Update", body=f"Order {ORDER_ID} is late."), order())
    fullwidth = "１２３-１２３４５６７-１２３４５６７"
    assert "ID001" not in codes(request(subject="Update", body=f"Order {fullwidth} is late."), order())


def test_id001_silent_for_replies():
    assert "ID001" not in codes(request(contact_reason="reply_to_buyer", subject="Re: question",
                                        body="Yes, it is dishwasher safe."), order())


def test_id002_fires_on_another_orders_id():
    assert "ID002" in codes(request(body=f"Order {ORDER_ID} and also 999-7654321-7654321 are late."), order())


def test_id002_silent_on_own_id_only():
    assert "ID002" not in codes(request(), order())


def test_id002_evidence_is_the_other_id_as_written():
    decision = decide(request(body=f"Order {ORDER_ID}, not 999–7654321 – 7654321."), order())
    [finding] = [v for v in decision["violations"] if v["code"] == "ID002"]
    assert finding["evidence"] == "999–7654321 – 7654321"
    assert "order 999-7654321-7654321," in finding["detail"]


TEXTS = {
    "en": "Hello, your sofa is ready and we need to schedule the delivery. Which weekday suits you best?",
    "de": "Guten Tag, Ihr Sofa ist fertig und wir müssen die Lieferung planen. Welcher Wochentag passt Ihnen?",
    "fr": "Bonjour, votre canapé est prêt et nous devons planifier la livraison. Quel jour vous convient ?",
    "es": "Hola, su sofá está listo y necesitamos programar la entrega. ¿Qué día le viene bien?",
    "it": "Buongiorno, il divano è pronto e dobbiamo programmare la consegna. Quale giorno le va bene?",
    "ja": "ソファの準備ができましたので、配送日を調整させてください。ご都合のよい平日をお知らせください。",
}


@pytest.mark.parametrize("written,locale", [("de", "en_US"), ("en", "de_DE"), ("fr", "ja_JP"), ("it", "es_ES"),
                                            ("ja", "fr_FR")])
def test_lng001_fires_on_wrong_language(written, locale):
    req = request(body=f"{TEXTS[written]} {ORDER_ID}")
    assert "LNG001" in codes(req, order(buyer_locale=locale))


@pytest.mark.parametrize("lang", list(TEXTS))
def test_lng001_silent_in_the_buyers_language(lang):
    assert "LNG001" not in codes(request(body=f"{TEXTS[lang]} {ORDER_ID}"), order(buyer_locale=f"{lang}_XX"))


def test_lng001_silent_on_short_text_and_unknown_locale():
    assert "LNG001" not in codes(request(body=f"Order {ORDER_ID}: danke!"), order(buyer_locale="en_US"))
    assert "LNG001" not in codes(request(body=TEXTS["de"] + ORDER_ID), order(buyer_locale="nl_NL"))


@pytest.mark.parametrize("words,judged", [(5, False), (6, True)])
def test_lng001_judges_from_six_words(words, judged):
    """Six words, however spaced, are judged; five are not (German text to an English buyer)."""
    body = "  \n ".join("Lieferung Ihres Sofas ist leider verspätet heute".split()[:words]) + "  "
    assert ("LNG001" in codes(request(subject="Sofa", body=body), order(buyer_locale="en_US"))) is judged


def issue(body: str) -> dict:
    return request(contact_reason="order_issue", body=f"Order {ORDER_ID}: {body}")


@pytest.mark.parametrize("body", [
    "the mug is out of stock.",
    "Der Artikel ist leider nicht mehr lieferbar.",
    "L'article est en rupture de stock.",
    "We refunded part of your order.",
    "商品が在庫切れとなりました。",
])
def test_tpl001_fires_without_adjustment_or_reason(body):
    assert "TPL001" in codes(issue(body), order())


@pytest.mark.parametrize("body", [
    "the mug is out of stock, so we refunded it and adjusted your order.",
    "Der Artikel ist nicht mehr lieferbar; wir haben den Betrag erstattet.",
    "the delivery address seems incomplete; which floor do you live on?",
])
def test_tpl001_silent_on_complete_or_other_issues(body):
    assert "TPL001" not in codes(issue(body), order())


def test_lng001_strips_urls_numbers_and_emails_as_the_single_alternation_did():
    """The per-message choice of alternation (URL / e-mail parts only when the text can hold one)
    must strip exactly what the full alternation strips."""
    import re

    from streams.policy.rules import identity

    full = re.compile("|".join((identity._STRIP_URL, identity._STRIP_NUMBER, identity._STRIP_EMAIL)))
    texts = ["Order 123-1234567-1234567 ships on 24.11.2026 at 10:30.",
             "See https://www.amazon.de/gp/css and www.dhl.de/track?id=42 for details.",
             "Write to a.b@example.com or c@d, call 030 1234567.",
             "HTTPS://EXAMPLE.COM WWW.EXAMPLE.COM x@y 1.5 v2",
             "no digits, no links, no addresses here", "", "@@@ :// www."]
    for text in texts:
        assert identity._strip_for_language(text) == full.sub(" ", text), text


def test_lng001_the_vote_before_stripping_decides_as_stripping_first_did():
    """LNG001 takes the function-word vote on the unstripped text when it has no URL or e-mail
    address (only numbers would go, and they hold no words). Random texts of function words,
    numbers, order IDs, URLs, addresses and kana, to every buyer language: the same finding as
    the check that always stripped first."""
    import random

    from streams.policy.rules import identity

    def stripped_first(text: str, expected: str) -> bool:
        text = identity._strip_for_language(text)
        cjk = identity._cjk_count(text)
        if len(text.split(None, identity.MIN_WORDS - 1)) < identity.MIN_WORDS and cjk < identity.MIN_CJK_CHARS:
            return False
        if identity._clearly_written_in(expected, text, cjk):
            return False
        return identity._language_identifier().classify(text)[0] != expected

    pieces = ["the", "and", "your", "der", "und", "Ihre", "vous", "nous", "usted", "gracias", "grazie", "sono",
              "sofa", "Lieferung", "livraison", "entrega", "consegna", "12", "9:30", ORDER_ID, "24.11.2026",
              "https://www.the.example/your/order", "www.und.example", "thank.you@our.example", "@",
              "ソファ", "の", "配送", "です", ".", ",", "\n"]
    rng = random.Random(11)
    for _ in range(3_000):
        body = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        lang = rng.choice(["en", "de", "fr", "es", "it", "ja"])
        fired = "LNG001" in codes(request(subject="Sofa", body=body), order(buyer_locale=f"{lang}_XX"))
        assert fired == stripped_first(body, lang), (body, lang)


def test_lng001_clear_vote_is_the_counted_vote():
    """`_clearly_written_in` counts votes with list.count and a shortcut; the reference counts
    them all (collections.Counter) and counts kana one by one, as it did before."""
    import random
    import re
    from collections import Counter

    from streams.policy.rules import identity

    def counted(expected: str, text: str) -> bool:
        if expected == "ja":
            return len(re.findall(r"[\u3040-\u30ff]", text)) >= identity.MIN_CJK_CHARS
        if re.search(r"[\u3040-\u9fff]", text):
            return False
        votes = Counter(map(identity._WORD_LANGUAGE.get, re.findall(r"[^\W\d_]+", text.lower())))
        own = votes[expected]
        return own >= 4 and own >= 3 * max(votes[other] for other in identity._FUNCTION_WORDS if other != expected)

    others = ["Sofa", "Ihre", "THE", "Für", "ÈTÉ", "配", "送", "ŁÓDŹ", "42", "-", " "]
    kana = ["ソ", "フ", "ァ", "の", "ッ", "ください"]
    rng = random.Random(13)
    outcomes = Counter()
    for _ in range(20_000):
        # mostly one language's function words (or kana), mixed with others: near the thresholds
        main = rng.choice([*identity._FUNCTION_WORDS, "ja"])
        main_words = kana if main == "ja" else identity._FUNCTION_WORDS[main]
        share = rng.random()
        text = " ".join(rng.choice(main_words) if rng.random() < share else
                        rng.choice(others + rng.choice(list(identity._FUNCTION_WORDS.values())) + kana)
                        for _ in range(rng.randint(0, 30)))
        for lang in ("en", "de", "fr", "es", "it", "ja"):
            clear = identity._clearly_written_in(lang, text)
            assert clear == counted(lang, text), (lang, text)
            outcomes[clear] += 1
    assert outcomes[True] > 3_000 and outcomes[False] > 50_000   # both sides are exercised

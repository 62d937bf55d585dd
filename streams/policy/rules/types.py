"""Prohibited message types (RULES.md section 3)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..analysis import normalize
from .. import lexicons
from ..model import ORDER_ID_RE, Context, Finding


def repeat_review_request(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a second review or feedback request for the same order.

    Why is this bad: Amazon allows one review/seller-feedback request per order. Requests the
    gateway approved before and those Amazon recorded (a `review_solicited` order event, e.g.
    from the "Request a Review" button) both count.

    Example: a `review_request` for an order whose `review_requests` is 1.
    Passes: the first `review_request` (`review_requests` is 0).
    """
    if ctx.reason == "review_request" and ctx.order and ctx.order.get("review_requests", 0) >= 1:
        yield Finding(f"review_requests = {ctx.order['review_requests']}",
                      "This order already had a review request; Amazon allows only one per order.")


def _lexicon_finding(ctx: Context, category: str, detail: str) -> Iterator[Finding]:
    match = lexicons.search(category, ctx.analysis.norm_text)
    if match:
        yield Finding(match.group(0).strip(), detail)


def review_incentive(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks offering anything in return for a review or feedback.

    Why is this bad: Amazon forbids incentives for reviews: money, gift cards, free or
    discounted products, refunds, rebates, reimbursements, giveaway entries, any future
    benefit. The incentive and the review must be in the same sentence, so a free replacement
    for a defective item is not an incentive. Six languages, with paraphrases.

    Example: "Leave a review and we will send you a $10 gift card." / "Gratis-Gutschein für Ihre Bewertung".
    Passes: "We are sending you a free replacement for the broken mug."
    """
    yield from _lexicon_finding(ctx, "review_incentive",
                                "Offering anything in return for a review or feedback is prohibited.")


def review_change_request(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks asking the buyer to remove, change or update a review or feedback.

    Why is this bad: Amazon forbids asking buyers to change or remove existing reviews or
    feedback, in any language or wording.

    Example: "Could you please remove your negative feedback?" / "Bitte ändern Sie Ihre Bewertung."
    Passes: "If you have questions about the product, reply to this message."
    """
    yield from _lexicon_finding(ctx, "review_change",
                                "Asking a buyer to change or remove a review or feedback is prohibited.")


def cancellation_request(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks asking the buyer to submit a cancellation request.

    Why is this bad: a seller that cannot fulfil an order must cancel it itself; pushing the
    buyer to request the cancellation hides the seller's cancellation rate.

    Example: "Please cancel the order from your side." / "Veuillez annuler votre commande."
    Passes: "We had to cancel the order because the item is out of stock; you have been refunded."
    """
    yield from _lexicon_finding(ctx, "cancellation_request",
                                "Do not ask the buyer to request a cancellation; cancel the order yourself if needed.")


def off_platform_payment(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks asking for payment or offering refunds outside Amazon.

    Why is this bad: all payments and refunds go through Amazon. PayPal (also spelled out with
    dots or spaces), Venmo, Zelle, bank/wire transfers, IBAN, cash, and their equivalents in the
    six marketplace languages fire.

    Example: "We can refund you via P.a.y.P.a.l" / "Bitte per Überweisung zahlen".
    Passes: "Your refund has been issued through Amazon and appears in 3-5 days."
    """
    yield from _lexicon_finding(ctx, "off_platform_payment",
                                "Payments and refunds must go through Amazon only.")


def order_or_shipping_confirmation(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks order confirmations and shipping confirmations.

    Why is this bad: Amazon sends order and shipping confirmations (with tracking) to the buyer
    itself; the older "Shipment Confirmation email" template is now prohibited.

    Example: "Your order has been shipped! Your tracking number is 1Z999..." / "Ihre Bestellung wurde versandt."
    Passes: "Your order will ship two days later than promised; we apologise."
    """
    yield from _lexicon_finding(ctx, "shipping_confirmation",
                                "Amazon sends order and shipping confirmations itself; do not send them.")


def review_manipulation(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks asking for a positive review, or only satisfied buyers, or steering unhappy ones away.

    Why is this bad: Amazon requires neutral review requests: no "5-star review", no "if you are
    happy, leave a review", no "if not satisfied, contact us before leaving a review".

    Example: "If you are happy, please leave us a 5-star review!" / "Wenn Sie zufrieden sind, bewerten Sie uns."
    Passes: "We would appreciate your honest review of the product."
    """
    yield from _lexicon_finding(ctx, "review_manipulation",
                                "Review requests must be neutral: no asking for positive reviews or only from happy buyers.")


def marketing_or_promotion(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks marketing and promotional content.

    Why is this bad: Amazon forbids coupons, discount codes, sales, other or new products,
    "follow us", newsletters and similar promotion in buyer messages. A discount line on an
    invoice is not promotion: only offers aimed at a future purchase fire.

    Example: "Use discount code SAVE10 on your next order!" / "Folgen Sie uns auf Instagram."
    Passes: "Invoice attached: Mug 12.00, discount -2.00, total 10.00."
    """
    yield from _lexicon_finding(ctx, "marketing", "Marketing and promotional content is not allowed.")


_SENTENCE_SPLIT = re.compile(r"[.!?。！？\n]+")


def thank_you_only(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a message that only says thank you, or only offers help if the buyer has questions.

    Why is this bad: Amazon does not permit messages whose only content is thanks or "let us
    know if you have questions". Each sentence of the body is classed as thanks/availability,
    greeting or sign-off (six languages); order IDs and a short signature line are ignored. If nothing else is left and at
    least one sentence is thanks or availability, the rule fires.

    Example: "Hello John, thank you for your order 123-1234567-1234567! If you have any questions, let us know. Best regards"
    Passes: "Thank you for your order 123-1234567-1234567. The sofa will arrive on Tuesday between 9 and 12."
    """
    if not lexicons.may_match("thanks", ctx.analysis.norm_text):
        return  # no sentence can thank or offer help
    thanks, courtesy = lexicons.pattern("thanks"), lexicons.pattern("courtesy")
    body = ORDER_ID_RE.sub(" ", normalize(ctx.analysis.text).lower())
    sentences = [s for s in (s.strip(" ,;:-()") for s in _SENTENCE_SPLIT.split(body)) if s]
    if len(sentences) > 1 and len(sentences[-1].split()) <= 3:
        sentences.pop()  # the signature: a shop or person name after the sign-off
    saw_thanks = False
    for sentence in sentences:
        if thanks.search(sentence):
            saw_thanks = True
        elif not (courtesy.search(sentence) and len(sentence.split()) <= 6):
            return
    if saw_thanks:
        yield Finding(" ".join(ctx.analysis.text.split())[:160],
                      "A message that only thanks the buyer or offers help is not a permitted message.")

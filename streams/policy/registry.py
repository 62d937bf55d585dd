"""The one table of rules: code -> rule (compare ruff's `codes.rs`).

Codes are the public contract (RULES.md): never renumber, retire instead. Adding a rule is
one function in its family module plus one line here plus its tests. A `gate` is optional:
give one when the rule can only fire on messages with certain facts (model.FACTS, or a
prefilter name); tests/policy/test_gates.py then checks that it changes no decision.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..config import SellerConfig
from .model import Context, Finding
from .rules import content, identity, optout, reasons, style, timing, types, volume

Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    default_action: str         # "block" | "warn"
    check: Check
    retryable: bool = False     # blocked now, may pass later (unknown order, daily cap)
    needs_order: bool = False   # skipped when the order is unknown (ORD001 covers it)
    # the default may depend on the seller's configuration (CNT010 blocks once brand hosts are set)
    default_for_config: Callable[[SellerConfig], str] | None = None
    # Facts (model.FACTS or prefilter names) of which the message must have at least one for the
    # check to be able to fire; None: always run. Skipping the call is the engine's main saving:
    # most messages have no links, styles or lexicon hits. tests/policy/test_gates.py compares
    # gated and ungated decisions; a wrong gate would silently disable its rule.
    gate: frozenset[str] | None = None

    def default_for(self, config: SellerConfig) -> str:
        return self.default_for_config(config) if self.default_for_config else self.default_action

    @property
    def family(self) -> str:
        return self.check.__module__.rsplit(".", 1)[-1]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        first = self.doc.split("\n", 1)[0]
        return first.removeprefix("What it does: ")


def when(*facts: str) -> frozenset[str]:
    return frozenset(facts)


RULES: tuple[Rule, ...] = (
    # 1. who, why, when
    Rule("REA001", "contact-reason-not-permitted", "block", reasons.contact_reason_not_permitted),
    Rule("REA002", "contact-reason-invalid-for-order-state", "block", reasons.contact_reason_invalid_for_order_state, needs_order=True),
    Rule("TIM001", "outside-completion-window", "block", timing.outside_completion_window, needs_order=True, gate=when("delivered")),
    Rule("TIM002", "review-request-timing", "block", timing.review_request_timing, needs_order=True, gate=when("review_request")),
    Rule("ORD001", "order-unknown", "block", reasons.order_unknown, retryable=True),
    # 2. required content
    Rule("ID001", "missing-order-id", "block", identity.missing_order_id),
    Rule("ID002", "foreign-order-id", "block", identity.foreign_order_id),
    Rule("TPL001", "unavailable-without-adjustment", "block", identity.unavailable_without_adjustment, gate=when("order_issue")),
    Rule("LNG001", "wrong-language", "block", identity.wrong_language, needs_order=True),
    # 3. prohibited types
    Rule("TYP001", "order-or-shipping-confirmation", "block", types.order_or_shipping_confirmation, gate=when("shipping_confirmation")),
    Rule("TYP002", "thank-you-only", "block", types.thank_you_only, gate=when("thanks")),
    Rule("TYP003", "marketing-or-promotion", "block", types.marketing_or_promotion, gate=when("marketing")),
    Rule("TYP004", "review-incentive", "block", types.review_incentive, gate=when("review_incentive")),
    Rule("TYP005", "review-change-request", "block", types.review_change_request, gate=when("review_change")),
    Rule("TYP006", "review-manipulation", "block", types.review_manipulation, gate=when("review_manipulation")),
    Rule("TYP007", "repeat-review-request", "block", types.repeat_review_request, needs_order=True, gate=when("review_request")),
    Rule("TYP008", "cancellation-request", "block", types.cancellation_request, gate=when("cancellation_request")),
    Rule("TYP009", "off-platform-payment", "block", types.off_platform_payment, gate=when("off_platform_payment")),
    # 4. content
    Rule("CNT001", "external-link", "block", content.external_link, gate=when("links")),
    Rule("CNT002", "insecure-link", "block", content.insecure_link, gate=when("links")),
    Rule("CNT003", "attachment-not-permitted", "block", content.attachment_not_permitted, gate=when("attachments")),
    Rule("CNT004", "logo-with-link", "block", content.logo_with_link, gate=when("images")),
    Rule("CNT005", "opt-out-link", "block", content.opt_out_link, gate=when("links", "opt_out")),
    Rule("CNT006", "sensitive-content", "block", content.sensitive_content, gate=when("sensitive", "images")),
    Rule("CNT007", "tracking-pixel", "block", content.tracking_pixel, gate=when("images")),
    Rule("CNT008", "contact-details", "block", content.contact_details, gate=when("mailto", "spaced_chars", "email", "phone")),
    Rule("CNT009", "product-image", "block", content.product_image, gate=when("images")),
    Rule("CNT010", "unrelated-image", "warn", content.unrelated_image,
         default_for_config=lambda config: "block" if config.brand_image_hosts else "warn",
         gate=when("images")),
    # 5. style
    Rule("STY001", "accessibility", "block", style.accessibility, gate=when("images", "links", "tables")),
    Rule("STY002", "emoji", "block", style.emoji_used, gate=when("non_ascii")),
    Rule("STY003", "animated-gif", "block", style.animated_gif, gate=when("images", "attachments")),
    Rule("STY004", "wide-margin", "block", style.wide_margin, gate=when("styles")),
    Rule("STY005", "oversized-image", "block", style.oversized_image, gate=when("images")),
    Rule("STY006", "default-style-override", "block", style.default_style_override, gate=when("styles")),
    Rule("STY007", "too-many-fonts", "block", style.too_many_fonts, gate=when("styles")),
    Rule("STY008", "text-alignment", "block", style.text_alignment, gate=when("styles")),
    Rule("STY009", "excess-line-breaks", "block", style.excess_line_breaks, gate=when("breaks")),
    Rule("STY010", "insecure-image", "block", style.insecure_image, gate=when("images")),
    Rule("STY011", "spelling-grammar", "warn", style.spelling_grammar),
    # 6. opt-out
    Rule("OPT001", "buyer-opted-out", "block", optout.buyer_opted_out, needs_order=True, gate=when("opted_out")),
    Rule("OPT002", "important-tag-required", "block", optout.important_tag_required, needs_order=True, gate=when("opted_out")),
    Rule("OPT003", "important-tag-misuse", "block", optout.important_tag_misuse),
    # 6b. volume: needs the seller-keyed stage's usage (Context.seller_usage); silent without it
    Rule("VOL001", "daily-limit-exceeded", "block", volume.daily_limit_exceeded, retryable=True),
)

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
RULE_CODES: frozenset[str] = frozenset(RULES_BY_CODE)
assert len(RULES_BY_CODE) == len(RULES), "duplicate rule code in the registry"

"""Opt-out and the [Important] tag (RULES.md section 6)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..model import IMPORTANT_TAG_RE, Context, Finding

# Look-alike tags that Amazon does not honour; removed from the suggested subject.
FAKE_TAG_RE = re.compile(r"^\s*(?:\(important\)|important\s*:|\*\*important\*\*|\[important\])\s*", re.IGNORECASE)


def buyer_opted_out(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a non-critical proactive message to a buyer who opted out.

    Why is this bad: Amazon bounces non-critical messages to opted-out buyers. Replies to the
    buyer are still delivered, so they pass.

    Example: a `review_request` to an opted-out buyer.
    Passes: a `reply_to_buyer` to an opted-out buyer.
    """
    if ctx.order and ctx.order.get("buyer_opted_out") and ctx.proactive and not ctx.critical:
        yield Finding(f"buyer opted out; '{ctx.reason}' is not critical",
                      "The buyer opted out of non-critical messages, so Amazon would bounce this one.")


def suggested_subject(subject: str, mode: str) -> str:
    bare = FAKE_TAG_RE.sub("", IMPORTANT_TAG_RE.sub("", subject)).strip() if subject else ""
    bare = re.sub(r"\s{2,}", " ", bare)
    return bare if mode == "critical_template" else f"[Important] {bare}".strip()


def important_tag_required(ctx: Context) -> Iterator[Finding]:
    """What it does: routes a critical message to an opted-out buyer to `needs_important`.

    Why is this bad: a critical message (delivery, missing information, return...) reaches an
    opted-out buyer only when it is flagged `[Important]`. In `subject_tag` mode a valid tag in
    the subject (square brackets, any case, anywhere) is enough; `(Important)` or `Important:`
    are not. In `critical_template` mode (Amazon's newer mechanism) a subject tag never counts:
    the message must be resent through Amazon's critical contact reason template.
    The decision carries a `suggested_subject`.

    Example: `delivery_delay` to an opted-out buyer with subject `Important: your delivery`.
    Passes: the same message with subject `[Important] Your delivery` (subject_tag mode).
    """
    if not (ctx.order and ctx.order.get("buyer_opted_out") and ctx.critical):
        return
    if ctx.config.important_mode == "critical_template":
        yield Finding(ctx.subject or "(empty subject)",
                      "The buyer opted out; resend this through Amazon's critical contact-reason template, "
                      "which Amazon flags [Important] itself (a subject tag does not count).")
    elif not ctx.has_important_tag:
        yield Finding(ctx.subject or "(empty subject)",
                      "The buyer opted out; this critical message needs the [Important] tag in its subject.")


def important_tag_misuse(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks `[Important]` in the subject of a message that is not critical.

    Why is this bad: misusing the tag to get past an opt-out can cost the seller its selling
    privileges. Critical reasons are listed in RULES.md (`invoice` only if the seller made it so).

    Example: `[Important] Please review your purchase` as a `review_request`.
    Passes: `[Important] Delivery appointment needed` as `heavy_bulky_delivery`.
    """
    match = IMPORTANT_TAG_RE.search(ctx.subject)
    if match and not ctx.critical:
        yield Finding(match.group(0), f"'{ctx.reason}' is not a critical message, so it must not carry the [Important] tag.")

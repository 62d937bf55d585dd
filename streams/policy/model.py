"""What rules receive (`Context`) and what they return (`Finding`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import SellerConfig
from . import lexicons
from .analysis import Analysis, analyse, cached

IMPORTANT_TAG_RE = re.compile(r"\[important\]", re.IGNORECASE)


class Caseless:
    """A case-insensitive pattern for yes/no questions, fast on ASCII text.

    `re` cannot skip ahead to candidate positions under IGNORECASE: an alternation of words cost
    5-9x more than the same pattern without it (7.8 vs 0.9 us on an image URL). ASCII text is
    lower-cased and searched case-sensitively (for ASCII text the same answer: no Unicode case
    folding can apply); other text takes the IGNORECASE pattern. The match is on the lower-cased
    text, so use it as a yes/no, not for evidence.
    """

    def __init__(self, pattern: str):
        # Every letter of the pattern must be lower case (escapes like \S aside), or the
        # case-sensitive copy would miss what IGNORECASE finds.
        assert not re.search(r"[A-Z]", re.sub(r"\\.", "", pattern)), pattern
        self.caseless = re.compile(pattern, re.IGNORECASE)
        self.lowered = re.compile(pattern)
        self.pattern = pattern

    def search(self, text: str) -> re.Match | None:
        if text.isascii():
            return self.lowered.search(text.lower())
        return self.caseless.search(text)


# "(\d\d\d)(?<!\d{4})" is "(?<!\d)(\d{3})" (no digit before the three): a pattern whose first item is
# a digit class lets `re` skip to candidate positions; a lookbehind or a counted repeat ("\d{3}")
# first does not (measured -40%, then -30%).
ORDER_ID_RE = re.compile(r"(\d\d\d)(?<!\d{4})\s?[-‐‑‒–—―−]\s?(\d{7})\s?[-‐‑‒–—―−]\s?(\d{7})(?!\d)")


# What a message has, for the rule gates (registry.Rule.gate): a rule whose gate names none of
# its message's facts cannot fire and is not called. Besides these, every name the prefilter
# reports for the message's normalised text is a fact ("marketing", "phone", ...).
FACTS = frozenset({"links", "mailto", "images", "styles", "breaks", "tables", "attachments", "non_ascii",
                   "review_request", "order_issue", "opted_out", "delivered"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing: the exact offending snippet and one sentence a seller understands."""

    evidence: str
    detail: str


@dataclass
class Context:
    """Everything a rule may look at. Built once per message by the engine."""

    request: dict[str, Any]
    order: dict[str, Any] | None      # order-state snapshot, None if unknown
    config: SellerConfig
    now: datetime                     # the request's `requested_at`: the engine has no clock
    critical: bool
    seller_usage: dict[str, Any] | None = None   # VOL001: see gateway.seller_usage()

    @property
    def reason(self) -> str:
        return self.request["contact_reason"]

    @property
    def proactive(self) -> bool:
        return self.request["contact_reason"] != "reply_to_buyer"

    @property
    def subject(self) -> str:
        return self.request["subject"]

    @cached
    def analysis(self) -> Analysis:
        return analyse(self.request["subject"], self.request["body"], self.request["body_format"],
                       self.config.max_width_px)

    @cached
    def order_ids_mentioned(self) -> list[str]:
        """The normalised id ("123-1234567-1234567") of every 3-7-7 order id in subject or body.
        `findall` makes no match objects (~1 us less per message on the bench mix, where each
        has its id twice); `order_id_as_written` finds the snippet only when a finding needs it."""
        return [f"{a}-{b}-{c}" for a, b, c in ORDER_ID_RE.findall(self.analysis.norm_text)]

    def order_id_as_written(self, normalised: str) -> str:
        """How the message wrote `normalised` (one of `order_ids_mentioned`): the evidence."""
        for match in ORDER_ID_RE.finditer(self.analysis.norm_text):
            if "-".join(match.groups()) == normalised:
                return match.group(0)
        return normalised

    @cached
    def facts(self) -> frozenset[str]:
        """FACTS that hold for this message, plus the prefilter's candidate names (one scan)."""
        analysis, order = self.analysis, self.order
        found = set(lexicons.candidates(analysis.norm_text))
        if analysis.links:
            found.add("links")
            if any(link.scheme == "mailto" for link in analysis.links):
                found.add("mailto")
        if analysis.images:
            found.add("images")
        if analysis.styles or analysis.font_tags or analysis.style_blocks or analysis.center_tags:
            found.add("styles")
        if analysis.break_runs:
            found.add("breaks")
        if analysis.data_tables_without_headers:
            found.add("tables")
        if self.request.get("attachments"):
            found.add("attachments")
        if not analysis.full_text.isascii() or not analysis.alt_texts.isascii():
            found.add("non_ascii")
        reason = self.request["contact_reason"]
        if reason == "review_request" or reason == "order_issue":
            found.add(reason)
        if order is not None:
            if order.get("buyer_opted_out"):
                found.add("opted_out")
            if order.get("delivered_at"):
                found.add("delivered")
        return frozenset(found)

    @property
    def has_important_tag(self) -> bool:
        return IMPORTANT_TAG_RE.search(self.request["subject"]) is not None

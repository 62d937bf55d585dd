"""Rule family: volume (VOL001), Amazon's daily cap of proactive messages per seller.

The cap is a property of the seller, not of one order, so the stream computes the usage in
a seller-keyed stage (`streams.gateway.on_seller_message`) and hands it to the rule through
`Context.seller_usage`. The arithmetic lives here so the stream, `check` and the tests share it.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..model import Context, Finding

CAP_FLOOR = 600
CAP_PER_AVERAGE_ORDER = 5
AVERAGE_WINDOW_DAYS = 7

# Amazon counts per marketplace day: midnight in the marketplace's own time zone (the zone
# Seller Central reports in). Unknown marketplaces count in UTC.
MARKETPLACE_ZONES = {
    "ATVPDKIKX0DER": "America/Los_Angeles",   # US
    "A2EUQ1WTGCTBG2": "America/Los_Angeles",  # CA
    "A1AM78C64UM0Y8": "America/Mexico_City",  # MX
    "A2Q3Y263D00KWC": "America/Sao_Paulo",    # BR
    "A1F83G8C2ARO7P": "Europe/London",        # UK
    "A1PA6795UKMFR9": "Europe/Berlin",        # DE
    "A13V1IB3VIYZZH": "Europe/Paris",         # FR
    "A1RKKUPIHCS9HS": "Europe/Madrid",        # ES
    "APJ6JRA9NG5V4": "Europe/Rome",           # IT
    "A1805IZSGTT6HS": "Europe/Amsterdam",     # NL
    "AMEN7PMS3EDWL": "Europe/Brussels",       # BE
    "A2NODRKZP88ZB9": "Europe/Stockholm",     # SE
    "A1C3SOZRARQ6R3": "Europe/Warsaw",        # PL
    "A33AVAJ2PDY3EV": "Europe/Istanbul",      # TR
    "A2VIGQ35RCS4UG": "Asia/Dubai",           # AE
    "A17E79C6D8DWNP": "Asia/Riyadh",          # SA
    "ARBP9OOSHTCHU": "Africa/Cairo",          # EG
    "A21TJRUUN4KGV": "Asia/Kolkata",          # IN
    "A1VC38T7YXB528": "Asia/Tokyo",           # JP
    "A19VAU5U5O7RUS": "Asia/Singapore",       # SG
    "A39IBJ37TRP1C6": "Australia/Sydney",     # AU
}


def marketplace_zone(marketplace_id: str) -> ZoneInfo:
    return ZoneInfo(MARKETPLACE_ZONES.get(marketplace_id, "UTC"))


def marketplace_day(marketplace_id: str, moment: datetime) -> date:
    """The marketplace's calendar day at `moment` (an aware datetime)."""
    return moment.astimezone(marketplace_zone(marketplace_id)).date()


def day_starts_at(marketplace_id: str, day: date) -> datetime:
    """Midnight at the start of `day` in the marketplace's zone (aware)."""
    return datetime.combine(day, time(0), tzinfo=marketplace_zone(marketplace_id))


def daily_cap(orders_in_window: int, margin: int = 0) -> int:
    """5 × average daily orders over the 7 days before today + 600, minus the seller's margin.

    A seller with no orders in the window gets the floor of 600 (minus the margin).
    """
    average_part = CAP_PER_AVERAGE_ORDER * orders_in_window // AVERAGE_WINDOW_DAYS
    return max(0, average_part + CAP_FLOOR - margin)


def window_days(day: date) -> list[date]:
    """The 7 whole marketplace days before `day` whose orders set the cap of `day`."""
    return [day - timedelta(days=n) for n in range(1, AVERAGE_WINDOW_DAYS + 1)]


def daily_limit_exceeded(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a proactive message once the seller reached Amazon's daily message cap.

    Why is this bad: Amazon caps each seller's proactive messages per marketplace day at
    5 × the seller's average daily orders over the last 7 days + 600 and rejects the rest;
    a campaign that hits the cap loses messages the seller needed. The check reads the
    seller's usage for the marketplace day of `requested_at` (messages approved so far and
    the cap, from the seller-keyed stage); the day follows the marketplace's time zone.
    Replies (`reply_to_buyer`) do not count. Blocked with `retryable: true`: it may be
    sent after the cap resets at the marketplace's midnight. A seller may keep a safety
    margin below Amazon's cap (`daily_cap_margin`).

    Example: the 1,101st proactive message of the day for a seller with 100 orders/day.
    Passes: the 1,100th; or the 1,101st on the next marketplace day; or any reply.
    """
    usage = ctx.seller_usage
    if usage is None or not ctx.proactive:
        return
    if usage["sent_today"] >= usage["cap"]:
        yield Finding(
            f"{usage['sent_today']} of {usage['cap']} proactive messages used on {usage['day']}",
            f"The seller's daily cap of {usage['cap']} proactive messages for this marketplace is used up "
            f"({usage['orders_in_window']} orders in the last 7 days); it resets at {usage['resets_at']}.")

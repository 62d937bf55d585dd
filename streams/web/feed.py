"""What the dashboard shows: a live summary of the output topics, kept in memory by each worker.

The feed reads the output topics with a plain consumer outside the group (every partition,
no commits), so each worker's dashboard shows the whole gateway, not only its partitions.
It starts a little before the end of each partition (`BACKFILL` records), so a fresh page has
recent history. Approved decisions (most of the traffic) are not read at all: they are counted
from the end offsets of `messages.approved` (`ApprovedCounter`), so N workers do not each fetch
the whole topic. Pure bookkeeping here; the consumer lives in `streams/web/views.py`.
"""
from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field

from ..timeutil import format_ts, utcnow

BACKFILL = 200          # records per partition read from before the worker started
RECENT = 1000           # blocked / needs-important decisions kept for the table and detail views
RATE_WINDOW_S = 60.0


@dataclass
class Feed:
    since: str = field(default_factory=lambda: format_ts(utcnow()))
    routes: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)
    blocked_sellers: Counter = field(default_factory=Counter)
    dead_letters: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))
    recent_dead: deque = field(default_factory=lambda: deque(maxlen=100))
    _buckets: deque = field(default_factory=deque)    # (whole second, Counter of routes) for rates
    by_id: dict = field(default_factory=dict)

    def add(self, topic: str, record: dict, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if topic == "messages.dead-letter":
            self.dead_letters += 1
            self.recent_dead.append({k: record.get(k) for k in ("reason", "kind", "topic", "partition", "offset",
                                                                "key", "received_at")})
            self._arrive("dead_letter", 1, now)
            return
        route = record.get("route")
        if route not in ("approved", "blocked", "needs_important"):
            return
        self.routes[route] += 1
        self._arrive(route, 1, now)
        for finding in record.get("violations", []) + record.get("warnings", []):
            self.codes[finding.get("code")] += 1
        if route == "approved":
            return
        if route == "blocked":
            self.blocked_sellers[record.get("seller_id")] += 1
        if len(self.recent) == self.recent.maxlen:
            oldest = self.recent[0]
            self.by_id.pop(oldest.get("message_id"), None)
        self.recent.append(record)
        self.by_id[record.get("message_id")] = record

    def count_approved(self, count: int, now: float | None = None) -> None:
        """Approved decisions are counted without decoding them (their warnings are not ranked)."""
        now = time.monotonic() if now is None else now
        self.routes["approved"] += count
        self._arrive("approved", count, now)

    def _arrive(self, route: str, count: int, now: float) -> None:
        second = int(now)
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append((second, Counter()))
        self._buckets[-1][1][route] += count

    def rates(self, now: float | None = None) -> dict[str, float]:
        now = time.monotonic() if now is None else now
        while self._buckets and self._buckets[0][0] < now - RATE_WINDOW_S:
            self._buckets.popleft()
        counts = Counter()
        for _, bucket in self._buckets:
            counts.update(bucket)
        return {route: round(counts[route] / RATE_WINDOW_S, 2)
                for route in ("approved", "blocked", "needs_important", "dead_letter")}

    def summary(self, top: int = 10) -> dict:
        return {"since": self.since, "routes": {r: self.routes[r] for r in ("approved", "blocked", "needs_important")},
                "dead_letters": self.dead_letters, "per_second": self.rates(),
                "top_codes": [{"code": c, "count": n} for c, n in self.codes.most_common(top)],
                "top_blocked_sellers": [{"seller_id": s, "blocked": n} for s, n in self.blocked_sellers.most_common(top)],
                "recent_dead_letters": list(self.recent_dead)[-10:][::-1]}

    def decisions(self, seller: str | None = None, marketplace: str | None = None, code: str | None = None,
                  route: str | None = None, limit: int = 100) -> list[dict]:
        """Latest blocked / needs-important decisions first, filtered, as table rows."""
        rows = []
        for record in reversed(self.recent):
            request = record.get("request") or {}
            codes = [f.get("code") for f in record.get("violations", [])]
            if seller and record.get("seller_id") != seller:
                continue
            if marketplace and request.get("marketplace_id") != marketplace:
                continue
            if code and code not in codes and code not in [w.get("code") for w in record.get("warnings", [])]:
                continue
            if route and record.get("route") != route:
                continue
            rows.append({"message_id": record.get("message_id"), "order_id": record.get("order_id"),
                         "seller_id": record.get("seller_id"), "marketplace_id": request.get("marketplace_id"),
                         "route": record.get("route"), "decided_at": record.get("decided_at"),
                         "codes": codes, "findings": [{k: f.get(k) for k in ("code", "evidence", "detail")}
                                                      for f in record.get("violations", [])],
                         "subject": request.get("subject", "")[:200]})
            if len(rows) >= limit:
                break
        return rows


class ApprovedCounter:
    """Approved decisions counted from the end offsets of `messages.approved`'s partitions.

    Each poll's growth of the end offsets is what arrived since. The first poll counts the last
    `BACKFILL` records per partition, as the decoded topics start that far back. A partition
    whose end went backwards (topic recreated) restarts from its new end. Under
    `processing_guarantee = "exactly_once"` transaction markers take offsets too, so the count
    is a little high there.
    """

    def __init__(self) -> None:
        self._ends: dict = {}

    def advance(self, ends: dict, starts: dict | None = None) -> int:
        """`ends` (and for new partitions `starts`): partition -> offset. Returns the new count."""
        arrived = 0
        for partition, end in ends.items():
            seen = self._ends.get(partition)
            if seen is None:
                start = (starts or {}).get(partition, end)
                seen = max(start, end - BACKFILL)
            if end >= seen:
                arrived += end - seen
            self._ends[partition] = end
        return arrived

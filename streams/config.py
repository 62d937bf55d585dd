"""Per-seller configuration: built-in defaults, a `[defaults]` table, and `[sellers.ID]` overrides.

One TOML file serves a platform with 10,000 sellers: a seller without a section gets the
defaults. The file is read and validated once at start-up; `for_seller()` resolves a
seller's settings once and caches the result, so the hot path never parses anything.

    [gateway]
    grace_period_seconds = 30
    max_record_bytes = 10485760      # size limits: see GatewaySettings

    [defaults]
    max_width_px = 600
    review_window_days = [5, 30]
    allowed_link_hosts = ["help.example-carrier.com"]   # added to the built-in allow-list

    [defaults.rules]          # code = "block" | "warn" | "off"
    STY011 = "warn"

    [sellers.A2EXAMPLE]
    brand_image_hosts = ["cdn.mybrand.example"]
    critical_reasons = ["invoice"]
    rules = { STY011 = "block" }
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

# Amazon's marketplaces and the major carriers of each marketplace (CNT001 allow-list).
DEFAULT_LINK_HOSTS: tuple[str, ...] = (
    # Amazon
    "amazon.com", "amazon.ca", "amazon.com.mx", "amazon.com.br", "amazon.co.uk", "amazon.de",
    "amazon.fr", "amazon.es", "amazon.it", "amazon.nl", "amazon.se", "amazon.pl", "amazon.com.be",
    "amazon.com.tr", "amazon.ae", "amazon.sa", "amazon.eg", "amazon.in", "amazon.co.jp",
    "amazon.sg", "amazon.com.au", "amzn.to", "a.co", "amazonlogistics.com", "amazon.jobs",
    # US / CA / MX / BR
    "ups.com", "fedex.com", "usps.com", "dhl.com", "ontrac.com", "lasership.com", "canadapost.ca",
    "canadapost-postescanada.ca", "purolator.com", "estafeta.com", "correios.com.br",
    # UK
    "royalmail.com", "parcelforce.com", "evri.com", "dpd.co.uk", "yodel.co.uk", "dhl.co.uk",
    # DE / AT / NL / PL / SE
    "dhl.de", "dpd.de", "dpd.com", "hermesworld.com", "myhermes.de", "gls-group.eu", "gls-group.com",
    "post.at", "postnl.nl", "inpost.pl", "postnord.se",
    # FR / ES / IT
    "laposte.fr", "colissimo.fr", "chronopost.fr", "dpd.fr", "mondialrelay.fr", "correos.es",
    "seur.com", "mrw.es", "gls-spain.es", "poste.it", "brt.it", "sda.it", "gls-italy.com",
    # JP
    "japanpost.jp", "post.japanpost.jp", "kuronekoyamato.co.jp", "sagawa-exp.co.jp",
)

# Contact reasons of RULES.md section 1 and whether each is critical.
CRITICAL_REASONS: frozenset[str] = frozenset({
    "order_fulfillment", "additional_info_required", "heavy_bulky_delivery",
    "home_service_appointment", "custom_design_confirmation", "order_issue",
    "delivery_delay", "return_inquiry",
})
PERMITTED_REASONS: frozenset[str] = CRITICAL_REASONS | {
    "invoice", "review_request", "other_purchase_related", "reply_to_buyer",
}
# `invoice` is the one reason a tenant may declare critical.
CONFIGURABLY_CRITICAL: frozenset[str] = frozenset({"invoice"})
ACTIONS = ("block", "warn", "off")
IMPORTANT_MODES = ("subject_tag", "critical_template")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file, seller and key."""


@dataclass(frozen=True)
class SellerConfig:
    max_width_px: int = 600
    review_window_days: tuple[int, int] = (5, 30)
    completion_window_days: int = 30
    link_hosts: frozenset[str] = frozenset(DEFAULT_LINK_HOSTS)
    brand_image_hosts: frozenset[str] = frozenset()
    critical_reasons: frozenset[str] = CRITICAL_REASONS
    rule_actions: dict[str, str] = field(default_factory=dict)  # code -> block|warn|off
    important_mode: str = "subject_tag"
    daily_cap_margin: int = 0

    def action_for(self, code: str, default: str) -> str:
        return self.rule_actions.get(code, default)


@dataclass(frozen=True)
class GatewaySettings:
    grace_period_seconds: float = 30.0
    max_pending_per_partition: int = 10_000
    # "at_least_once" (default) or "exactly_once" (Kafka transactions; see README "Guarantees").
    processing_guarantee: str = "at_least_once"
    # Size limits, enforced at the edge before any JSON or HTML parsing (records.py). Defaults
    # follow Amazon's own where it publishes one: the e-mail relay takes at most 10 MB per
    # message; the Messaging API at most 5 attachments.
    max_record_bytes: int = 10 * 1024 * 1024      # a whole request record, JSON included
    max_subject_chars: int = 250                  # no published limit; mail clients cut ~250
    max_body_chars: int = 5 * 1024 * 1024         # half the relay's 10 MB; a message is rarely 10 kB
    max_attachments: int = 5                      # Messaging API
    max_attachment_bytes: int = 10 * 1024 * 1024  # each, as declared in size_bytes (relay limit)
    # HTML bombs: counted on the raw body ("<" and "=" are upper bounds of tags and attributes),
    # so a body that would take libxml2 seconds (its attribute check is quadratic) is never parsed.
    max_html_tags: int = 50_000
    max_html_attributes: int = 20_000
    # The order stage takes up to order_batch_max records at a time, or what arrived within
    # order_batch_window_ms; a batch's seller-stage hops go out as one record per partition.
    # Bigger batches: more throughput, more latency (docs/benchmarks.md); 1 is one at a time.
    # 20 ms, not 10: ~10% more msgs/s and ~10% less CPU per request in bench e2e (fewer hop
    # records per approval), for ~5 ms more latency on average.
    order_batch_max: int = 500
    order_batch_window_ms: int = 20
    # How long the broker may hold a worker's fetch when it has nothing new (Faust passes 1500 ms).
    # aiokafka sends no fetch while one is in flight: a fetch of only the quiet partitions (the
    # busy ones still had records waiting in the worker) held the busy ones back for up to this
    # long. At 1500 ms, bench e2e's latency at 250/s was p50 ~2.7 s in 4 of 6 runs; at 100 ms,
    # 0.10-0.28 s in 8 of 8 (docs/benchmarks.md). An idle worker then asks ~10 times a second.
    fetch_max_wait_ms: int = 100
    # The order stage judges the approvals of seller-stage partitions this worker holds itself,
    # once nothing for them is on its way (LocalSellerPartitions): no hop, p99 at half rate
    # 79-151 ms instead of 180-340 (docs/benchmarks.md). false: every approval takes the hop.
    # Under exactly_once it is off whatever this says.
    seller_stage_local: bool = True
    # RocksDB store only: block cache + memtables of all the worker's tables and partitions together.
    rocksdb_memory_mb: int = 128
    # Retention: an order with no event and no message for this many days is forgotten (a later
    # message for it is ORD001, retryable); 0 keeps orders forever. It must outlast every seller's
    # completion and review windows. Seller day counts and approved-message ids go after 9 days.
    order_retention_days: int = 120
    sweep_interval_seconds: float = 3600.0
    # Python's full garbage collection walks every object the tables hold (35 ms at 5,000 orders,
    # seconds at a million in memory) with the worker stopped; this often, what is alive moves out
    # of its reach (streams/gc_pauses.py). 0: Python's default collection.
    gc_freeze_interval_seconds: float = 10.0


_GATEWAY_INT_KEYS = {"max_pending_per_partition", "max_record_bytes", "max_subject_chars", "max_body_chars",
                     "max_attachments", "max_attachment_bytes", "max_html_tags", "max_html_attributes",
                     "rocksdb_memory_mb", "order_batch_max", "order_batch_window_ms", "fetch_max_wait_ms"}

_SELLER_KEYS = {
    "max_width_px", "review_window_days", "completion_window_days", "allowed_link_hosts",
    "replace_default_link_hosts", "brand_image_hosts", "critical_reasons", "rules",
    "important_mode", "daily_cap_margin",
}


def _host_list(where: str, key: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(h, str) and h for h in value):
        raise ConfigError(f"{where}.{key}: expected a list of host names, got {value!r}")
    return frozenset(h.lower().strip(".") for h in value)


def _apply(base: SellerConfig, table: dict, where: str, known_codes: frozenset[str]) -> SellerConfig:
    unknown = set(table) - _SELLER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SELLER_KEYS)}")
    changes: dict[str, Any] = {}
    if "max_width_px" in table:
        width = table["max_width_px"]
        if not isinstance(width, int) or not 200 <= width <= 2000:
            raise ConfigError(f"{where}.max_width_px: expected an integer 200..2000, got {width!r}")
        changes["max_width_px"] = width
    if "review_window_days" in table:
        window = table["review_window_days"]
        if (not isinstance(window, list) or len(window) != 2 or not all(isinstance(d, int) for d in window)
                or not 0 <= window[0] < window[1] <= 90):
            raise ConfigError(f"{where}.review_window_days: expected [min, max] days with 0 <= min < max <= 90, got {window!r}")
        changes["review_window_days"] = (window[0], window[1])
    if "completion_window_days" in table:
        days = table["completion_window_days"]
        if not isinstance(days, int) or not 1 <= days <= 30:
            raise ConfigError(f"{where}.completion_window_days: expected 1..30 (Amazon's limit is 30), got {days!r}")
        changes["completion_window_days"] = days
    if "allowed_link_hosts" in table or "replace_default_link_hosts" in table:
        extra = _host_list(where, "allowed_link_hosts", table.get("allowed_link_hosts", []))
        keep_defaults = not table.get("replace_default_link_hosts", False)
        changes["link_hosts"] = (base.link_hosts if keep_defaults else frozenset()) | extra
    if "brand_image_hosts" in table:
        changes["brand_image_hosts"] = _host_list(where, "brand_image_hosts", table["brand_image_hosts"])
    if "critical_reasons" in table:
        extra = table["critical_reasons"]
        if not isinstance(extra, list) or not set(extra) <= CONFIGURABLY_CRITICAL:
            raise ConfigError(f"{where}.critical_reasons: only {sorted(CONFIGURABLY_CRITICAL)} may be made critical, got {extra!r}")
        changes["critical_reasons"] = CRITICAL_REASONS | frozenset(extra)
    if "rules" in table:
        rules = table["rules"]
        if not isinstance(rules, dict):
            raise ConfigError(f"{where}.rules: expected a table of CODE = \"block\"|\"warn\"|\"off\"")
        for code, action in rules.items():
            if code not in known_codes:
                raise ConfigError(f"{where}.rules.{code}: unknown rule code (see `msggate rules`)")
            if action not in ACTIONS:
                raise ConfigError(f"{where}.rules.{code}: action must be one of {ACTIONS}, got {action!r}")
        changes["rule_actions"] = {**base.rule_actions, **rules}
    if "important_mode" in table:
        mode = table["important_mode"]
        if mode not in IMPORTANT_MODES:
            raise ConfigError(f"{where}.important_mode: expected one of {IMPORTANT_MODES}, got {mode!r}")
        changes["important_mode"] = mode
    if "daily_cap_margin" in table:
        margin = table["daily_cap_margin"]
        if not isinstance(margin, int) or margin < 0:
            raise ConfigError(f"{where}.daily_cap_margin: expected a non-negative integer, got {margin!r}")
        changes["daily_cap_margin"] = margin
    return replace(base, **changes)


class Config:
    """Defaults plus per-seller overrides; `for_seller` is a cached dictionary lookup."""

    def __init__(self, defaults: SellerConfig | None = None, overrides: dict[str, SellerConfig] | None = None,
                 gateway: GatewaySettings | None = None, source: str = "<built-in>"):
        self.defaults = defaults or SellerConfig()
        self.overrides = overrides or {}
        self.gateway = gateway or GatewaySettings()
        self.source = source

    def for_seller(self, seller_id: str) -> SellerConfig:
        return self.overrides.get(seller_id, self.defaults)

    @classmethod
    def load(cls, path: str | Path | None) -> "Config":
        if path is None:
            return cls()
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "Config":
        from .policy.registry import RULE_CODES

        unknown = set(data) - {"gateway", "defaults", "sellers"}
        if unknown:
            raise ConfigError(f"{source}: unknown top-level table(s) {sorted(unknown)}; allowed: gateway, defaults, sellers")
        gateway_table = data.get("gateway", {})
        gateway = GatewaySettings()
        for key, value in gateway_table.items():
            if key == "grace_period_seconds" and isinstance(value, (int, float)) and 0 <= value <= 3600:
                gateway = replace(gateway, grace_period_seconds=float(value))
            elif key == "processing_guarantee" and value in ("at_least_once", "exactly_once"):
                gateway = replace(gateway, processing_guarantee=value)
            elif key == "order_retention_days" and isinstance(value, int) and not isinstance(value, bool) \
                    and value >= 0:
                gateway = replace(gateway, order_retention_days=value)
            elif key == "sweep_interval_seconds" and isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and 0.5 <= value <= 86_400:
                gateway = replace(gateway, sweep_interval_seconds=float(value))
            elif key == "gc_freeze_interval_seconds" and isinstance(value, (int, float)) \
                    and not isinstance(value, bool) and (value == 0 or 1 <= value <= 3600):
                gateway = replace(gateway, gc_freeze_interval_seconds=float(value))
            elif key == "seller_stage_local" and isinstance(value, bool):
                gateway = replace(gateway, seller_stage_local=value)
            elif key in _GATEWAY_INT_KEYS and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                gateway = replace(gateway, **{key: value})
            else:
                raise ConfigError(f"{source}: gateway.{key}: unknown key or bad value {value!r}")
        defaults = _apply(SellerConfig(), data.get("defaults", {}), f"{source}: defaults", RULE_CODES)
        overrides = {}
        for seller_id, table in data.get("sellers", {}).items():
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: sellers.{seller_id}: expected a table")
            overrides[seller_id] = _apply(defaults, table, f"{source}: sellers.{seller_id}", RULE_CODES)
        if gateway.order_retention_days:
            # Forgetting an order inside a window would block (ORD001) messages the window allows.
            for where, seller in (("defaults", defaults), *((f"sellers.{k}", v) for k, v in overrides.items())):
                longest = max(seller.completion_window_days, seller.review_window_days[1])
                if gateway.order_retention_days <= longest:
                    raise ConfigError(f"{source}: gateway.order_retention_days = {gateway.order_retention_days} "
                                      f"must be longer than the {longest}-day window of {where} (or 0: keep forever)")
        return cls(defaults, overrides, gateway, source)


def host_matches(host: str, allowed: frozenset[str]) -> bool:
    """True if `host` is one of `allowed` or a subdomain of one (track.dhl.de matches dhl.de)."""
    return _host_matches(host, allowed if isinstance(allowed, frozenset) else frozenset(allowed))


@lru_cache(maxsize=8192)   # pure; a frozenset caches its hash, so a hit is one dict lookup (1.4 -> 0.2 us)
def _host_matches(host: str, allowed: frozenset[str]) -> bool:
    host = host.lower().rstrip(".")
    if host in allowed:
        return True
    parts = host.split(".")
    return any(".".join(parts[i:]) in allowed for i in range(1, len(parts) - 1))

"""evaluate(request, order_state, config) -> decision. Pure: no I/O, no clock.

Routing follows RULES.md section 7: every rule runs and all findings are reported; any
blocking finding -> blocked; otherwise a critical message to an opted-out buyer without a
valid tag (OPT002) -> needs_important; otherwise approved, possibly with warnings.
"""
from __future__ import annotations

from typing import Any

from .. import POLICY_VERSION
from ..config import SellerConfig
from ..timeutil import parse_ts
from .model import Context
from .registry import RULES, RULES_BY_CODE
from .rules.optout import suggested_subject

NEEDS_IMPORTANT_CODE = "OPT002"


def is_critical(request: dict, config: SellerConfig) -> bool:
    return request["contact_reason"] in config.critical_reasons


def evaluate(request: dict[str, Any], order: dict[str, Any] | None, config: SellerConfig,
             *, decided_at: str | None = None, seller_usage: dict | None = None) -> dict[str, Any]:
    """Decide one message request. `request` must be schema-valid; `order` may be None (unknown).

    Time comes in with the request (`requested_at`); `decided_at` defaults to it so the
    function stays deterministic; the stream passes the wall clock.
    """
    critical = is_critical(request, config)
    ctx = Context(request=request, order=order, config=config, now=parse_ts(request["requested_at"]),
                  critical=critical, seller_usage=seller_usage)
    violations: list[dict] = []
    warnings: list[dict] = []
    retryable_only = True
    for rule in RULES:
        default = "block" if rule.code == "CNT010" and config.brand_image_hosts else rule.default_action
        action = config.action_for(rule.code, default)
        if action == "off" or (rule.needs_order and order is None):
            continue
        for finding in rule.check(ctx):
            entry = {"code": rule.code, "name": rule.name, "action": action,
                     "evidence": finding.evidence[:300], "detail": finding.detail}
            if action == "block":
                violations.append(entry)
                if not rule.retryable and rule.code != NEEDS_IMPORTANT_CODE:
                    retryable_only = False
            else:
                warnings.append(entry)
    return _route(request, critical, violations, warnings, retryable_only, config, decided_at)


def _route(request, critical, violations, warnings, retryable_only, config, decided_at) -> dict[str, Any]:
    blocking = [v for v in violations if v["code"] != NEEDS_IMPORTANT_CODE]
    if blocking:
        route = "blocked"
    elif violations:
        route = "needs_important"
    else:
        route = "approved"
    return {
        "message_id": request["message_id"],
        "order_id": request["order_id"],
        "seller_id": request["seller_id"],
        "route": route,
        "critical": critical,
        "violations": violations,
        "warnings": warnings,
        "suggested_subject": suggested_subject(request["subject"], config.important_mode)
        if route == "needs_important" else None,
        "retryable": route == "blocked" and retryable_only,
        "decided_at": decided_at or request["requested_at"],
        "policy_version": POLICY_VERSION,
        "request": request,
    }


def rule(code: str):
    return RULES_BY_CODE[code]

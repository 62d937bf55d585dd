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
GATES_ON = True   # tests turn the rule gates off to show they change no decision
VOLUME_CODE = "VOL001"


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
    retryable_only = _run(RULES, ctx, violations, warnings)
    return _route(request, critical, violations, warnings, retryable_only, config, decided_at)


_VOLUME_RULES = (RULES_BY_CODE[VOLUME_CODE],)


def apply_volume(decision: dict[str, Any], usage: dict[str, Any], config: SellerConfig) -> dict[str, Any]:
    """Add the seller-level check (VOL001) to a decision the per-order stage approved.

    The seller-keyed stage calls this with the seller's usage for the marketplace day; the
    decision is re-routed with the same routing as `evaluate`, so a VOL001 block is one more
    finding beside the earlier warnings.
    """
    request = decision["request"]
    ctx = Context(request=request, order=None, config=config, now=parse_ts(request["requested_at"]),
                  critical=decision["critical"], seller_usage=usage)
    violations = list(decision["violations"])
    warnings = list(decision["warnings"])
    retryable_only = _run(_VOLUME_RULES, ctx, violations, warnings)   # approved: no violations before
    if not violations and len(warnings) == len(decision["warnings"]):
        return decision
    return _route(request, decision["critical"], violations, warnings, retryable_only, config,
                  decision["decided_at"])


_PLANS: dict[tuple[int, int, bool], tuple[tuple, SellerConfig, tuple, bool]] = {}
_NO_FACTS: frozenset[str] = frozenset()


def _plan(rules: tuple, config: SellerConfig) -> tuple[tuple, bool]:
    """(rule, action, gate, needs_order) for each rule the seller has not turned off, and whether
    any of them has a gate (the message's facts are needed); cached per configuration object
    (Config hands out one SellerConfig per seller, so this is one dict lookup per message). The
    gate is None when rule gates are off (tests)."""
    key = (id(rules), id(config), GATES_ON)
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is rules and cached[1] is config:
        return cached[2], cached[3]
    plan = []
    for rule in rules:
        action = config.action_for(rule.code, rule.default_for(config))
        if action != "off":
            plan.append((rule, action, rule.gate if GATES_ON else None, rule.needs_order))
    if len(_PLANS) > 50_000:
        _PLANS.clear()
    needs_facts = any(gate is not None for _, _, gate, _ in plan)
    _PLANS[key] = (rules, config, tuple(plan), needs_facts)
    return _PLANS[key][2], needs_facts


_SELECTIONS: dict[tuple[int, frozenset[str], bool], tuple[tuple, tuple]] = {}


def _selected(plan: tuple, facts: frozenset[str], has_order: bool) -> tuple:
    """The (rule, action) pairs of `plan` that can fire on a message with these facts: cached per
    (plan, facts, order known). A plan has ~45 rules and a message ~30 gates to test; messages
    share a few dozen fact sets, so this is one dict lookup instead of ~45 loop steps (~10 us)."""
    key = (id(plan), facts, has_order)
    cached = _SELECTIONS.get(key)
    if cached is not None and cached[0] is plan:
        return cached[1]
    selected = tuple((rule, action) for rule, action, gate, needs_order in plan
                     if (has_order or not needs_order) and (gate is None or not gate.isdisjoint(facts)))
    if len(_SELECTIONS) > 8_192:   # ~2.5 KB each; plans x fact sets could otherwise grow to 100s of MB
        _SELECTIONS.clear()
    _SELECTIONS[key] = (plan, selected)
    return selected


def _run(rules, ctx: Context, violations: list[dict], warnings: list[dict]) -> bool:
    """Run `rules`, appending findings; returns whether every blocking finding is retryable."""
    plan, needs_facts = _plan(rules, ctx.config)
    # The facts (the message's analysis) only when a rule has a gate: the seller stage's VOL001
    # has none and must not analyse the message again.
    facts = ctx.facts if needs_facts else _NO_FACTS
    retryable_only = True
    for rule, action in _selected(plan, facts, ctx.order is not None):
        for finding in rule.check(ctx):
            entry = {"code": rule.code, "name": rule.name, "action": action,
                     "evidence": finding.evidence[:300], "detail": finding.detail}
            if action == "block":
                violations.append(entry)
                if not rule.retryable and rule.code != NEEDS_IMPORTANT_CODE:
                    retryable_only = False
            else:
                warnings.append(entry)
    return retryable_only


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


def warm_up() -> None:
    """Load what the engine loads lazily (the prefilter database, the language model, the emoji
    data: ~1.3 s together) before the first message, so the first decisions do not pay for it."""
    from ..bench import generate
    from .rules.identity import _language_identifier
    from .rules.style import _latin1_emoji_starts

    _language_identifier().classify("warm up the language model")
    _latin1_emoji_starts()
    for request, order in generate(12):
        evaluate(request, order, SellerConfig())


def rule(code: str):
    return RULES_BY_CODE[code]

"""Offline commands, same engine, no broker: check, replay, rules, config check."""
from __future__ import annotations

import argparse
import os
import sys

import orjson

from ..gateway import (counts_toward_cap, decide_at, on_buyer_message, on_order_event, on_order_update,
                       on_seller_message, seller_hop)
from ..policy.engine import evaluate
from ..records import InvalidRecord, decode_message_request, decode_order_event, decode_order_state
from ..state import ForeignEvent
from .common import json_lines, load_config, open_input, replay_line_topic, write_json


def register(sub, add_config) -> None:
    p = sub.add_parser("check", help="decide JSON-lines {request, order} records offline",
                       description="Read JSON lines {\"request\": {...}, \"order\": {...}|null} from FILE (or - for "
                                   "stdin) and write one decision per line to stdout, in input order. An unknown "
                                   "order (null) is blocked at once with ORD001 (retryable). A line that is not "
                                   "valid gets an error object {\"error\": ..., \"line\": N} in its place.")
    p.add_argument("file", metavar="FILE|-")
    add_config(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("replay", help="run interleaved order events and requests through the stateful logic",
                       description="Read JSON lines, each {\"order_event\": {...}} or {\"message_request\": {...}}, "
                                   "and run them in order through the same stateful logic as the stream agents "
                                   "(order state, buyer opt-out across orders, review counts, duplicates). "
                                   "Prints one decision per message request, in input order. A request whose order "
                                   "has no events yet is decided at once (ORD001, retryable): replay has no grace "
                                   "period. Invalid lines are reported on stderr and as {\"error\"} lines.")
    p.add_argument("file", metavar="FILE|-")
    add_config(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("rules", help="list the rules, or show one rule's documentation",
                       description="Without CODE: every rule with its code, name, default action and one line. "
                                   "With CODE: the rule's full documentation.")
    p.add_argument("code", nargs="?", help="a rule code, e.g. TYP004")
    p.add_argument("--markdown", action="store_true", help="print all rules as Markdown (docs/rules.md)")
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser(
        "bench", help="benchmarks that print numbers (engine, e2e, baseline, scale)",
        description="Benchmarks; each ends with one line `bench NAME: key=value ...` (progress goes to stderr).\n"
                    "  engine    the policy engine alone over a generated mix (text/HTML, 6 languages, ~10% violating)\n"
                    "  e2e       the gateway on a fresh embedded Apache Kafka: throughput as fast as possible, then\n"
                    "            latency (request produced -> decision consumed) at half that rate; runs `baseline`\n"
                    "            first in the same invocation and reports vs_baseline, and baseline_p99_ms (its\n"
                    "            latency at half its own rate, or at --rate)\n"
                    "  baseline  a trivial tuned Faust pipeline (decode, table counter, send) on the same broker setup:\n"
                    "            as fast as possible, then paced like e2e's latency phase\n"
                    "  scale     the gateway with 1 and then 2 workers on the same partitions; CPU per process\n"
                    "Exits 1 when e2e or baseline left a record of either phase without a decision (the\n"
                    "line is still printed; stderr says which phase and how many).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=("engine", "e2e", "baseline", "scale"))
    p.add_argument("--messages", type=int, default=20000, help="engine: messages in the mix (default 20000)")
    p.add_argument("--requests", type=int, default=20000, help="e2e/baseline/scale: requests to push (default 20000)")
    p.add_argument("--orders", type=int, default=5000, help="e2e/scale: orders seeded first (default 5000)")
    p.add_argument("--sellers", type=int, default=50, help="e2e/scale: sellers the orders belong to (default 50)")
    p.add_argument("--partitions", type=int, default=8, help="partitions per topic (default 8)")
    p.add_argument("--workers", type=int, default=1, help="e2e: gateway workers (default 1)")
    p.add_argument("--store", default="memory://", help="e2e/scale: table store, memory:// or rocksdb:// "
                                                          "(needs the rocksdb extra)")
    p.add_argument("--rate", type=float, help="e2e/baseline: requests/s for the latency phase (default: half "
                                               "the throughput each measured)")
    p.add_argument("--latency-requests", type=int, default=5000,
                   help="e2e/baseline: requests in the latency phase, paced (default 5000; 0 skips it)")
    p.add_argument("--no-baseline", action="store_true", help="e2e: skip the baseline run (no vs_baseline)")
    p.add_argument("--backlog", action="store_true",
                   help="e2e/baseline/scale: produce the throughput phase's records while the worker(s) are "
                        "stopped (SIGSTOP), then let them drain it: their own rate, without the load generator "
                        "competing for the cores (steadier on a 2-core machine)")
    p.add_argument("--bootstrap-servers", dest="bootstrap_servers_explicit", default=None,
                   help="use this broker instead of starting a fresh embedded one (its gateway topics must be "
                        "empty: results count every decision)")
    p.add_argument("--config", default=os.environ.get("MSGGATE_CONFIG"),
                   help="e2e/scale: the workers' per-seller configuration (e.g. rules = { VOL001 = \"off\" } "
                        "to measure without the seller stage)")
    p.add_argument("--json-out", help="also write the results as JSON to this file")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("config", help="per-seller configuration tools")
    config_sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    config_sub.required = True
    c = config_sub.add_parser("check", help="validate a per-seller configuration file",
                              description="Validate FILE; prints a summary, or the first error and exits 1.")
    c.add_argument("file", metavar="FILE")
    c.set_defaults(func=cmd_config_check)


def _error_line(out, number: int, message: str) -> None:
    print(f"msggate: line {number}: {message}", file=sys.stderr)
    write_json(out, {"error": message, "line": number})


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = sys.stdout.buffer
    failures = 0
    for number, line in json_lines(open_input(args.file)):
        try:
            item = orjson.loads(line)
            if not isinstance(item, dict) or "request" not in item:
                raise InvalidRecord('expected an object {"request": {...}, "order": {...} | null}')
            request = decode_message_request(item["request"], config.gateway)
            order = item.get("order")
            if order is not None:
                order = decode_order_state(order)
        except (orjson.JSONDecodeError, InvalidRecord) as exc:
            failures += 1
            _error_line(out, number, getattr(exc, "reason", None) or f"not valid JSON: {exc}")
            continue
        write_json(out, evaluate(request, order, config.for_seller(request["seller_id"])))
    out.flush()
    return 1 if failures else 0


class Replayer:
    """The agents' stateful logic over in-memory tables, for `replay` and tests."""

    def __init__(self, config):
        self.config = config
        self.orders: dict = {}
        self.buyers: dict = {}
        self.sellers: dict = {}
        self.requests_read = 0   # the offset of the next request in the one "partition" replayed

    def order_event(self, event: dict) -> None:
        outcome = on_order_event(self.orders, event)
        for message in outcome.buyer_messages:
            for update in on_buyer_message(self.buyers, message):
                on_order_update(self.orders, update)
        for message in outcome.seller_messages:
            on_seller_message(self.sellers, message, self.config)

    def message_request(self, request: dict) -> dict:
        source = ["replay", 0, self.requests_read, 0]
        self.requests_read += 1
        decision, first_source = decide_at(self.orders, request, self.config, source)
        if not counts_toward_cap(decision, self.config):
            return decision
        outcome = on_seller_message(self.sellers, seller_hop(decision, None, first_source), self.config)
        if outcome.order_update is not None:
            on_order_update(self.orders, outcome.order_update)
        return outcome.decision


def cmd_replay(args: argparse.Namespace) -> int:
    replayer = Replayer(load_config(args.config))
    out = sys.stdout.buffer
    failures = 0
    for number, line in json_lines(open_input(args.file)):
        try:
            routed = replay_line_topic(orjson.loads(line))
            if routed is None:
                raise InvalidRecord('expected {"order_event": {...}} or {"message_request": {...}}')
            topic, record = routed
            if topic == "orders.events":
                replayer.order_event(decode_order_event(record))
            else:
                write_json(out, replayer.message_request(decode_message_request(record, replayer.config.gateway)))
        except (orjson.JSONDecodeError, InvalidRecord, ForeignEvent) as exc:
            failures += 1
            _error_line(out, number, getattr(exc, "reason", None) or str(exc))
    out.flush()
    return 1 if failures else 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.name == "engine":
        from ..bench import bench_engine

        return bench_engine(args.messages, args.json_out)
    from ..bench_stream import cmd_bench_stream

    return cmd_bench_stream(args)


def cmd_rules(args: argparse.Namespace) -> int:
    from ..policy.docs import rule_doc, rules_markdown, rules_table
    from ..policy.registry import RULES_BY_CODE

    if args.markdown:
        sys.stdout.write(rules_markdown())
    elif args.code:
        rule = RULES_BY_CODE.get(args.code.upper())
        if rule is None:
            print(f"msggate: unknown rule code {args.code!r}; run `msggate rules` for the list", file=sys.stderr)
            return 2
        sys.stdout.write(rule_doc(rule))
    else:
        sys.stdout.write(rules_table())
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(f"{args.file}: OK: defaults + {len(config.overrides)} seller override(s); "
          f"grace period {config.gateway.grace_period_seconds:g} s")
    return 0

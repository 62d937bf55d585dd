"""Commands an operator reaches for: topics, send, tail, stats."""
from __future__ import annotations

import asyncio
import sys

import orjson

TAIL_TOPICS = {"approved": "messages.approved", "blocked": "messages.blocked",
               "needs-important": "messages.needs-important", "dead-letter": "messages.dead-letter"}


def register(sub, add_bootstrap, add_config) -> None:
    p = sub.add_parser("topics", help="create or list the gateway topics")
    tsub = p.add_subparsers(dest="topics_command", metavar="SUBCOMMAND")
    tsub.required = True
    c = tsub.add_parser("create", help="create every gateway and internal topic and the tables' changelogs (idempotent)")
    add_bootstrap(c)
    c.add_argument("--partitions", type=int, default=4, help="partitions per topic (default 4)")
    c.set_defaults(func=cmd_topics_create)
    c = tsub.add_parser("list", help="list the gateway topics with their partition counts")
    add_bootstrap(c)
    c.set_defaults(func=cmd_topics_list)

    p = sub.add_parser("send", help="produce JSON records to orders.events or messages.requests",
                       description="Read JSON lines from FILE (or -) and produce each to TOPIC keyed by its "
                                   "order_id. Lines of the replay format ({order_event}/{message_request}) "
                                   "go to their own topic when TOPIC is `auto`.")
    add_bootstrap(p)
    p.add_argument("topic", choices=("auto", "orders.events", "messages.requests"))
    p.add_argument("file", metavar="FILE|-")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("tail", help="print decisions from an output topic as they arrive")
    add_bootstrap(p)
    p.add_argument("stream", choices=tuple(TAIL_TOPICS))
    p.add_argument("--json", action="store_true", help="print the full records as JSON lines")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    p.add_argument("--seller", help="only this seller_id")
    p.add_argument("--marketplace", help="only this marketplace_id")
    p.add_argument("--code", help="only decisions with this rule code")
    p.add_argument("--limit", type=int, default=0, help="stop after N records (default: run until Ctrl-C)")
    p.add_argument("--timeout", type=float, default=0, help="stop after S seconds without records")
    p.set_defaults(func=cmd_tail)

    p = sub.add_parser("explain", help="find the decision of a message_id and print its findings with evidence",
                       description="Searches the output topics (and the dead-letter topic) for MESSAGE_ID and prints "
                                   "each decision found: route, findings with rule code, evidence and detail. "
                                   "Exit 1 when it is not found.")
    add_bootstrap(p)
    p.add_argument("message_id", metavar="MESSAGE_ID")
    p.add_argument("--json", action="store_true", help="print the decision records as JSON lines")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("replay-dead-letter", help="re-submit dead-lettered records once their cause is fixed",
                       description="Reads messages.dead-letter and produces each matching record's original bytes "
                                   "again to the topic it came from (e.g. after a fix of the configuration or of "
                                   "the producer), or, with --fixed FILE, produces the corrected records in FILE "
                                   "(JSON lines, routed like `send auto`). Prints what it would do with --dry-run.")
    add_bootstrap(p)
    p.add_argument("--kind", help="only dead letters of this kind (json, schema, key, foreign, limit, internal)")
    p.add_argument("--since", help="RFC 3339 time or a duration back from now (15m, 2h, 7d)")
    p.add_argument("--key", help="only this record key (order_id)")
    p.add_argument("--fixed", metavar="FILE", help="corrected records to submit instead of the originals")
    p.add_argument("--dry-run", action="store_true", help="list, do not produce")
    p.set_defaults(func=cmd_replay_dead_letter)

    p = sub.add_parser("stats", help="counts by route, rule code and seller; each seller's daily-cap usage",
                       description="Reads the output topics (a snapshot up to their current end) and counts the "
                                   "decisions taken in the time range by route, by rule code and by seller; and "
                                   "reads the seller stage's changelog for each seller's VOL001 usage today "
                                   "against its cap.")
    add_bootstrap(p)
    p.add_argument("--since", help="RFC 3339 time, or a duration back from now: 15m, 2h, 7d (default: all)")
    p.add_argument("--until", help="RFC 3339 time (default: now)")
    p.add_argument("--seller", help="only this seller_id")
    p.add_argument("--top", type=int, default=10, help="rows in the top lists (default 10)")
    p.add_argument("--at", help="the moment whose marketplace day the cap usage is shown for (default: now)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    add_config(p)
    p.set_defaults(func=cmd_stats)


def cmd_topics_create(args) -> int:
    from ..kafka_admin import create_topics

    created = asyncio.run(create_topics(args.bootstrap_servers, args.partitions))
    print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else " (all existed)"))
    return 0


def cmd_topics_list(args) -> int:
    from ..gateway import CHANGELOG_TOPICS, GATEWAY_TOPICS, INTERNAL_TOPICS
    from ..kafka_admin import partition_counts

    counts = asyncio.run(partition_counts(args.bootstrap_servers))
    for topic in (*GATEWAY_TOPICS, *INTERNAL_TOPICS, *CHANGELOG_TOPICS):
        missing = "MISSING (a worker creates it at start)" if topic in CHANGELOG_TOPICS else "MISSING"
        print(f"{topic:<28} {counts[topic]} partitions" if topic in counts else f"{topic:<28} {missing}")
    return 0 if all(t in counts for t in GATEWAY_TOPICS) else 1


def cmd_send(args) -> int:
    from aiokafka import AIOKafkaProducer

    from .common import json_lines, open_input, replay_line_topic

    async def run() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap_servers, linger_ms=5)
        await producer.start()
        sent = 0
        try:
            for number, line in json_lines(open_input(args.file)):
                topic, raw = args.topic, line.strip()
                try:
                    item = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    item = None
                if topic == "auto":
                    routed = replay_line_topic(item)
                    if routed is None:
                        print(f"msggate: line {number}: not a replay-format record; skipped", file=sys.stderr)
                        continue
                    topic, item = routed
                    raw = orjson.dumps(item)
                key = item.get("order_id", "").encode() if isinstance(item, dict) else None
                await producer.send(topic, raw, key=key)
                sent += 1
            await producer.flush()
        finally:
            await producer.stop()
        print(f"sent {sent} record(s)", file=sys.stderr)
        return 0

    return asyncio.run(run())


def cmd_tail(args) -> int:
    from aiokafka import AIOKafkaConsumer

    async def run() -> int:
        consumer = AIOKafkaConsumer(TAIL_TOPICS[args.stream], bootstrap_servers=args.bootstrap_servers,
                                    auto_offset_reset="earliest" if args.from_beginning else "latest",
                                    enable_auto_commit=False)
        await consumer.start()
        shown = 0
        try:
            while not args.limit or shown < args.limit:
                batch = await consumer.getmany(timeout_ms=int(args.timeout * 1000) if args.timeout else 1000)
                if not batch and args.timeout:
                    break
                for records in batch.values():
                    for msg in records:
                        try:
                            record = orjson.loads(msg.value)
                        except orjson.JSONDecodeError:
                            continue
                        codes = [f["code"] for f in record.get("violations", []) + record.get("warnings", [])]
                        if args.seller and record.get("seller_id") != args.seller:
                            continue
                        if args.code and args.code.upper() not in codes:
                            continue
                        if args.marketplace and (record.get("request") or {}).get("marketplace_id") \
                                != args.marketplace:
                            continue
                        if args.json:
                            sys.stdout.write(orjson.dumps(record).decode() + "\n")
                        elif args.stream == "dead-letter":
                            print(f"{record.get('topic')}@{record.get('offset')}  {record.get('reason')}")
                        else:
                            print(f"{record.get('route', ''):<16} {record.get('message_id')}  "
                                  f"order={record.get('order_id')} seller={record.get('seller_id')}  "
                                  f"{' '.join(codes) or '-'}")
                        sys.stdout.flush()
                        shown += 1
        finally:
            await consumer.stop()
        return 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 0


def _moment(value: str | None, default):
    import re
    from datetime import timedelta

    from ..timeutil import parse_ts, utcnow

    if not value:
        return default
    relative = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if relative:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[relative.group(2)]
        return utcnow() - timedelta(**{unit: int(relative.group(1))})
    return parse_ts(value)


async def _snapshot(bootstrap: str, topics: list[str]):
    """Every record of `topics` up to their end offsets at the time of the call."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from ..kafka_admin import partition_counts

    counts = await partition_counts(bootstrap)   # the consumer knows no partitions of unsubscribed topics
    parts = [TopicPartition(t, p) for t in topics if t in counts for p in range(counts[t])]
    if not parts:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        remaining = {tp for tp in parts if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    yield tp.topic, record
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            if not batch:
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()


def cmd_stats(args) -> int:
    from collections import Counter
    from datetime import datetime, timezone

    from ..gateway import DEAD_LETTER_TOPIC, ROUTE_TOPICS, seller_usage
    from ..timeutil import parse_ts, utcnow
    from .common import load_config

    try:
        since = _moment(args.since, datetime.min.replace(tzinfo=timezone.utc))
        until = _moment(args.until, utcnow())
        usage_at = _moment(args.at, utcnow())
    except ValueError as exc:
        print(f"msggate stats: bad time: {exc}", file=sys.stderr)
        return 2
    routes, codes, blocked_by_seller = Counter(), Counter(), Counter()
    dead_letters = 0
    usage_rows: dict = {}

    async def collect() -> None:
        nonlocal dead_letters
        async for topic, record in _snapshot(args.bootstrap_servers, [*ROUTE_TOPICS.values(), DEAD_LETTER_TOPIC]):
            try:
                value = orjson.loads(record.value)
                if topic == DEAD_LETTER_TOPIC:
                    at = parse_ts(value.get("received_at"))
                    dead_letters += since <= at <= until
                    continue
                if args.seller and value.get("seller_id") != args.seller:
                    continue
                if not since <= parse_ts(value["decided_at"]) <= until:
                    continue
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            routes[value["route"]] += 1
            for finding in value["violations"] + value["warnings"]:
                codes[(finding["code"], finding["action"])] += 1
            if value["route"] == "blocked":
                blocked_by_seller[value["seller_id"]] += 1
        sellers: dict = {}
        async for _topic, record in _snapshot(args.bootstrap_servers, ["msggate-sellers-changelog"]):
            try:   # Faust writes table keys with its key codec: JSON for str keys, raw bytes otherwise
                key = orjson.loads(record.key)
            except orjson.JSONDecodeError:
                key = record.key.decode("utf-8", "replace")
            except TypeError:
                continue
            if isinstance(key, str) and key.startswith("d|"):
                sellers[key] = orjson.loads(record.value) if record.value else None
        config = load_config(getattr(args, "config", None))
        for key in sellers:
            _, seller_id, marketplace_id, _day = key.split("|", 3)
            if args.seller and seller_id != args.seller:
                continue
            if (seller_id, marketplace_id) not in usage_rows:
                usage_rows[(seller_id, marketplace_id)] = seller_usage(
                    sellers, seller_id, marketplace_id, usage_at, config.for_seller(seller_id).daily_cap_margin)

    asyncio.run(collect())
    usage = sorted(usage_rows.values(), key=lambda u: -u["sent_today"] / max(u["cap"], 1))
    result = {"since": args.since, "until": args.until, "routes": dict(routes), "dead_letters": dead_letters,
              "codes": [{"code": c, "action": a, "count": n} for (c, a), n in codes.most_common()],
              "top_blocked_sellers": [{"seller_id": s, "blocked": n} for s, n in blocked_by_seller.most_common(args.top)],
              "daily_cap": usage[: args.top] if not args.json else usage}
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return 0
    total = sum(routes.values())
    print(f"decisions: {total}  " + "  ".join(f"{r}={routes[r]}" for r in ("approved", "blocked", "needs_important"))
          + f"  dead-letter={dead_letters}")
    print("rule codes:")
    for (code, action), n in codes.most_common(args.top):
        print(f"  {code:<8} {action:<6} {n}")
    print("sellers with most blocked messages:")
    for seller, n in blocked_by_seller.most_common(args.top):
        print(f"  {seller:<20} {n}")
    print("daily cap (VOL001), today in each marketplace:")
    for u in usage[: args.top]:
        share = u["sent_today"] / u["cap"] if u["cap"] else 1.0
        print(f"  {u['seller_id']:<20} {u['marketplace_id']:<15} {u['day']}  {u['sent_today']}/{u['cap']} "
              f"({share:.0%})  resets {u['resets_at']}")
    return 0


def cmd_explain(args) -> int:
    from ..gateway import DEAD_LETTER_TOPIC, ROUTE_TOPICS

    found: list[tuple[str, dict]] = []

    async def search() -> None:
        needle = args.message_id.encode()
        async for topic, record in _snapshot(args.bootstrap_servers, [*ROUTE_TOPICS.values(), DEAD_LETTER_TOPIC]):
            if needle not in (record.value or b""):
                continue   # cheap test first: most records are other messages
            try:
                value = orjson.loads(record.value)
            except orjson.JSONDecodeError:
                continue
            if topic == DEAD_LETTER_TOPIC:
                try:
                    raw = orjson.loads(value.get("raw") or "null")
                except orjson.JSONDecodeError:
                    raw = None
                if isinstance(raw, dict) and raw.get("message_id") == args.message_id:
                    found.append((topic, value))
            elif value.get("message_id") == args.message_id:
                found.append((topic, value))

    asyncio.run(search())
    if not found:
        print(f"msggate explain: no decision or dead letter for message_id {args.message_id!r} on "
              f"{args.bootstrap_servers}", file=sys.stderr)
        return 1
    for topic, value in found:
        if args.json:
            sys.stdout.write(orjson.dumps({"topic": topic, **value}).decode() + "\n")
            continue
        if topic.endswith("dead-letter"):
            print(f"{args.message_id}: dead letter ({value.get('kind')}): {value.get('reason')}")
            continue
        request = value.get("request") or {}
        print(f"{value['message_id']}: {value['route'].upper()} at {value.get('decided_at')}  "
              f"(order {value.get('order_id')}, seller {value.get('seller_id')}, "
              f"reason {request.get('contact_reason')}, retryable {value.get('retryable')})")
        if value.get("suggested_subject"):
            print(f"  suggested subject: {value['suggested_subject']}")
        for finding in value.get("violations", []) + value.get("warnings", []):
            print(f"  {finding['code']} {finding['name']} [{finding['action']}]")
            print(f"    evidence: {finding['evidence']}")
            print(f"    {finding['detail']}")
        if not value.get("violations") and not value.get("warnings"):
            print("  no findings")
    return 0


def cmd_replay_dead_letter(args) -> int:
    import base64

    from aiokafka import AIOKafkaProducer

    from ..gateway import DEAD_LETTER_TOPIC, INPUT_TOPICS
    from ..timeutil import parse_ts
    from .common import json_lines, open_input, replay_line_topic

    try:
        since = _moment(args.since, None)
    except ValueError as exc:
        print(f"msggate replay-dead-letter: bad --since: {exc}", file=sys.stderr)
        return 2
    plan: list[tuple[str, bytes | None, bytes]] = []
    if args.fixed:
        for number, line in json_lines(open_input(args.fixed)):
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                print(f"msggate replay-dead-letter: {args.fixed} line {number}: not JSON: {exc}", file=sys.stderr)
                return 1
            routed = replay_line_topic(item)
            if routed is not None:
                topic, item = routed
            else:   # a bare record: events carry an event_type
                topic = "orders.events" if isinstance(item, dict) and "event_type" in item else "messages.requests"
            if not isinstance(item, dict):
                print(f"msggate replay-dead-letter: {args.fixed} line {number}: not a JSON object", file=sys.stderr)
                return 1
            plan.append((topic, str(item.get("order_id", "")).encode() or None, orjson.dumps(item)))
    else:
        async def collect() -> None:
            async for _topic, record in _snapshot(args.bootstrap_servers, [DEAD_LETTER_TOPIC]):
                try:
                    value = orjson.loads(record.value)
                    if args.kind and value.get("kind") != args.kind:
                        continue
                    if args.key and value.get("key") != args.key:
                        continue
                    if since and parse_ts(value["received_at"]) < since:
                        continue
                    raw = value["raw"].encode() if value.get("raw_encoding") == "utf-8" \
                        else base64.b64decode(value["raw"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
                if value.get("topic") in INPUT_TOPICS:
                    plan.append((value["topic"], (value.get("key") or "").encode() or None, raw))
        asyncio.run(collect())
    for topic, key, raw in plan:
        print(f"{'would send' if args.dry_run else 'send'} {topic} key={(key or b'').decode()} "
              f"{len(raw)} bytes", file=sys.stderr)
    if args.dry_run or not plan:
        print(f"{len(plan)} record(s) {'to re-submit' if args.dry_run else 're-submitted'}")
        return 0

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap_servers, linger_ms=5)
        await producer.start()
        try:
            for topic, key, raw in plan:
                await producer.send(topic, raw, key=key)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(produce())
    print(f"{len(plan)} record(s) re-submitted")
    return 0

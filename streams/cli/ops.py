"""Commands an operator reaches for: topics, send, tail."""
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
    c = tsub.add_parser("create", help="create every gateway topic (idempotent)")
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
    p.add_argument("--code", help="only decisions with this rule code")
    p.add_argument("--limit", type=int, default=0, help="stop after N records (default: run until Ctrl-C)")
    p.add_argument("--timeout", type=float, default=0, help="stop after S seconds without records")
    p.set_defaults(func=cmd_tail)


def cmd_topics_create(args) -> int:
    from ..kafka_admin import create_topics

    created = asyncio.run(create_topics(args.bootstrap_servers, args.partitions))
    print(f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else " (all existed)"))
    return 0


def cmd_topics_list(args) -> int:
    from ..gateway import GATEWAY_TOPICS, INTERNAL_TOPICS
    from ..kafka_admin import partition_counts

    counts = asyncio.run(partition_counts(args.bootstrap_servers))
    for topic in (*GATEWAY_TOPICS, *INTERNAL_TOPICS):
        print(f"{topic:<28} {counts[topic]} partitions" if topic in counts else f"{topic:<28} MISSING")
    return 0 if all(t in counts for t in GATEWAY_TOPICS) else 1


def cmd_send(args) -> int:
    from aiokafka import AIOKafkaProducer

    from .common import json_lines, open_input

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
                    if isinstance(item, dict) and "order_event" in item:
                        topic, item = "orders.events", item["order_event"]
                    elif isinstance(item, dict) and "message_request" in item:
                        topic, item = "messages.requests", item["message_request"]
                    else:
                        print(f"msggate: line {number}: not a replay-format record; skipped", file=sys.stderr)
                        continue
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
                        if args.code and args.code not in codes:
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

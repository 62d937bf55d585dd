"""Helpers shared by the command modules."""
from __future__ import annotations

import sys
from typing import IO, Iterator

import orjson

from ..config import Config, ConfigError


def fail(message: str, code: int = 1) -> int:
    print(f"msggate: {message}", file=sys.stderr)
    return code


def load_config(path: str | None) -> Config:
    try:
        return Config.load(path)
    except ConfigError as exc:
        print(f"msggate: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        print(f"msggate: cannot read {path}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(1) from None


def json_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            yield number, line


def write_json(out, record) -> None:
    out.write(orjson.dumps(record) + b"\n")


def replay_line_topic(item) -> tuple[str, dict] | None:
    """A line of the replay format -> (input topic, record); None when it is neither kind."""
    if isinstance(item, dict) and "order_event" in item:
        return "orders.events", item["order_event"]
    if isinstance(item, dict) and "message_request" in item:
        return "messages.requests", item["message_request"]
    return None

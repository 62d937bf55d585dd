"""The edge of the system: bytes in, validated dicts out (JSON Schema from `schemas/`).

Every record entering the gateway passes through `decode_*`; a failure raises
`InvalidRecord` with a reason a person can act on, and the caller dead-letters it.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import orjson

from .timeutil import parse_ts

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
if not SCHEMA_DIR.is_dir():  # installed as a wheel: schemas ship inside the package
    SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

SCHEMA_NAMES = ("order_event", "message_request", "order_state", "decision")


class InvalidRecord(ValueError):
    """A record that does not meet its contract; `reason` says why in one line."""

    def __init__(self, reason: str, kind: str = "invalid"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text())


@cache
def validator(name: str) -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema to Python once: ~10x faster than jsonschema per record.
    return fastjsonschema.compile(load_schema(name))


def validate(name: str, record: Any) -> dict:
    try:
        validator(name)(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        hint = " (RFC 3339 with a time zone, e.g. 2026-11-10T10:00:00Z)" if "date-time" in exc.message else ""
        raise InvalidRecord(f"{name} schema: {exc.message}{hint}", kind="schema") from None
    return record


def loads(raw: bytes | str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(f"not valid JSON: {exc}", kind="json") from None


def _check_times(record: dict, fields: tuple[str, ...]) -> None:
    for field in fields:
        value = record.get(field)
        if value is None:
            continue
        try:
            parse_ts(value)
        except ValueError as exc:
            raise InvalidRecord(f"{field}: {exc}", kind="schema") from None


def decode_order_event(raw: bytes | str | dict) -> dict:
    record = raw if isinstance(raw, dict) else loads(raw)
    validate("order_event", record)
    _check_times(record, ("occurred_at",))
    return record


def decode_message_request(raw: bytes | str | dict, limits=None) -> dict:
    """Bytes -> a valid request. `limits` (config.GatewaySettings) are checked before parsing
    what they bound: the record size before JSON, the body size before any HTML parser."""
    if limits is not None and not isinstance(raw, dict) and len(raw) > limits.max_record_bytes:
        raise InvalidRecord(f"record is {len(raw):,} bytes; the limit max_record_bytes is "
                            f"{limits.max_record_bytes:,}", kind="limit")
    record = raw if isinstance(raw, dict) else loads(raw)
    validate("message_request", record)
    _check_times(record, ("requested_at",))
    if limits is not None:
        _check_limits(record, limits)
    return record


def _check_limits(record: dict, limits) -> None:
    checks = (
        ("subject", len(record["subject"]), limits.max_subject_chars, "max_subject_chars", "characters"),
        ("body", len(record["body"]), limits.max_body_chars, "max_body_chars", "characters"),
        ("attachments", len(record.get("attachments") or ()), limits.max_attachments, "max_attachments", "files"),
    )
    for field, size, limit, name, unit in checks:
        if size > limit:
            raise InvalidRecord(f"{field} has {size:,} {unit}; the limit {name} is {limit:,}", kind="limit")
    if record["body_format"] == "html":
        for sign, limit, name in (("<", limits.max_html_tags, "max_html_tags"),
                                  ("=", limits.max_html_attributes, "max_html_attributes")):
            count = record["body"].count(sign)
            if count > limit:
                raise InvalidRecord(f"HTML body has {count:,} '{sign}' (an upper bound of its "
                                    f"{'tags' if sign == '<' else 'attributes'}); the limit {name} is {limit:,}",
                                    kind="limit")
    for attachment in record.get("attachments") or ():
        if attachment["size_bytes"] > limits.max_attachment_bytes:
            raise InvalidRecord(f"attachment {attachment['filename']!r} is {attachment['size_bytes']:,} bytes; "
                                f"the limit max_attachment_bytes is {limits.max_attachment_bytes:,}", kind="limit")


def decode_order_state(record: dict) -> dict:
    validate("order_state", record)
    _check_times(record, ("placed_at", "shipped_at", "delivered_at", "cancelled_at", "return_requested_at"))
    return record

"""Event validation: the product's contract for what reaches the graph.

One hand-written validator per topic (pydantic per event is several times too
slow for the hot path). A validator takes a decoded record - from Avro, or from
JSON where anything can be missing or mistyped - and returns the normalized
event, or raises InvalidEvent with a machine-readable `reason` for the
dead-letter queue and a message naming the field and the bad value.

Rules, checked field by field in schema order (the first failure wins):

* missing_field - a required field is absent or null (search.clicked_title_id
  is optional and defaults to null);
* bad_type - wrong JSON/Python type: strings must be str, `ts` and longs int
  within 64 bits, `session_seconds` int within 32 bits, `success` bool
  (bool is never accepted as a number, nor a float as an int);
* bad_id - event_id or any *_id field empty after trimming, or longer than
  256 characters after trimming;
* bad_ts - `ts` before 2000-01-01T00:00:00Z or from 2100-01-01T00:00:00Z on;
* unknown_enum - playback.action / live.action not one of the schema's symbols
  (case-sensitive);
* empty_query - search.query empty after normalize_query.

Normalized event: a new plain dict with exactly the schema's fields, ids
trimmed, the query normalized, `ts` the int epoch milliseconds; other fields
as given, unknown extra fields dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

from ingest.errors import RDGError
from schemas.events import LIVE_ACTIONS, MAX_ID_LENGTH, PLAYBACK_ACTIONS, TS_MAX_MS, TS_MIN_MS

__all__ = [
    "BAD_ID",
    "BAD_TS",
    "BAD_TYPE",
    "EMPTY_QUERY",
    "MISSING_FIELD",
    "REASONS",
    "UNKNOWN_ENUM",
    "VALIDATORS",
    "InvalidEvent",
    "Validator",
    "normalize_query",
    "validate",
    "validate_gaming",
    "validate_live",
    "validate_login",
    "validate_playback",
    "validate_search",
    "validator_for",
]

MISSING_FIELD: Final = "missing_field"
BAD_TYPE: Final = "bad_type"
BAD_ID: Final = "bad_id"
BAD_TS: Final = "bad_ts"
UNKNOWN_ENUM: Final = "unknown_enum"
EMPTY_QUERY: Final = "empty_query"

#: Every reason code a validator can give, for dead-letter accounting.
REASONS: Final[tuple[str, ...]] = (
    MISSING_FIELD,
    BAD_TYPE,
    BAD_ID,
    BAD_TS,
    UNKNOWN_ENUM,
    EMPTY_QUERY,
)

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_PLAYBACK_ACTIONS: Final = frozenset(PLAYBACK_ACTIONS)
_LIVE_ACTIONS: Final = frozenset(LIVE_ACTIONS)
_SHOW_CHARS: Final = 60

Validator = Callable[[Mapping[str, Any]], dict[str, Any]]


class InvalidEvent(RDGError):
    """A decoded record that breaks the contract; `reason` is one of REASONS."""

    def __init__(self, reason: str, topic: str, field: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.topic = topic
        self.field = field
        self.value = value
        self.message = message

    def __reduce__(self) -> tuple[type[InvalidEvent], tuple[str, str, str, Any, str]]:
        return (type(self), (self.reason, self.topic, self.field, self.value, self.message))


def normalize_query(s: str) -> str:
    """Lower-case, trim, and collapse inner whitespace runs to one space."""
    return " ".join(s.lower().split())


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > _SHOW_CHARS:
        size = f", {len(value)} chars" if isinstance(value, str) else ""
        return f"{text[: _SHOW_CHARS - 5]}...{text[-1]} ({type(value).__name__}{size})"
    return text


def _iso(ms: int) -> str:
    try:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return "out of datetime range"


def _wrong(
    record: Mapping[str, Any], topic: str, name: str, value: Any, expected: str
) -> InvalidEvent:
    """Missing (absent or null) or of the wrong type."""
    if value is None:
        state = "is null" if name in record else "is missing"
        return InvalidEvent(
            MISSING_FIELD, topic, name, value, f"{topic}.{name}: required field {state}"
        )
    return InvalidEvent(
        BAD_TYPE,
        topic,
        name,
        value,
        f"{topic}.{name}: expected {expected}, got {type(value).__name__} {_show(value)}",
    )


def _bad_id(topic: str, name: str, value: str, trimmed: str) -> InvalidEvent:
    if not trimmed:
        why = "empty after trimming"
    else:
        why = f"{len(trimmed)} characters after trimming, more than {MAX_ID_LENGTH}"
    return InvalidEvent(BAD_ID, topic, name, value, f"{topic}.{name}: id is {why}: {_show(value)}")


def _id(record: Mapping[str, Any], topic: str, name: str) -> str:
    value = record.get(name)
    if type(value) is str:
        trimmed = value.strip()
        if trimmed and len(trimmed) <= MAX_ID_LENGTH:
            return trimmed
        raise _bad_id(topic, name, value, trimmed)
    raise _wrong(record, topic, name, value, "a string id")


def _optional_id(record: Mapping[str, Any], topic: str, name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if type(value) is str:
        trimmed = value.strip()
        if trimmed and len(trimmed) <= MAX_ID_LENGTH:
            return trimmed
        raise _bad_id(topic, name, value, trimmed)
    raise _wrong(record, topic, name, value, "a string id or null")


def _ts(record: Mapping[str, Any], topic: str) -> int:
    value = record.get("ts")
    if type(value) is int:
        if TS_MIN_MS <= value < TS_MAX_MS:
            return value
        where = (
            "before 2000-01-01T00:00:00Z"
            if value < TS_MIN_MS
            else "not before 2100-01-01T00:00:00Z"
        )
        raise InvalidEvent(
            BAD_TS, topic, "ts", value, f"{topic}.ts: {value} ({_iso(value)}) is {where}"
        )
    raise _wrong(record, topic, "ts", value, "epoch milliseconds as an int")


def _str(record: Mapping[str, Any], topic: str, name: str) -> str:
    value = record.get(name)
    if type(value) is str:
        return value
    raise _wrong(record, topic, name, value, "a string")


def _long(record: Mapping[str, Any], topic: str, name: str) -> int:
    value = record.get(name)
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        return value
    raise _wrong(record, topic, name, value, "an int within 64 bits (Avro long)")


def _int(record: Mapping[str, Any], topic: str, name: str) -> int:
    value = record.get(name)
    if type(value) is int and _INT32_MIN <= value <= _INT32_MAX:
        return value
    raise _wrong(record, topic, name, value, "an int within 32 bits (Avro int)")


def _bool(record: Mapping[str, Any], topic: str, name: str) -> bool:
    value = record.get(name)
    if type(value) is bool:
        return value
    raise _wrong(record, topic, name, value, "a boolean")


def _enum(
    record: Mapping[str, Any],
    topic: str,
    name: str,
    symbols: frozenset[str],
    order: tuple[str, ...],
) -> str:
    value = record.get(name)
    if type(value) is str:
        if value in symbols:
            return value
        raise InvalidEvent(
            UNKNOWN_ENUM,
            topic,
            name,
            value,
            f"{topic}.{name}: unknown symbol {_show(value)}; expected one of {', '.join(order)}",
        )
    raise _wrong(record, topic, name, value, f"one of the strings {', '.join(order)}")


def _query(record: Mapping[str, Any], topic: str) -> str:
    value = record.get("query")
    if type(value) is str:
        query = " ".join(value.lower().split())
        if query:
            return query
        raise InvalidEvent(
            EMPTY_QUERY,
            topic,
            "query",
            value,
            f"{topic}.query: empty after normalization: {_show(value)}",
        )
    raise _wrong(record, topic, "query", value, "a string")


def _check_record(record: Any, topic: str) -> None:
    if not isinstance(record, Mapping):
        raise InvalidEvent(
            BAD_TYPE,
            topic,
            "",
            record,
            f"{topic}: expected a record (mapping), got {type(record).__name__} {_show(record)}",
        )


def validate_playback(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize a playback record (see the module docstring)."""
    if type(record) is not dict:
        _check_record(record, "playback")
    return {
        "event_id": _id(record, "playback", "event_id"),
        "ts": _ts(record, "playback"),
        "account_id": _id(record, "playback", "account_id"),
        "profile_id": _id(record, "playback", "profile_id"),
        "title_id": _id(record, "playback", "title_id"),
        "device_id": _id(record, "playback", "device_id"),
        "device_type": _str(record, "playback", "device_type"),
        "country": _str(record, "playback", "country"),
        "action": _enum(record, "playback", "action", _PLAYBACK_ACTIONS, PLAYBACK_ACTIONS),
        "position_ms": _long(record, "playback", "position_ms"),
    }


def validate_login(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize a login record."""
    if type(record) is not dict:
        _check_record(record, "login")
    return {
        "event_id": _id(record, "login", "event_id"),
        "ts": _ts(record, "login"),
        "account_id": _id(record, "login", "account_id"),
        "device_id": _id(record, "login", "device_id"),
        "device_type": _str(record, "login", "device_type"),
        "country": _str(record, "login", "country"),
        "success": _bool(record, "login", "success"),
    }


def validate_search(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize a search record; the query comes back normalized."""
    if type(record) is not dict:
        _check_record(record, "search")
    return {
        "event_id": _id(record, "search", "event_id"),
        "ts": _ts(record, "search"),
        "profile_id": _id(record, "search", "profile_id"),
        "query": _query(record, "search"),
        "clicked_title_id": _optional_id(record, "search", "clicked_title_id"),
    }


def validate_gaming(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize a gaming record."""
    if type(record) is not dict:
        _check_record(record, "gaming")
    return {
        "event_id": _id(record, "gaming", "event_id"),
        "ts": _ts(record, "gaming"),
        "profile_id": _id(record, "gaming", "profile_id"),
        "game_id": _id(record, "gaming", "game_id"),
        "device_id": _id(record, "gaming", "device_id"),
        "device_type": _str(record, "gaming", "device_type"),
        "session_seconds": _int(record, "gaming", "session_seconds"),
    }


def validate_live(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize a live record."""
    if type(record) is not dict:
        _check_record(record, "live")
    return {
        "event_id": _id(record, "live", "event_id"),
        "ts": _ts(record, "live"),
        "profile_id": _id(record, "live", "profile_id"),
        "live_event_id": _id(record, "live", "live_event_id"),
        "device_id": _id(record, "live", "device_id"),
        "device_type": _str(record, "live", "device_type"),
        "action": _enum(record, "live", "action", _LIVE_ACTIONS, LIVE_ACTIONS),
    }


#: topic -> validator; look one up once with validator_for() in hot loops.
VALIDATORS: Final[dict[str, Validator]] = {
    "playback": validate_playback,
    "login": validate_login,
    "search": validate_search,
    "gaming": validate_gaming,
    "live": validate_live,
}


def validator_for(topic: str) -> Validator:
    """The validator of `topic`; raises UnknownTopicError for other names."""
    try:
        return VALIDATORS[topic]
    except KeyError:
        from schemas.registry import check_topic

        check_topic(topic)
        raise


def validate(topic: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize `record` of `topic`; raises InvalidEvent."""
    return validator_for(topic)(record)

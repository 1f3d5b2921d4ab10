"""The topics, their partition keys and their Avro schemas.

Schemas ship as package data (`schemas/<topic>.avsc`) and are read and parsed
on first use only, so importing this module costs nothing.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import cache
from importlib import resources
from typing import Any, Final, cast

from ingest.errors import ConfigError

__all__ = [
    "PARTITION_KEYS",
    "TOPICS",
    "UnknownTopicError",
    "check_topic",
    "field_names",
    "parsed_schema",
    "partition_key_field",
    "raw_schema",
    "schema_text",
]

log = logging.getLogger(__name__)

#: Every topic, in a stable order.
TOPICS: Final[tuple[str, ...]] = ("playback", "login", "search", "gaming", "live")

#: The record field whose value is the Kafka message key / partitioning key.
PARTITION_KEYS: Final[dict[str, str]] = {
    "playback": "profile_id",
    "login": "account_id",
    "search": "profile_id",
    "gaming": "profile_id",
    "live": "profile_id",
}


class UnknownTopicError(ConfigError):
    """A topic name that is not one of TOPICS."""


def check_topic(topic: str) -> str:
    """Return `topic` if known, else raise UnknownTopicError naming the valid ones."""
    if topic not in PARTITION_KEYS:
        raise UnknownTopicError(f"unknown topic {topic!r}; expected one of {', '.join(TOPICS)}")
    return topic


def partition_key_field(topic: str) -> str:
    """Name of the field used as message key for `topic`."""
    return PARTITION_KEYS[check_topic(topic)]


@cache
def schema_text(topic: str) -> str:
    """The .avsc file's text for `topic`, read from the installed package."""
    check_topic(topic)
    return resources.files(__package__ or "schemas").joinpath(f"{topic}.avsc").read_text("utf-8")


@cache
def _raw(topic: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(topic))
    return loaded


def raw_schema(topic: str) -> dict[str, Any]:
    """The schema as plain JSON data (a fresh copy the caller may modify)."""
    return copy.deepcopy(_raw(topic))


@cache
def parsed_schema(topic: str) -> dict[str, Any]:
    """The schema parsed by fastavro.parse_schema (cached; do not modify)."""
    import fastavro

    parsed = cast(dict[str, Any], fastavro.parse_schema(raw_schema(topic)))
    log.debug("parsed Avro schema for topic %s", topic)
    return parsed


@cache
def field_names(topic: str) -> tuple[str, ...]:
    """The record's field names in schema order."""
    return tuple(f["name"] for f in _raw(topic)["fields"])

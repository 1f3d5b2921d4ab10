"""Topics, partition keys and the shipped schemas."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ingest.errors import ConfigError
from schemas import registry


def test_topics_and_keys() -> None:
    assert registry.TOPICS == ("playback", "login", "search", "gaming", "live")
    assert registry.PARTITION_KEYS == {
        "playback": "profile_id",
        "login": "account_id",
        "search": "profile_id",
        "gaming": "profile_id",
        "live": "profile_id",
    }
    for topic in registry.TOPICS:
        assert registry.partition_key_field(topic) in registry.field_names(topic)


@pytest.mark.parametrize(
    "topic,fields",
    [
        (
            "playback",
            "event_id ts account_id profile_id title_id device_id device_type country action position_ms",
        ),
        ("login", "event_id ts account_id device_id device_type country success"),
        ("search", "event_id ts profile_id query clicked_title_id"),
        ("gaming", "event_id ts profile_id game_id device_id device_type session_seconds"),
        ("live", "event_id ts profile_id live_event_id device_id device_type action"),
    ],
)
def test_schema_fields(topic: str, fields: str) -> None:
    assert registry.field_names(topic) == tuple(fields.split())
    raw = registry.raw_schema(topic)
    types = {f["name"]: f["type"] for f in raw["fields"]}
    assert types["ts"] == {"type": "long", "logicalType": "timestamp-millis"}
    for name, avro_type in types.items():
        if name == "event_id" or name.endswith("_id"):
            assert avro_type in ("string", ["null", "string"]), name


def test_typed_fields() -> None:
    def types(topic: str) -> dict[str, object]:
        return {f["name"]: f["type"] for f in registry.raw_schema(topic)["fields"]}

    assert types("playback")["action"]["symbols"] == ["START", "PAUSE", "STOP"]  # type: ignore[index]
    assert types("live")["action"]["symbols"] == ["JOIN", "VOTE", "LEAVE"]  # type: ignore[index]
    assert types("playback")["position_ms"] == "long"
    assert types("login")["success"] == "boolean"
    assert types("gaming")["session_seconds"] == "int"
    clicked = next(
        f for f in registry.raw_schema("search")["fields"] if f["name"] == "clicked_title_id"
    )
    assert clicked["type"] == ["null", "string"] and clicked["default"] is None


def test_parsed_schema_is_cached_and_raw_is_a_copy() -> None:
    assert registry.parsed_schema("login") is registry.parsed_schema("login")
    raw = registry.raw_schema("login")
    raw["fields"].clear()
    assert registry.raw_schema("login")["fields"]
    assert json.loads(registry.schema_text("login"))["name"] == "LoginEvent"


def test_unknown_topic() -> None:
    for call in (registry.check_topic, registry.parsed_schema, registry.partition_key_field):
        with pytest.raises(ConfigError, match=r"unknown topic 'views'.*playback"):
            call("views")


def test_imports_do_no_work() -> None:
    code = (
        "import sys\n"
        "import schemas.registry, schemas.serde, schemas.validate, schemas.events, jobs.generate\n"
        "from schemas import registry\n"
        "assert 'fastavro' not in sys.modules, 'fastavro imported'\n"
        "assert 'confluent_kafka' not in sys.modules, 'confluent_kafka imported'\n"
        "assert registry._raw.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

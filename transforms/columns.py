"""The graph rules in columnar form: which fields of a batch of events make which nodes,
edges and properties.  The graph operator applies them to whole batches at once.

``transforms.rules`` states the same rules per event (used by tests and docs); the two are
kept equal by ``tests/transforms/test_columns.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.errors import ConfigError

__all__ = ["COLUMN_RULES", "ColumnRule", "EdgeColumn", "NodeColumn", "column_rule_for"]


@dataclass(frozen=True)
class NodeColumn:
    type: str
    field: str
    props: tuple[tuple[str, str], ...] = ()  # (property, event field)
    optional: bool = False  # only events where the field is set (search's clicked title)


@dataclass(frozen=True)
class EdgeColumn:
    src_type: str
    src_field: str
    edge_type: str
    dst_type: str
    dst_field: str
    optional: bool = False  # only events where dst_field is set


@dataclass(frozen=True)
class ColumnRule:
    topic: str
    nodes: tuple[NodeColumn, ...]
    edges: tuple[EdgeColumn, ...]
    #: events that produce nothing on purpose (failed logins) and their metric
    keep: Callable[[dict[str, Any]], bool] | None = None
    skipped_metric: str | None = None


def _login_ok(e: dict[str, Any]) -> bool:
    return bool(e["success"])


COLUMN_RULES: dict[str, ColumnRule] = {
    "playback": ColumnRule(
        "playback",
        (
            NodeColumn("account", "account_id"),
            NodeColumn("profile", "profile_id", (("country", "country"),)),
            NodeColumn("title", "title_id"),
            NodeColumn("device", "device_id", (("device_type", "device_type"),)),
        ),
        (
            EdgeColumn("account", "account_id", "HAS_PROFILE", "profile", "profile_id"),
            EdgeColumn("profile", "profile_id", "WATCHED", "title", "title_id"),
            EdgeColumn("profile", "profile_id", "USED_DEVICE", "device", "device_id"),
        ),
    ),
    "login": ColumnRule(
        "login",
        (
            NodeColumn("account", "account_id", (("country", "country"),)),
            NodeColumn("device", "device_id", (("device_type", "device_type"),)),
        ),
        (EdgeColumn("account", "account_id", "LOGGED_IN_FROM", "device", "device_id"),),
        keep=_login_ok,
        skipped_metric="failed_logins",
    ),
    "search": ColumnRule(
        "search",
        (
            NodeColumn("profile", "profile_id"),
            NodeColumn("query", "query"),
            NodeColumn("title", "clicked_title_id", optional=True),
        ),
        (
            EdgeColumn("profile", "profile_id", "SEARCHED", "query", "query"),
            EdgeColumn("query", "query", "LED_TO", "title", "clicked_title_id", optional=True),
        ),
    ),
    "gaming": ColumnRule(
        "gaming",
        (
            NodeColumn("profile", "profile_id"),
            NodeColumn("game", "game_id"),
            NodeColumn("device", "device_id", (("device_type", "device_type"),)),
        ),
        (
            EdgeColumn("profile", "profile_id", "PLAYS", "game", "game_id"),
            EdgeColumn("profile", "profile_id", "USED_DEVICE", "device", "device_id"),
        ),
    ),
    "live": ColumnRule(
        "live",
        (
            NodeColumn("profile", "profile_id"),
            NodeColumn("live_event", "live_event_id"),
            NodeColumn("device", "device_id", (("device_type", "device_type"),)),
        ),
        (
            EdgeColumn("profile", "profile_id", "ATTENDED", "live_event", "live_event_id"),
            EdgeColumn("profile", "profile_id", "USED_DEVICE", "device", "device_id"),
        ),
    ),
}


def column_rule_for(topic: str) -> ColumnRule:
    try:
        return COLUMN_RULES[topic]
    except KeyError:
        raise ConfigError(
            f"unknown topic {topic!r}: graph rules exist for {', '.join(COLUMN_RULES)}"
        ) from None

"""The graph rules: which nodes, edges and properties each topic's events produce.

Input events are validated and normalized (``schemas.validate``): ids trimmed, the search
query lower-cased with whitespace collapsed, ``ts`` an int of epoch ms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.errors import ConfigError

__all__ = ["EDGE_TYPES", "NODE_TYPES", "RULES", "Extracted", "GraphRule", "extract"]

NodeSpec = tuple[str, str, tuple[tuple[str, str], ...]]  # (type, id, ((prop, value), ...))
EdgeSpec = tuple[str, str, str, str, str]  # (src_type, src_id, edge_type, dst_type, dst_id)
Extracted = tuple[list[NodeSpec], list[EdgeSpec]]

NODE_TYPES = ("account", "profile", "title", "device", "query", "game", "live_event")
EDGE_TYPES = (
    "HAS_PROFILE",
    "WATCHED",
    "USED_DEVICE",
    "LOGGED_IN_FROM",
    "SEARCHED",
    "LED_TO",
    "PLAYS",
    "ATTENDED",
)


def _playback(e: dict[str, Any]) -> Extracted:
    a, p, t, d = e["account_id"], e["profile_id"], e["title_id"], e["device_id"]
    return (
        [
            ("account", a, ()),
            ("profile", p, (("country", e["country"]),)),
            ("title", t, ()),
            ("device", d, (("device_type", e["device_type"]),)),
        ],
        [
            ("account", a, "HAS_PROFILE", "profile", p),
            ("profile", p, "WATCHED", "title", t),
            ("profile", p, "USED_DEVICE", "device", d),
        ],
    )


def _login(e: dict[str, Any]) -> Extracted:
    if not e["success"]:
        return [], []  # failed logins produce nothing (counted as failed_logins)
    a, d = e["account_id"], e["device_id"]
    return (
        [
            ("account", a, (("country", e["country"]),)),
            ("device", d, (("device_type", e["device_type"]),)),
        ],
        [("account", a, "LOGGED_IN_FROM", "device", d)],
    )


def _search(e: dict[str, Any]) -> Extracted:
    p, q = e["profile_id"], e["query"]
    nodes: list[NodeSpec] = [("profile", p, ()), ("query", q, ())]
    edges: list[EdgeSpec] = [("profile", p, "SEARCHED", "query", q)]
    t = e.get("clicked_title_id")
    if t:
        nodes.append(("title", t, ()))
        edges.append(("query", q, "LED_TO", "title", t))
    return nodes, edges


def _gaming(e: dict[str, Any]) -> Extracted:
    p, g, d = e["profile_id"], e["game_id"], e["device_id"]
    return (
        [("profile", p, ()), ("game", g, ()), ("device", d, (("device_type", e["device_type"]),))],
        [("profile", p, "PLAYS", "game", g), ("profile", p, "USED_DEVICE", "device", d)],
    )


def _live(e: dict[str, Any]) -> Extracted:
    p, le, d = e["profile_id"], e["live_event_id"], e["device_id"]
    return (
        [
            ("profile", p, ()),
            ("live_event", le, ()),
            ("device", d, (("device_type", e["device_type"]),)),
        ],
        [("profile", p, "ATTENDED", "live_event", le), ("profile", p, "USED_DEVICE", "device", d)],
    )


@dataclass(frozen=True)
class GraphRule:
    topic: str
    extract: Callable[[dict[str, Any]], Extracted]
    #: events that produce nothing on purpose, and the metric that counts them
    skipped_metric: str | None = None


RULES: dict[str, GraphRule] = {
    "playback": GraphRule("playback", _playback),
    "login": GraphRule("login", _login, "failed_logins"),
    "search": GraphRule("search", _search),
    "gaming": GraphRule("gaming", _gaming),
    "live": GraphRule("live", _live),
}


def rule_for(topic: str) -> GraphRule:
    try:
        return RULES[topic]
    except KeyError:
        raise ConfigError(
            f"unknown topic {topic!r}: graph rules exist for {', '.join(RULES)}"
        ) from None


def extract(topic: str, event: dict[str, Any]) -> Extracted:
    """Nodes and edges of one validated event."""
    return rule_for(topic).extract(event)

"""The graph rules per event: which nodes, edges and properties one event produces.

The rules themselves are stated once, in columnar form, in ``transforms.columns``.

Input events are validated and normalized (``schemas.validate``): ids trimmed, the search
query lower-cased with whitespace collapsed, ``ts`` an int of epoch ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.errors import ConfigError
from transforms.columns import COLUMN_RULES, ColumnRule

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


@dataclass(frozen=True)
class GraphRule:
    """One topic's rules applied to a single event (derived from the column rules)."""

    topic: str
    columns: ColumnRule

    @property
    def skipped_metric(self) -> str | None:
        return self.columns.skipped_metric

    def extract(self, e: dict[str, Any]) -> Extracted:
        c = self.columns
        if c.keep is not None and not c.keep(e):
            return [], []
        nodes: list[NodeSpec] = [
            (n.type, e[n.field], tuple((name, e[f]) for name, f in n.props))
            for n in c.nodes
            if not n.optional or e.get(n.field)
        ]
        edges: list[EdgeSpec] = [
            (x.src_type, e[x.src_field], x.edge_type, x.dst_type, e[x.dst_field])
            for x in c.edges
            if not x.optional or e.get(x.dst_field)
        ]
        return nodes, edges


RULES: dict[str, GraphRule] = {t: GraphRule(t, c) for t, c in COLUMN_RULES.items()}


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

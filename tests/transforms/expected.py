"""An independent model of the graph contract (docs/graph-model.md), for tests.

It shares no code with transforms/: it applies the rules table to the generator's ground
truth (each GeneratedEvent says whether it is ok, a duplicate, late or invalid).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jobs.generate import GeneratedEvent

HOUR = 3_600_000

# topic -> (nodes: [(type, id field, {prop: field})], edges: [(src, type, dst)])
RULES: dict[str, Any] = {
    "playback": (
        [
            ("account", "account_id", {}),
            ("profile", "profile_id", {"country": "country"}),
            ("title", "title_id", {}),
            ("device", "device_id", {"device_type": "device_type"}),
        ],
        [
            ("account_id", "HAS_PROFILE", "profile_id"),
            ("profile_id", "WATCHED", "title_id"),
            ("profile_id", "USED_DEVICE", "device_id"),
        ],
    ),
    "login": (
        [
            ("account", "account_id", {"country": "country"}),
            ("device", "device_id", {"device_type": "device_type"}),
        ],
        [("account_id", "LOGGED_IN_FROM", "device_id")],
    ),
    "search": (
        [("profile", "profile_id", {}), ("query", "query", {}), ("title", "clicked_title_id", {})],
        [("profile_id", "SEARCHED", "query"), ("query", "LED_TO", "clicked_title_id")],
    ),
    "gaming": (
        [
            ("profile", "profile_id", {}),
            ("game", "game_id", {}),
            ("device", "device_id", {"device_type": "device_type"}),
        ],
        [("profile_id", "PLAYS", "game_id"), ("profile_id", "USED_DEVICE", "device_id")],
    ),
    "live": (
        [
            ("profile", "profile_id", {}),
            ("live_event", "live_event_id", {}),
            ("device", "device_id", {"device_type": "device_type"}),
        ],
        [("profile_id", "ATTENDED", "live_event_id"), ("profile_id", "USED_DEVICE", "device_id")],
    ),
}
TYPE_OF_FIELD = {
    "account_id": "account",
    "profile_id": "profile",
    "title_id": "title",
    "clicked_title_id": "title",
    "device_id": "device",
    "query": "query",
    "game_id": "game",
    "live_event_id": "live_event",
}


def normalize(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    for k, v in r.items():
        if (k.endswith("_id") or k == "event_id") and isinstance(v, str):
            out[k] = v.strip()
    if "query" in r:
        out["query"] = re.sub(r"\s+", " ", r["query"].strip().lower())
    return out


@dataclass
class ExpectedGraph:
    nodes: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # first, last, props
    edges: dict[tuple[str, str, str, str, str], list[int]] = field(default_factory=dict)
    buckets: Counter[tuple[Any, ...]] = field(default_factory=Counter)  # (edge..., hour)
    dead: int = 0
    duplicates: int = 0
    late: int = 0
    failed_logins: int = 0


def expected_graph(topic: str, events: Iterable[GeneratedEvent]) -> ExpectedGraph:
    g = ExpectedGraph()
    seen: dict[str, int] = {}
    node_specs, edge_specs = RULES[topic]
    for ev in events:
        if ev.kind.startswith("invalid"):
            g.dead += 1
            continue
        assert ev.record is not None
        r = normalize(ev.record)
        ts, eid = r["ts"], r["event_id"]
        if eid in seen and abs(seen[eid] - ts) <= HOUR:
            g.duplicates += 1
            continue
        seen[eid] = ts
        if topic == "login" and not r["success"]:
            g.failed_logins += 1
            continue
        late = ev.kind == "late"
        g.late += late
        for typ, f, props in node_specs:
            if not r.get(f):
                continue
            n = g.nodes.setdefault((typ, r[f]), [ts, ts, {}])
            n[0], n[1] = min(n[0], ts), max(n[1], ts)
            for name, pf in props.items():
                old = n[2].get(name)
                if old is None or (ts, eid) > (old[0], old[1]):
                    n[2][name] = (ts, eid, r[pf])
        for sf, et, df in edge_specs:
            if not r.get(sf) or not r.get(df):
                continue
            e = (TYPE_OF_FIELD[sf], r[sf], et, TYPE_OF_FIELD[df], r[df])
            x = g.edges.setdefault(e, [ts, ts])
            x[0], x[1] = min(x[0], ts), max(x[1], ts)
            if not late:
                g.buckets[(*e, ts - ts % HOUR)] += 1
    return g


def bucket_totals(rows: Iterable[Any]) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = defaultdict(int)  # type: ignore[assignment]
    for b in rows:
        out[(b.src_type, b.src_id, b.edge_type, b.dst_type, b.dst_id, b.bucket_start)] += b.count
    return Counter(out)


def compare(store_dump: Any, g: ExpectedGraph) -> None:
    """Assert the store holds exactly the expected graph."""
    got_nodes = {
        (n.type, n.id): (
            n.first_seen,
            n.last_seen,
            {p.name: (p.ts, p.event_id, p.value) for p in n.props},
        )
        for n in store_dump.nodes
    }
    want_nodes = {k: (v[0], v[1], v[2]) for k, v in g.nodes.items()}
    assert got_nodes == want_nodes
    got_edges = {
        (e.src_type, e.src_id, e.edge_type, e.dst_type, e.dst_id): (e.first_seen, e.last_seen)
        for e in store_dump.edges
    }
    assert got_edges == {k: tuple(v) for k, v in g.edges.items()}
    assert bucket_totals(store_dump.buckets) == g.buckets

"""The graph operator: dedup, graph extraction, hourly activity buckets, write coalescing.

One fused operator per partition task, working directly on the partition's keyed state
(the source partition is the key group, so a node seen in two partitions is merged by the
store, whose merges are idempotent and order-independent).

State (all checkpointed, incrementally):

- ``dedup``: namespace = hour of ``ts``, ``event_id -> ts``.  An event whose id was seen
  within one hour of event time (``|ts - ts'| <= 1 h``) is a duplicate and ignored.
- ``nodes``: ``(type, id) -> [first_seen, last_seen, {prop: (ts, event_id, value)}]``.
- ``edges``: ``(src_type, src_id, edge_type, dst_type, dst_id) -> [first_seen, last_seen]``.
- ``buckets``: namespace = hour start, ``edge -> number of distinct events``; written as
  rows keyed by (edge, hour, ``<source topic>/<partition>``).

Time: an hourly bucket accepts events until the watermark reaches its end - 1 + allowed
lateness; then it is final and its namespace is dropped.  A later event still updates its
nodes' and edges' first/last_seen, is left out of the counts, and goes to the late output.

Writes: a merge that changes state marks the node/edge/bucket dirty; dirty items are
written at most once per flush interval (processing time), before every checkpoint, and at
the end of the input.  A merge that changes nothing writes nothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, NamedTuple

from graphstore.model import BucketWrite, EdgeWrite, NodeWrite, PropVersion
from ingest.deadletter import DeadLetter
from ingest.operators.base import Operator, TaskContext
from transforms.rules import EdgeSpec, rule_for

__all__ = ["GraphOperator", "GraphSettings", "GraphWrites"]

HOUR = 3_600_000


@dataclass(frozen=True)
class GraphSettings:
    topic: str
    dedup_window_ms: int = HOUR
    bucket_ms: int = HOUR
    allowed_lateness_ms: int = 60_000
    flush_interval_ms: int = 1_000
    late_tag: str = "late"
    #: names the input in bucket rows, with the partition: "<source>/<partition>".  Edges
    #: such as USED_DEVICE come from several topics, whose partition numbers coincide;
    #: counts of different sources must add up, not max-merge.  Default: the topic.
    source: str = ""


class GraphWrites(NamedTuple):
    """One coalesced flush of a partition's changed graph rows."""

    partition: str
    nodes: list[NodeWrite]
    edges: list[EdgeWrite]
    buckets: list[BucketWrite]

    def __len__(self) -> int:
        return len(self.nodes) + len(self.edges) + len(self.buckets)


def _zero() -> int:
    return 0


class GraphOperator(Operator):
    def __init__(self, uid: str, settings: GraphSettings) -> None:
        super().__init__(uid)
        self.settings = settings
        rule = rule_for(settings.topic)
        self._extract = rule.extract
        self._skipped_metric = rule.skipped_metric
        self._dirty_nodes: set[tuple[str, str]] = set()
        self._dirty_edges: set[EdgeSpec] = set()
        self._dirty_buckets: set[tuple[int, EdgeSpec]] = set()
        self._bucket_ns: list[int] = []  # live bucket namespaces, sorted
        self._bucket_live: set[int] = set()
        self._dedup_ns: list[int] = []  # live dedup hours, sorted
        self._dedup_live: set[int] = set()
        self._next_flush: int | None = None

    def open(self, ctx: TaskContext) -> None:
        super().open(ctx)
        s = ctx.store
        self._dedup = s.table(f"{self.uid}/dedup")
        self._nodes = s.table(f"{self.uid}/nodes")
        self._edges = s.table(f"{self.uid}/edges")
        self._buckets = s.table(f"{self.uid}/buckets", _zero)
        self._late = self.side_output(self.settings.late_tag)

    # -- records -----------------------------------------------------------------------
    def process(self, values: list[Any], timestamps: list[int]) -> None:
        st = self.settings
        window, bucket_ms = st.dedup_window_ms, st.bucket_ms
        wm = self.current_watermark
        # a bucket [b, b + size) is final once wm >= b + size - 1 + lateness
        final_upto = wm - bucket_ms + 1 - st.allowed_lateness_ms
        extract = self._extract
        nodes_m = self._nodes.ns(None)
        edges_m = self._edges.ns(None)
        bucket_table = self._buckets
        dedup_maps: dict[int, Any] = {}
        bucket_maps: dict[int, Any] = {}
        dirty_nodes, dirty_edges, dirty_buckets = (
            self._dirty_nodes,
            self._dirty_edges,
            self._dirty_buckets,
        )
        late_v: list[Any] = []
        late_t: list[int] = []
        updates = dups = skipped = 0
        # Hot loop: tables here never delete single keys and never store None, so a read
        # is the delta dict's get() and, on a miss, the committed base's get() (both C for
        # the heap backend).
        nodes_get, nodes_base = nodes_m.get, nodes_m.base
        edges_get, edges_base = edges_m.get, edges_m.base
        for ev, ts in zip(values, timestamps, strict=True):
            eid = ev["event_id"]
            # -- dedup: the same event_id within the dedup window of event time
            h = ts // window
            m = dedup_maps.get(h)
            if m is None:
                m = self._dedup_map(dedup_maps, h)
            seen = m.get(eid)
            if seen is None and m.base is not None:
                seen = m.base.get(eid)
            if seen is None:
                for hh in (h - 1, h + 1):
                    mm = dedup_maps.get(hh)
                    if mm is None:
                        mm = self._dedup_map(dedup_maps, hh)
                    seen = mm.get(eid)
                    if seen is None and mm.base is not None:
                        seen = mm.base.get(eid)
                    if seen is not None:
                        break
            if seen is not None and abs(ts - seen) <= window:
                dups += 1
                continue
            m[eid] = ts
            nodes, edges = extract(ev)
            if not edges and not nodes:
                skipped += 1
                continue
            # -- nodes
            for typ, nid, props in nodes:
                k = (typ, nid)
                cur = nodes_get(k)
                if cur is None and nodes_base is not None:
                    cur = nodes_base.get(k)
                if cur is None:
                    cur = [ts, ts, None]
                    changed = True
                else:
                    changed = False
                    if ts < cur[0]:
                        cur[0] = ts
                        changed = True
                    if ts > cur[1]:
                        cur[1] = ts
                        changed = True
                if props:
                    pd = cur[2]
                    if pd is None:
                        pd = cur[2] = {}
                    for name, value in props:
                        old = pd.get(name)
                        if old is None or ts > old[0] or (ts == old[0] and eid > old[1]):
                            pd[name] = (ts, eid, value)
                            changed = True
                if changed:
                    nodes_m[k] = cur
                    dirty_nodes.add(k)
            # -- edges and their hourly buckets
            b = ts - ts % bucket_ms
            is_late = b <= final_upto
            bm = None
            if not is_late:
                bm = bucket_maps.get(b)
                if bm is None:
                    bm = bucket_maps[b] = bucket_table.ns(b)
                    if b not in self._bucket_live:
                        self._bucket_live.add(b)
                        bisect.insort(self._bucket_ns, b)
            for e in edges:
                cur = edges_get(e)
                if cur is None and edges_base is not None:
                    cur = edges_base.get(e)
                if cur is None:
                    edges_m[e] = [ts, ts]
                    dirty_edges.add(e)
                elif ts < cur[0] or ts > cur[1]:
                    if ts < cur[0]:
                        cur[0] = ts
                    if ts > cur[1]:
                        cur[1] = ts
                    edges_m[e] = cur
                    dirty_edges.add(e)
                if bm is not None:
                    bm[e] = bm[e] + 1
                    dirty_buckets.add((b, e))
            updates += len(nodes) + len(edges) * (1 if is_late else 2)
            if is_late:
                late_v.append(
                    DeadLetter(
                        f"late: the hourly bucket starting at {b} was final (watermark {wm})",
                        ev,
                        self.uid,
                        {"partition": self.ctx.partition, "ts": ts},
                    )
                )
                late_t.append(ts)
        metrics = self.ctx.metrics
        metrics.inc("graph_updates", updates)
        if dups:
            metrics.inc("duplicates", dups)
        if skipped and self._skipped_metric:
            metrics.inc(self._skipped_metric, skipped)
        if late_v:
            metrics.inc("late_events", len(late_v))
            self._late.push(late_v, late_t)

    def _dedup_map(self, maps: dict[int, Any], h: int) -> Any:
        m = maps[h] = self._dedup.ns(h)
        if h not in self._dedup_live:
            self._dedup_live.add(h)
            bisect.insort(self._dedup_ns, h)
        return m

    # -- writes ------------------------------------------------------------------------
    def _flush_writes(self) -> None:
        if not (self._dirty_nodes or self._dirty_edges or self._dirty_buckets):
            return
        part = f"{self.settings.source or self.settings.topic}/{self.ctx.partition}"
        nodes_m = self._nodes.ns(None)
        edges_m = self._edges.ns(None)
        nodes = []
        for k in self._dirty_nodes:
            typ, nid = k
            first, last, pd = nodes_m.lookup(k)
            props = {n: PropVersion(v, t, e) for n, (t, e, v) in pd.items()} if pd else {}
            nodes.append(NodeWrite(typ, nid, first, last, props))
        edges = []
        for e in self._dirty_edges:
            first, last = edges_m.lookup(e)
            s_t, s_i, et, d_t, d_i = e
            edges.append(EdgeWrite(s_t, s_i, et, d_t, d_i, first, last))
        buckets = []
        for b, e in self._dirty_buckets:
            count = self._buckets.ns(b).lookup(e)
            s_t, s_i, et, d_t, d_i = e
            buckets.append(BucketWrite(s_t, s_i, et, d_t, d_i, b, part, count))
        self._dirty_nodes = set()
        self._dirty_edges = set()
        self._dirty_buckets = set()
        writes = GraphWrites(part, nodes, edges, buckets)
        self.ctx.metrics.inc("graph_writes", len(writes))
        ts = self.current_watermark if self.current_watermark > 0 else 0
        self.out.push([writes], [ts])

    def on_processing_time(self, now_ms: int) -> None:
        if self._next_flush is None:
            self._next_flush = now_ms + self.settings.flush_interval_ms
        elif now_ms >= self._next_flush:
            self._flush_writes()
            self._next_flush = now_ms + self.settings.flush_interval_ms

    def on_watermark(self, watermark: int) -> None:
        st = self.settings
        final_upto = watermark - st.bucket_ms + 1 - st.allowed_lateness_ms
        if self._bucket_ns and self._bucket_ns[0] <= final_upto:
            self._flush_writes()  # final counts are written before the bucket's state goes
            while self._bucket_ns and self._bucket_ns[0] <= final_upto:
                b = self._bucket_ns.pop(0)
                self._bucket_live.discard(b)
                self._buckets.drop(b)
        # an id in hour h can only be duplicated by events before hour h + 2
        dedup_upto = (watermark - st.allowed_lateness_ms) // st.dedup_window_ms - 2
        while self._dedup_ns and self._dedup_ns[0] <= dedup_upto:
            h = self._dedup_ns.pop(0)
            self._dedup_live.discard(h)
            self._dedup.drop(h)

    def prepare_snapshot(self) -> None:
        self._flush_writes()

    def finish(self) -> None:
        self._flush_writes()

    def restore(self, meta: dict[str, Any]) -> None:
        self._bucket_ns = sorted(int(b) for b in self._buckets.namespaces())  # type: ignore[call-overload]
        self._bucket_live = set(self._bucket_ns)
        self._dedup_ns = sorted(int(h) for h in self._dedup.namespaces())  # type: ignore[call-overload]
        self._dedup_live = set(self._dedup_ns)

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
from operator import itemgetter
from typing import Any, NamedTuple

from graphstore.model import BucketWrite, EdgeWrite, NodeWrite, PropVersion
from ingest.columns import add_counts, merge_ranges, pair_spans, spans
from ingest.deadletter import DeadLetter
from ingest.operators.base import Operator, TaskContext
from transforms.columns import EdgeColumn, NodeColumn, column_rule_for
from transforms.rules import EdgeSpec

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


_TS = itemgetter("ts")
_EID = itemgetter("event_id")
_TS_EID = itemgetter("ts", "event_id")


_NO_PROPS = (None,)  # the tail of a node state without properties: [first, last, None]


def _rows_with(field: str, events: list[Any], *cols: list[Any]) -> list[list[Any]]:
    """The events where optional `field` is set, and the same rows of the parallel columns."""
    rows = [i for i, e in enumerate(events) if e.get(field)]
    return [list(map(col.__getitem__, rows)) for col in (events, *cols)]


def _mark_live(key: int, live: set[int], ordered: list[int]) -> None:
    """Registers a namespace (an hour) in a set and a sorted list of the live ones."""
    if key not in live:
        live.add(key)
        bisect.insort(ordered, key)


def _column(cols: dict[str, list[Any]], events: list[Any], field: str) -> list[Any]:
    """events' values of `field`, extracted once per batch."""
    col = cols.get(field)
    if col is None:
        col = cols[field] = list(map(itemgetter(field), events))
    return col


class GraphOperator(Operator):
    def __init__(self, uid: str, settings: GraphSettings) -> None:
        super().__init__(uid)
        self.settings = settings
        self._rule = column_rule_for(settings.topic)
        self._dirty_nodes: set[tuple[str, str]] = set()
        self._dirty_edges: set[EdgeSpec] = set()
        self._dirty_buckets: dict[int, set[EdgeSpec]] = {}  # bucket start -> edges
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
        """One batch, column by column.

        Dedup is sequential (the first occurrence of an id wins).  The survivors are then
        sorted by ``(ts, event_id)``: in that order ``dict(zip(keys, ts))`` keeps each key's
        greatest ts and its latest property version, and the reversed zip its least ts, all
        at C speed; state is then merged once per distinct key, not once per event.  Min,
        max and latest do not depend on order, so this equals merging event by event.
        """
        st = self.settings
        bucket_ms = st.bucket_ms
        wm = self.current_watermark
        # a bucket [b, b + size) is final once wm >= b + size - 1 + lateness
        final_upto = wm - bucket_ms + 1 - st.allowed_lateness_ms
        metrics = self.ctx.metrics
        events, dups = self._dedup_batch(values, timestamps)
        if dups:
            metrics.inc("duplicates", dups)
        rule = self._rule
        if rule.keep is not None:
            kept = [e for e in events if rule.keep(e)]
            if rule.skipped_metric and len(kept) < len(events):
                metrics.inc(rule.skipped_metric, len(events) - len(kept))
            events = kept
        if not events:
            return
        events.sort(key=_TS_EID)
        ts_col = list(map(_TS, events))
        eid_col = list(map(_EID, events))
        b0 = ts_col[0] - ts_col[0] % bucket_ms
        if ts_col[-1] < b0 + bucket_ms:  # sorted by ts: the whole batch is in one bucket
            b_col = [b0] * len(ts_col)
        else:
            b_col = [t - t % bucket_ms for t in ts_col]
        late_col = [b <= final_upto for b in b_col] if min(b_col) <= final_upto else None
        updates = 0
        cols: dict[str, list[Any]] = {}  # field -> column, shared by the node and edge merges
        for nc in rule.nodes:
            updates += self._merge_nodes(nc, events, ts_col, eid_col, cols)
        for ec in rule.edges:
            updates += self._merge_edges(ec, events, ts_col, b_col, late_col, cols)
        metrics.inc("graph_updates", updates)
        if late_col is not None:
            late_v = [
                DeadLetter(
                    f"late: the hourly bucket starting at {b} was final (watermark {wm})",
                    e,
                    self.uid,
                    {"partition": self.ctx.partition, "ts": t},
                )
                for e, t, b, late in zip(events, ts_col, b_col, late_col, strict=True)
                if late
            ]
            late_t = [t for t, late in zip(ts_col, late_col, strict=True) if late]
            metrics.inc("late_events", len(late_v))
            self._late.push(late_v, late_t)

    def _dedup_batch(self, values: list[Any], timestamps: list[int]) -> tuple[list[Any], int]:
        """The events whose id was not seen within the dedup window (first one wins).

        Most rows of a batch lie in one hour h. C-level membership passes over the three
        hour maps that could hold its ids find the ids seen before; the rows of those, and
        of ids with a row outside hour h, go event by event (exact, with the window check).
        For every other id a repeat inside the batch is a duplicate of its first occurrence
        (both in hour h, less than an hour apart): the first occurrences are kept and
        recorded at once. The order of the result does not
        matter (the operator sorts it next).
        """
        window = self.settings.dedup_window_ms
        if not values:
            return values, 0
        h = timestamps[len(timestamps) // 2] // window
        lo, hi = h * window, (h + 1) * window
        eids = list(map(_EID, values))
        # id -> index of its first occurrence (the reversed zip's last write wins)
        first = dict(zip(reversed(eids), range(len(eids) - 1, -1, -1), strict=True))
        seen = self._seen_ids(h, list(first))
        if seen is None:  # cannot tell at C speed (e.g. a RocksDB base)
            return self._dedup_each(values, timestamps)
        if min(timestamps) < lo or max(timestamps) >= hi:
            # ids with a row outside hour h (late or straddling rows) also go one by one
            seen.update(eids[i] for i, t in enumerate(timestamps) if not lo <= t < hi)
        if seen:
            rows = [i for i, e in enumerate(eids) if e in seen]
            checked, dups = self._dedup_each(
                list(map(values.__getitem__, rows)), list(map(timestamps.__getitem__, rows))
            )
            for e in seen:
                first.pop(e, None)
            kept = sorted(first.values())
            dups += len(eids) - len(rows) - len(kept)
        else:
            checked, dups = [], len(eids) - len(first)
            kept = sorted(first.values()) if dups else list(range(len(eids)))
        if len(kept) < len(eids):
            values = list(map(values.__getitem__, kept))
            timestamps = list(map(timestamps.__getitem__, kept))
            eids = list(map(eids.__getitem__, kept))
        self._dedup_hour(h).update(zip(eids, timestamps, strict=True))
        return values + checked if checked else values, dups

    def _seen_ids(self, h: int, eids: list[str]) -> set[str] | None:
        """The ids of `eids` recorded in hours h - 1, h or h + 1; None when that cannot be
        told at C speed (a base without __contains__, e.g. RocksDB)."""
        seen: set[str] = set()
        for hh in (h - 1, h, h + 1):
            m = self._dedup_hour(hh)
            if m:
                seen.update(filter(m.__contains__, eids))
            base = m.base
            if base is not None:
                contains = getattr(base, "__contains__", None)
                if contains is None:
                    return None
                seen.update(filter(contains, eids))
        return seen

    def _dedup_each(self, values: list[Any], timestamps: list[int]) -> tuple[list[Any], int]:
        window = self.settings.dedup_window_ms
        maps: dict[int, Any] = {}
        out = []
        dups = 0
        for ev, ts in zip(values, timestamps, strict=True):
            eid = ev["event_id"]
            h = ts // window
            m = maps.get(h)
            if m is None:
                m = maps[h] = self._dedup_hour(h)
            seen = m.get(eid)
            if seen is None and m.base is not None:
                seen = m.base.get(eid)
            if seen is None:
                for hh in (h - 1, h + 1):
                    mm = maps.get(hh)
                    if mm is None:
                        mm = maps[hh] = self._dedup_hour(hh)
                    seen = mm.get(eid)
                    if seen is None and mm.base is not None:
                        seen = mm.base.get(eid)
                    if seen is not None:
                        break
            if seen is not None and abs(ts - seen) <= window:
                dups += 1
                continue
            m[eid] = ts
            out.append(ev)
        return out, dups

    def _merge_nodes(
        self,
        nc: NodeColumn,
        events: list[Any],
        ts_col: list[int],
        eid_col: list[str],
        cols: dict[str, list[Any]],
    ) -> int:
        if nc.optional:
            events, ts_col, eid_col = _rows_with(nc.field, events, ts_col, eid_col)
            cols = {}  # other rows: not the shared columns
        ids = _column(cols, events, nc.field)
        # rows are sorted by (ts, event_id): a key's first row has its least ts, its last
        # row its greatest ts and its latest property versions
        uniq, firsts, lasts, _ = spans(ids)
        m = self._nodes.ns(None)
        base = m.base
        dirty = self._dirty_nodes
        typ = nc.type
        if not nc.props:  # a [first, last, None] range per node: the native merge
            keys = [(typ, nid) for nid in uniq]
            base_get = None if base is None else base.get
            merge_ranges(m, base_get, keys, ts_col, firsts, lasts, dirty, _NO_PROPS)
            return len(ids)
        get = m.get
        props = [(name, _column(cols, events, f)) for name, f in nc.props]
        for nid, fi, li in zip(uniq, firsts, lasts, strict=True):
            k = (typ, nid)
            cur = get(k)
            if cur is None and base is not None:
                cur = base.get(k)
            lo = ts_col[fi]
            hi = ts_col[li]
            if cur is None:
                cur = [
                    lo,
                    hi,
                    {name: (hi, eid_col[li], col[li]) for name, col in props} if props else None,
                ]
                changed = True
            else:
                changed = False
                if lo < cur[0]:
                    cur[0] = lo
                    changed = True
                if hi > cur[1]:
                    cur[1] = hi
                    changed = True
                if props:
                    pd = cur[2]
                    if pd is None:
                        pd = cur[2] = {}
                    eid = eid_col[li]
                    for name, col in props:
                        old = pd.get(name)
                        if old is None or hi > old[0] or (hi == old[0] and eid > old[1]):
                            pd[name] = (hi, eid, col[li])
                            changed = True
            if changed:
                m[k] = cur
                dirty.add(k)
        return len(ids)

    def _merge_edges(
        self,
        ec: EdgeColumn,
        events: list[Any],
        ts_col: list[int],
        b_col: list[int],
        late_col: list[bool] | None,
        cols: dict[str, list[Any]],
    ) -> int:
        if ec.optional:
            if late_col is None:
                events, ts_col, b_col = _rows_with(ec.dst_field, events, ts_col, b_col)
            else:
                events, ts_col, b_col, late_col = _rows_with(
                    ec.dst_field, events, ts_col, b_col, late_col
                )
            cols = {}  # other rows: not the shared columns
        src = _column(cols, events, ec.src_field)
        dst = _column(cols, events, ec.dst_field)
        uniq, firsts, lasts, counts_of = pair_spans(src, dst)
        m = self._edges.ns(None)
        st, et, dt = ec.src_type, ec.edge_type, ec.dst_type
        keys = [(st, a, et, dt, b) for a, b in uniq]
        base = m.base
        merge_ranges(
            m, None if base is None else base.get, keys, ts_col, firsts, lasts, self._dirty_edges
        )
        # hourly buckets: distinct events per (edge, hour), late ones left out
        # Rows are sorted by ts, so each bucket is one run of rows; a bucket already final
        # (late_col holds per bucket) is skipped whole: its rows are the late ones.
        if b_col[0] == b_col[-1]:
            runs = [(b_col[0], 0, len(b_col))]
        else:
            bs, b_first, b_last, _ = spans(b_col)
            runs = [(b, f, lst + 1) for b, f, lst in zip(bs, b_first, b_last, strict=True)]
        dirty_buckets = self._dirty_buckets
        key_of: dict[tuple[str, str], EdgeSpec] | None = None
        counted = 0
        for b, start, end in runs:
            if late_col is not None and late_col[start]:
                continue
            if end - start == len(src):
                bucket_keys, counts = keys, counts_of
            else:
                pairs, _, _, counts = pair_spans(src[start:end], dst[start:end])
                if key_of is None:
                    key_of = dict(zip(uniq, keys, strict=True))
                bucket_keys = list(map(key_of.__getitem__, pairs))
            bm = self._buckets.ns(b)
            _mark_live(b, self._bucket_live, self._bucket_ns)
            dirty_b = dirty_buckets.get(b)
            if dirty_b is None:
                dirty_b = dirty_buckets[b] = set()
            bbase = bm.base
            add_counts(
                bm, None if bbase is None else bbase.get, bm.deleted, bucket_keys, counts, dirty_b
            )
            counted += end - start
        return len(src) + counted

    def _dedup_hour(self, h: int) -> Any:
        """Hour h's map of seen ids, registered so that it is dropped once final."""
        _mark_live(h, self._dedup_live, self._dedup_ns)
        return self._dedup.ns(h)

    # -- writes ------------------------------------------------------------------------
    def _flush_writes(self) -> None:
        if not (self._dirty_nodes or self._dirty_edges or self._dirty_buckets):
            return
        part = f"{self.settings.source or self.settings.topic}/{self.ctx.partition}"
        # Nodes and edges are never deleted one by one: read the delta, then the base.
        nodes_m = self._nodes.ns(None)
        get, base = nodes_m.get, nodes_m.base
        nodes = []
        cur: Any
        for k in self._dirty_nodes:
            cur = get(k)
            if cur is None and base is not None:
                cur = base.get(k)
            first, last, pd = cur
            props = {n: PropVersion(v, t, e) for n, (t, e, v) in pd.items()} if pd else {}
            nodes.append(NodeWrite(k[0], k[1], first, last, props))
        edges_m = self._edges.ns(None)
        get, base = edges_m.get, edges_m.base
        edges = []
        for e in self._dirty_edges:
            cur = get(e)
            if cur is None and base is not None:
                cur = base.get(e)
            edges.append(EdgeWrite(*e, cur[0], cur[1]))
        buckets = []
        n: Any  # the bucket's count: a dirty key is always present
        for b, keys in self._dirty_buckets.items():
            bm = self._buckets.ns(b)
            bget, bbase, deleted = bm.get, bm.base, bm.deleted
            for e in keys:
                n = bget(e)
                if n is None and bbase is not None and not (deleted and e in deleted):
                    n = bbase.get(e)
                buckets.append(BucketWrite(*e, b, part, n))
        self._dirty_nodes = set()
        self._dirty_edges = set()
        self._dirty_buckets = {}
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

"""Graph store benchmark: bulk-load a synthetic member graph, then time 1-hop and 2-hop reads.

    .venv/bin/python bench/graph_store.py                     # 1,000,000 edges, both stores
    .venv/bin/python bench/graph_store.py --edges 100000 --skip-cassandra

The graph: profiles -PLAYED/LIKED-> titles (skewed popularity) and profiles -SEARCHED->
queries, one hourly bucket per edge and a few properties per node, written through the
normal ``GraphStore.write`` path in chunks. Reads are single-client, sequential:
1-hop = ``neighbors(node, "both", limit=100)`` from random nodes, 2-hop =
``khop(profile, 2, limit_per_hop=100)`` from random profiles. On Cassandra, reads are timed
once the compactions the load leaves behind have finished (``system_views``). Prints figures, then one
JSON line. Targets: 1-hop p99 <= 10 ms, 2-hop p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphstore.base import GraphStore
from graphstore.cassandra.encoding import COPY_HEAD
from graphstore.model import (
    HOUR_MS,
    BucketWrite,
    EdgeWrite,
    NodeRef,
    NodeWrite,
    PropVersion,
)

log = logging.getLogger("bench.graph_store")

HOP1_TARGET_MS = 10.0
HOP2_TARGET_MS = 100.0
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR_MS  # an hour boundary, epoch ms


@dataclass(frozen=True)
class GraphShape:
    edges: int
    profiles: int
    titles: int
    queries: int
    seed: int

    @classmethod
    def for_edges(cls, edges: int, seed: int) -> GraphShape:
        return cls(
            edges=edges,
            profiles=max(10, edges // 40),
            titles=max(10, edges // 200),
            queries=max(10, edges // 400),
            seed=seed,
        )

    @property
    def nodes(self) -> int:
        return self.profiles + self.titles + self.queries


Chunk = tuple[list[NodeWrite], list[EdgeWrite], list[BucketWrite]]


def _title_index(rng: random.Random, titles: int) -> int:
    """Skewed popularity: low indexes are the hits (about 8x the median title)."""
    return min(titles - 1, int(titles * rng.random() ** 1.6))


def _degrees(shape: GraphShape, rng: random.Random) -> list[int]:
    """Exponentially distributed out-degrees summing to exactly ``shape.edges``."""
    cap = 2 * shape.titles + shape.queries  # distinct targets a profile can have
    raw = [rng.expovariate(1.0) + 0.05 for _ in range(shape.profiles)]
    scale = shape.edges / sum(raw)
    degrees = [min(cap, max(1, round(r * scale))) for r in raw]
    diff = shape.edges - sum(degrees)
    while diff:
        i = rng.randrange(shape.profiles)
        step = 1 if diff > 0 else -1
        if 1 <= degrees[i] + step <= cap:
            degrees[i] += step
            diff -= step
    return degrees


def generate(shape: GraphShape, chunk_edges: int) -> Iterator[Chunk]:
    """Deterministic chunks of (nodes, edges, buckets); every edge key is unique."""
    rng = random.Random(shape.seed)
    nodes: list[NodeWrite] = []
    edges: list[EdgeWrite] = []
    buckets: list[BucketWrite] = []
    for t in range(shape.titles):
        ts = T0 + rng.randrange(24 * HOUR_MS)
        nodes.append(
            NodeWrite("Title", f"t{t}", ts, ts, {"genre": PropVersion(f"g{t % 17}", ts, f"e{t}")})
        )
    for q in range(shape.queries):
        ts = T0 + rng.randrange(24 * HOUR_MS)
        nodes.append(NodeWrite("Query", f"q{q}", ts, ts))
    for p, degree in enumerate(_degrees(shape, rng)):
        pid = f"p{p}"
        first = T0 + rng.randrange(24 * HOUR_MS)
        last = first
        targets: set[tuple[str, str, str]] = set()
        while len(targets) < degree:
            roll = rng.random()
            if roll < 0.7:
                targets.add(("PLAYED", "Title", f"t{_title_index(rng, shape.titles)}"))
            elif roll < 0.9:
                targets.add(("LIKED", "Title", f"t{_title_index(rng, shape.titles)}"))
            else:
                targets.add(("SEARCHED", "Query", f"q{rng.randrange(shape.queries)}"))
        for edge_type, dst_type, dst_id in sorted(targets):
            seen = T0 + rng.randrange(48 * HOUR_MS)
            last = max(last, seen)
            edges.append(EdgeWrite("Profile", pid, edge_type, dst_type, dst_id, seen, seen))
            buckets.append(
                BucketWrite(
                    "Profile",
                    pid,
                    edge_type,
                    dst_type,
                    dst_id,
                    seen - seen % HOUR_MS,
                    str(rng.randrange(4)),
                    rng.randrange(1, 5),
                )
            )
        nodes.append(
            NodeWrite(
                "Profile",
                pid,
                first,
                last,
                {
                    "country": PropVersion(rng.choice(["US", "BR", "DE", "JP"]), last, f"e{p}"),
                    "device": PropVersion(rng.choice(["tv", "phone", "web"]), last, f"e{p}"),
                },
            )
        )
        if len(edges) >= chunk_edges:
            yield nodes, edges, buckets
            nodes, edges, buckets = [], [], []
    if nodes or edges or buckets:
        yield nodes, edges, buckets


@dataclass
class LoadResult:
    nodes: int
    edges: int
    buckets: int
    seconds: float

    @property
    def rows(self) -> int:
        return self.nodes + self.edges + self.buckets

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def load(store: GraphStore, shape: GraphShape, chunk_edges: int, label: str) -> LoadResult:
    nodes = edges = buckets = 0
    start = time.perf_counter()
    last_report = start
    for chunk in generate(shape, chunk_edges):
        stats = store.write(*chunk)
        nodes, edges, buckets = nodes + stats.nodes, edges + stats.edges, buckets + stats.buckets
        now = time.perf_counter()
        if now - last_report > 15:
            rate = (nodes + edges + buckets) / (now - start)
            print(f"  {label}: {edges:,} edges loaded, {rate:,.0f} rows/s", flush=True)
            last_report = now
    return LoadResult(nodes, edges, buckets, time.perf_counter() - start)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def time_queries(fn: Callable[[], object], count: int, warmup: int) -> tuple[list[float], Any]:
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    last: object = None
    for _ in range(count):
        start = time.perf_counter()
        last = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples, last


def measure(store: GraphStore, shape: GraphShape, args: argparse.Namespace) -> dict[str, float]:
    rng = random.Random(shape.seed + 1)

    def random_node() -> NodeRef:
        roll = rng.random() * shape.nodes
        if roll < shape.profiles:
            return ("Profile", f"p{rng.randrange(shape.profiles)}")
        if roll < shape.profiles + shape.titles:
            return ("Title", f"t{rng.randrange(shape.titles)}")
        return ("Query", f"q{rng.randrange(shape.queries)}")

    def hop1() -> int:
        return len(store.neighbors(random_node(), "both", limit=100))

    def hop2() -> int:
        start = ("Profile", f"p{rng.randrange(shape.profiles)}")
        return len(store.khop(start, 2, limit_per_hop=100).edges)

    hop1_ms, _ = time_queries(hop1, args.hop1_queries, warmup=50)
    sizes: list[int] = []

    def hop2_sized() -> int:
        n = hop2()
        sizes.append(n)
        return n

    hop2_ms, _ = time_queries(hop2_sized, args.hop2_queries, warmup=20)
    result = {
        "hop1_p50_ms": round(percentile(hop1_ms, 50), 3),
        "hop1_p99_ms": round(percentile(hop1_ms, 99), 3),
        "hop2_p50_ms": round(percentile(hop2_ms, 50), 3),
        "hop2_p99_ms": round(percentile(hop2_ms, 99), 3),
        "hop2_mean_edges": round(statistics.fmean(sizes[-args.hop2_queries :]), 1),
    }
    return result


def describe_shape(shape: GraphShape) -> str:
    in_degree: Counter[str] = Counter()
    out_degree: Counter[str] = Counter()
    for _, edges, _ in generate(shape, 1_000_000):
        for e in edges:
            in_degree[e.dst_id] += 1
            out_degree[e.src_id] += 1
    top_in = in_degree.most_common(1)[0][1] if in_degree else 0
    top_out = out_degree.most_common(1)[0][1] if out_degree else 0
    return (
        f"{shape.profiles:,} profiles, {shape.titles:,} titles, {shape.queries:,} queries; "
        f"mean out-degree {shape.edges / max(1, len(out_degree)):.1f} (max {top_out}), "
        f"mean title/query in-degree {shape.edges / max(1, len(in_degree)):.1f} (max {top_in})"
    )


def run_sqlite(shape: GraphShape, args: argparse.Namespace) -> dict[str, float]:
    from graphstore.sqlite import SQLiteGraphStore

    workdir = Path(args.sqlite_dir or tempfile.mkdtemp(prefix="rdg-bench-"))
    path = workdir / f"bench-{shape.edges}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        with SQLiteGraphStore(path) as store:
            print(f"SQLite: loading into {path}", flush=True)
            loaded = load(store, shape, args.chunk_edges, "sqlite")
            size_mb = store.file_size() / 1e6
            print(
                f"SQLite: {loaded.rows:,} rows ({loaded.nodes:,} nodes, {loaded.edges:,} edges, "
                f"{loaded.buckets:,} buckets) in {loaded.seconds:.1f} s = "
                f"{loaded.rows_per_s:,.0f} rows/s; file {size_mb:,.0f} MB",
                flush=True,
            )
            figures = measure(store, shape, args)
        print_figures("SQLite", figures)
        return {
            "rows_per_s": round(loaded.rows_per_s),
            "load_s": round(loaded.seconds, 1),
            **figures,
        }
    finally:
        if not args.sqlite_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def run_cassandra(shape: GraphShape, args: argparse.Namespace) -> dict[str, float]:
    from graphstore.cassandra.store import CassandraGraphStore

    hosts = os.environ.get("RDG_CASSANDRA_HOSTS", "127.0.0.1")
    port = os.environ.get("RDG_CASSANDRA_PORT", "9042")
    keyspace = f"rdg_bench_{shape.edges}"
    url = args.cassandra_url or f"cassandra://{hosts}:{port}/{keyspace}"
    with CassandraGraphStore(url, concurrency=args.cassandra_concurrency) as store:
        if args.reuse and _looks_loaded(store, shape):
            print(f"Cassandra: reusing the graph already in {url} (no load measured)", flush=True)
            loaded = None
        else:
            store.truncate()
            print(f"Cassandra: loading into {url}", flush=True)
            loaded = load(store, shape, args.chunk_edges, "cassandra")
            print(
                f"Cassandra: {loaded.rows:,} rows ({loaded.nodes:,} nodes, {loaded.edges:,} edges, "
                f"{loaded.buckets:,} buckets) in {loaded.seconds:.1f} s = "
                f"{loaded.rows_per_s:,.0f} rows/s (concurrency {args.cassandra_concurrency})",
                flush=True,
            )
        settle_s = wait_for_compactions(store.session, timeout_s=args.settle_timeout)
        print(f"Cassandra: compactions settled after {settle_s:.1f} s", flush=True)
        figures = measure(store, shape, args)
    print_figures("Cassandra", figures)
    result: dict[str, float] = {**figures, "compaction_wait_s": round(settle_s, 1)}
    if loaded is not None:
        result = {
            "rows_per_s": round(loaded.rows_per_s),
            "load_s": round(loaded.seconds, 1),
            **result,
        }
    return result


def wait_for_compactions(session: Any, timeout_s: float) -> float:
    """Wait until the node runs no compaction (system_views), so that reads are timed in
    the steady state and not against the compactions a bulk load leaves behind. Returns
    the seconds waited; gives up (and says so) after `timeout_s`."""
    started = time.perf_counter()
    while True:
        tasks = list(session.execute("SELECT task_id FROM system_views.sstable_tasks"))
        pools = [
            row
            for row in session.execute(
                "SELECT name, active_tasks, pending_tasks FROM system_views.thread_pools"
            )
            if row[0] == "CompactionExecutor"
        ]
        busy = bool(tasks) or any(row[1] or row[2] for row in pools)
        waited = time.perf_counter() - started
        if not busy:
            return waited
        if waited > timeout_s:
            print(f"Cassandra: compactions still running after {waited:.0f} s; measuring anyway")
            return waited
        time.sleep(1.0)  # polling the server's own task list, not guessing a duration


def _looks_loaded(store: Any, shape: GraphShape) -> bool:
    """Cheap check for --reuse: the last generated profile and its edges are present, with
    keyed newest-first copies (a keyspace loaded by an older version has index rows without
    copies or copies without their key, which read correctly but slowly, and would not
    measure this version)."""
    last = ("Profile", f"p{shape.profiles - 1}")
    if store.get_node(last) is None or not store.neighbors(last, limit=1):
        return False
    rows = store.session.execute(
        f"SELECT edge FROM {store.config.keyspace}.adjacency_recent "
        "WHERE node_type = %s AND node_id = %s LIMIT 1",
        last,
    )
    return any(row[0] is not None and len(row[0]) > COPY_HEAD.size for row in rows)


def print_figures(label: str, figures: dict[str, float]) -> None:
    hop1_ok = "ok" if figures["hop1_p99_ms"] <= HOP1_TARGET_MS else "MISSED"
    hop2_ok = "ok" if figures["hop2_p99_ms"] <= HOP2_TARGET_MS else "MISSED"
    print(
        f"{label}: 1-hop p50 {figures['hop1_p50_ms']:.2f} ms, p99 {figures['hop1_p99_ms']:.2f} ms "
        f"(target {HOP1_TARGET_MS:.0f}: {hop1_ok}); 2-hop p50 {figures['hop2_p50_ms']:.2f} ms, "
        f"p99 {figures['hop2_p99_ms']:.2f} ms (target {HOP2_TARGET_MS:.0f}: {hop2_ok}); "
        f"2-hop returns {figures['hop2_mean_edges']:.0f} edges on average",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--edges", type=int, default=1_000_000, help="edges in the graph (default 1,000,000)"
    )
    parser.add_argument("--skip-cassandra", action="store_true", help="benchmark SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="benchmark Cassandra only")
    parser.add_argument("--chunk-edges", type=int, default=20_000, help="edges per write() call")
    parser.add_argument("--hop1-queries", type=int, default=1000)
    parser.add_argument("--hop2-queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite-dir", help="keep the SQLite file in this directory")
    parser.add_argument(
        "--cassandra-url", help="default cassandra://$RDG_CASSANDRA_HOSTS/rdg_bench_<edges>"
    )
    parser.add_argument("--cassandra-concurrency", type=int, default=128, help="writes in flight")
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for Cassandra's compactions to finish before timing reads",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip the Cassandra load if the keyspace already holds this graph (same --edges "
        "and --seed; checked by sampling the last profile)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.edges < 100:
        parser.error("--edges must be at least 100")

    shape = GraphShape.for_edges(args.edges, args.seed)
    print(f"graph: {args.edges:,} edges; {describe_shape(shape)}", flush=True)
    report: dict[str, Any] = {
        "edges": shape.edges,
        "nodes": shape.nodes,
        "cpus": os.cpu_count(),
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    if not args.skip_sqlite:
        for key, value in run_sqlite(shape, args).items():
            report[f"sqlite_{key}"] = value
    if not args.skip_cassandra:
        for key, value in run_cassandra(shape, args).items():
            report[f"cassandra_{key}"] = value
    # Other processes on the machine inflate latencies; the load average makes that visible.
    report["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

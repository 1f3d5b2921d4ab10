"""Graph benchmark (issue 4): the playback job's throughput and write reduction, store write
rates, and 1-/2-hop query latencies on both stores.

(a) ``events_per_s``: the playback graph job from the file source (Avro container files,
    4 partitions, with duplicates/disorder/late/invalid events) to a null store, in one
    process; ``write_reduction`` = graph updates produced / writes issued.
(b) ``sqlite_rows_per_s`` / ``cassandra_rows_per_s`` and (c) ``hop1_p99_ms`` /
    ``hop2_p99_ms`` per store over a graph of >= 1,000,000 edges: ``bench/graph_store.py``
    (run as a subprocess; its figures are merged into the final JSON line).

Run: ``python bench/graph.py [--events N] [--edges N] [--skip-cassandra]`` (Cassandra from
``make up``).  Prints figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ingest import FileSource, StreamEnvironment
from jobs.generate import generate_events, write_avro_files
from jobs.graph_job import JobSummary, build_graph_job
from schemas.serde import read_avro_container
from transforms.sink import NullGraphSink


def job_throughput(events: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        evs = generate_events(
            "playback", events, 7, duplicates=0.02, out_of_order_s=5.0, late=0.002, invalid=0.005
        )
        write_avro_files(d, "playback", evs, partitions=4)
        best: JobSummary | None = None
        best_s = float("inf")
        for _ in range(repeat):
            env = StreamEnvironment("bench-graph", max_batch=5000)
            sink = NullGraphSink()
            build_graph_job(
                env,
                "playback",
                FileSource(Path(d) / "playback", batch_size=5000, avro_reader=read_avro_container),
                sink,
            )
            t0 = time.perf_counter()
            summary = JobSummary.of("playback", env.execute())
            dt = time.perf_counter() - t0
            if dt < best_s:
                best, best_s = summary, dt
        assert best is not None
        return {
            "events": best.events_read,
            "events_per_s": round(best.events_read / best_s),
            "graph_updates": best.graph_updates,
            "writes_issued": best.writes_issued,
            "write_reduction": round(best.write_reduction, 2),
        }


def store_bench(edges: int, skip_cassandra: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).with_name("graph_store.py")), "--edges", str(edges)]
    if skip_cassandra:
        cmd.append("--skip-cassandra")
    out = subprocess.run(cmd, text=True, capture_output=True, check=False)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"bench/graph_store.py failed ({out.returncode})")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=500_000, help="playback events for (a)")
    ap.add_argument("--repeat", type=int, default=5, help="best of N runs for (a)")
    ap.add_argument("--edges", type=int, default=1_000_000, help="graph size for (b) and (c)")
    ap.add_argument("--skip-cassandra", action="store_true")
    ap.add_argument("--skip-stores", action="store_true", help="only (a)")
    args = ap.parse_args()
    a = job_throughput(args.events, args.repeat)
    print(
        f"(a) playback job, files -> null store: {a['events_per_s']:,} events/s; "
        f"{a['graph_updates']:,} graph updates -> {a['writes_issued']:,} writes "
        f"({a['write_reduction']}x fewer)"
    )
    result: dict[str, Any] = dict(a)
    if not args.skip_stores:
        result.update(store_bench(args.edges, args.skip_cassandra))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()

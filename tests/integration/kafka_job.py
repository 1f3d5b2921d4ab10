"""A small Kafka job run as a subprocess by the integration tests (so it can be SIGKILLed).

Reads a topic (bounded: up to the end offsets at assignment) as one member of a consumer
group, decodes Avro ``playback`` events (bad bytes -> dead letters), counts plays per
profile in 10-second tumbling windows, and writes the results to a JSON-lines file that is
read back as an upsert log (the last line per key wins).  Prints a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ingest import (
    CheckpointConfig,
    FileSink,
    OutputTag,
    StreamEnvironment,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)
from ingest.kafka.sink import KafkaSink, dead_letter_record
from ingest.kafka.source import KafkaSource, kafka_origin
from schemas.serde import AvroSerde

DEAD = OutputTag("dead")


class SlowSource(KafkaSource):
    """Optionally slows each poll down so a test can act mid-stream."""

    delay_s = 0.0

    def poll(self, max_records: int, timeout_s: float) -> Any:
        if self.delay_s:
            time.sleep(self.delay_s)
        return super().poll(max_records, timeout_s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--checkpoints", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--worker", default="w0")
    ap.add_argument("--dlq")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--poll-delay-ms", type=int, default=0)
    ap.add_argument("--interval-ms", type=int, default=200)
    args = ap.parse_args()

    serde = AvroSerde("playback")
    env = StreamEnvironment(
        "kafka-test",
        checkpoint=CheckpointConfig(
            args.checkpoints, interval_ms=args.interval_ms, worker_id=args.worker
        ),
        max_batch=args.batch,
    )
    source = SlowSource(
        args.bootstrap,
        args.topic,
        args.group,
        start="earliest",
        bounded=True,
        batch_size=args.batch,
    )
    source.delay_s = args.poll_delay_ms / 1000
    events = env.from_source(source, WatermarkStrategy.for_bounded_out_of_orderness(0)).try_map(
        lambda m: serde.decode(m.value()), DEAD, origin=kafka_origin, name="decode"
    )
    counts = (
        events.key_by(lambda e: e["profile_id"])
        .window(TumblingEventTimeWindows.of(10_000))
        .count(name="plays")
    )
    counts.sink_to(
        FileSink(args.out, encode=lambda r: {"profile": r.key, "start": r.start, "count": r.value})
    )
    if args.dlq:
        events.side_output(DEAD).sink_to(KafkaSink(args.bootstrap, args.dlq, dead_letter_record))
    runner = env.runner()
    result = runner.run()
    print(
        json.dumps(
            {
                "worker": args.worker,
                "records_in": result.metrics.get("records_in", 0),
                "dead_letters": result.metrics.get("dead_letters", 0),
                "restored": sorted(runner.restored_from),
                "checkpoints": len(result.checkpoints),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

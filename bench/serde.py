"""Serde and validation benchmark: events per second per process, per stage.

The stream job needs >= 100,000 events/s per process end to end, so decode and
validate must each be well above that. Measures over generator output (all five
topics mixed, realistic sizes), best of --repeat interleaved runs:

- ``avro_encode_per_s``: AvroSerde.encode (fastavro schemaless_writer);
- ``avro_decode_per_s``: AvroSerde.decode one message at a time (generated decoder);
- ``avro_decode_batch_per_s``: AvroSerde.decode_batch;
- ``avro_framed_decode_per_s``: Confluent-framed, schema id checked;
- ``fastavro_decode_per_s``: fastavro.schemaless_reader alone, for reference;
- ``json_encode_per_s`` / ``json_decode_per_s``: JsonSerde;
- ``validate_per_s``: schemas.validate validators on decoded records;
- ``avro_decode_validate_per_s``: decode_batch then validate, the job's front end.

Prints figures, then one JSON line. Run: ``.venv/bin/python bench/serde.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from typing import Any

from jobs.generate import generate_events
from schemas.registry import TOPICS
from schemas.serde import AvroSerde, JsonSerde
from schemas.validate import validator_for


def best_rates(n: int, repeat: int, stages: list[tuple[str, Callable[[], None]]]) -> dict[str, int]:
    """Events per second of each stage's fastest run over `n` events. Rounds
    interleave the stages so that load from other processes hits them alike."""
    best = {name: float("inf") for name, _ in stages}
    for _ in range(repeat):
        for name, run in stages:
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: round(n / seconds) for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-topic", type=int, default=20_000, help="events per topic")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; best counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import fastavro

    records: dict[str, list[dict[str, Any]]] = {
        t: [e.record for e in generate_events(t, args.per_topic, args.seed) if e.record]
        for t in TOPICS
    }
    n = sum(len(r) for r in records.values())
    avro = {t: AvroSerde(t) for t in TOPICS}
    framed = {t: AvroSerde(t, confluent_wire=True, schema_id=1) for t in TOPICS}
    jsons = {t: JsonSerde(t) for t in TOPICS}
    avro_msgs = {t: [avro[t].encode(r) for r in records[t]] for t in TOPICS}
    framed_msgs = {t: [framed[t].encode(r) for r in records[t]] for t in TOPICS}
    json_msgs = {t: [jsons[t].encode(r) for r in records[t]] for t in TOPICS}
    decoded = {t: [avro[t].decode(m) for m in avro_msgs[t]] for t in TOPICS}
    assert decoded == records, "round trip failed"
    readers = {t: avro[t]._reader for t in TOPICS}  # the same stripped schema the serde uses
    avro_bytes = sum(len(m) for ms in avro_msgs.values() for m in ms)
    print(f"{n:,} events over {len(TOPICS)} topics, {avro_bytes / n:.0f} Avro bytes/event")

    def encode_avro() -> None:
        for t in TOPICS:
            encode = avro[t].encode
            for r in records[t]:
                encode(r)

    def decode_avro() -> None:
        for t in TOPICS:
            decode = avro[t].decode
            for m in avro_msgs[t]:
                decode(m)

    def decode_avro_batch() -> None:
        for t in TOPICS:
            avro[t].decode_batch(avro_msgs[t])

    def decode_framed() -> None:
        for t in TOPICS:
            decode = framed[t].decode
            for m in framed_msgs[t]:
                decode(m)

    def decode_fastavro() -> None:
        reader = fastavro.schemaless_reader
        for t in TOPICS:
            schema = readers[t]
            for m in avro_msgs[t]:
                reader(io.BytesIO(m), schema, None)

    def encode_json() -> None:
        for t in TOPICS:
            encode = jsons[t].encode
            for r in records[t]:
                encode(r)

    def decode_json() -> None:
        for t in TOPICS:
            decode = jsons[t].decode
            for m in json_msgs[t]:
                decode(m)

    def validate_all() -> None:
        for t in TOPICS:
            check = validator_for(t)
            for r in decoded[t]:
                check(r)

    def decode_and_validate() -> None:
        for t in TOPICS:
            check = validator_for(t)
            ok, _failed = avro[t].decode_batch(avro_msgs[t])
            for r in ok:
                check(r)

    stages: list[tuple[str, Callable[[], None]]] = [
        ("avro_encode_per_s", encode_avro),
        ("avro_decode_per_s", decode_avro),
        ("avro_decode_batch_per_s", decode_avro_batch),
        ("avro_framed_decode_per_s", decode_framed),
        ("fastavro_decode_per_s", decode_fastavro),
        ("json_encode_per_s", encode_json),
        ("json_decode_per_s", decode_json),
        ("validate_per_s", validate_all),
        ("avro_decode_validate_per_s", decode_and_validate),
    ]
    figures = best_rates(n, args.repeat, stages)
    for name, rate in figures.items():
        print(f"  {name:<28} {rate:>12,} events/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

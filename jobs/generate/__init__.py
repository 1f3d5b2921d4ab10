"""Deterministic synthetic member activity, with the faults the pipeline must survive.

Why: every stage (decode, validate, dedup, windows, graph merge) is tested
against streams whose correct outcome is known in advance. Each generated
event carries a `kind` saying what the pipeline must do with it, so a test can
compute the expected graph from the generator's output alone:

* ``ok`` - a valid event; it belongs in the graph. Its ts is >= `start_ms` and
  lags the largest ts of the ok and duplicate events before it by at most
  `out_of_order_s`.
* ``duplicate`` - an exact copy (same event_id, key and content, same ts) of an
  earlier ``ok`` event, yielded at most `duplicate_delay_s` of stream time after
  it. Dedup must drop it; it changes nothing in the graph. Each ``ok`` event is
  duplicated at most once.
* ``late`` - a valid event whose ts is 2 to 3 hours behind the stream time when
  it is yielded, and only after `late_warmup` ``ok`` events. For hourly windows
  with 60 s allowed lateness and 10 s bounded out-of-orderness it is always
  late: it must be dropped (or side-output), never reach the graph.
* ``invalid:<reason>`` - must go to the dead-letter queue. <reason> is the
  validator's reason code (bad_id, bad_ts, missing_field, bad_type,
  unknown_enum, empty_query), or ``undecodable`` for bytes that no serde can
  decode (DecodeError). An Avro-encoded ``invalid:unknown_enum`` fails at decode
  time with DecodeError reason ``unknown_enum`` (written with a widened enum).
  Apart from bad_ts, an invalid event's ts is the current stream time.

So the expected graph is exactly the graph of the ``ok`` events, as long as
`out_of_order_s + duplicate_delay_s` stays under the job's allowed lateness
plus out-of-orderness (70 s with the defaults above; generator defaults: 0 + 30 s).

Everything derives from `random.Random` seeded with the seed (never the global
random) and partitions from zlib.crc32 of the key, so the same arguments give
the same events and files on every machine; a shorter `n` gives a prefix.
"""

from __future__ import annotations

from jobs.generate.events import (
    DEFAULT_ACCOUNTS,
    DEFAULT_DUPLICATE_DELAY_S,
    DEFAULT_EVENTS_PER_SECOND,
    DEFAULT_LATE_WARMUP,
    DEFAULT_START_MS,
    DUPLICATE,
    INVALID_REASONS,
    LATE,
    LATE_MAX_S,
    LATE_MIN_S,
    OK,
    UNDECODABLE,
    GeneratedEvent,
    Output,
)
from jobs.generate.output import (
    encode_event,
    is_representable,
    partition_for,
    produce_to_kafka,
    write_avro_files,
    write_jsonl_files,
)
from jobs.generate.stream import generate_events

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_DUPLICATE_DELAY_S",
    "DEFAULT_EVENTS_PER_SECOND",
    "DEFAULT_LATE_WARMUP",
    "DEFAULT_START_MS",
    "DUPLICATE",
    "INVALID_REASONS",
    "LATE",
    "LATE_MAX_S",
    "LATE_MIN_S",
    "OK",
    "UNDECODABLE",
    "GeneratedEvent",
    "Output",
    "encode_event",
    "generate_events",
    "is_representable",
    "partition_for",
    "produce_to_kafka",
    "write_avro_files",
    "write_jsonl_files",
]

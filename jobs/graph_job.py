"""The graph job of one topic: source -> validate -> graph operator -> store, with
dead-letter and late outputs.  Used by ``rdg run``, ``rdg deploy`` workers and the benches.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import itemgetter
from typing import Any

from ingest import (
    DeadLetter,
    InvalidRecord,
    OutputTag,
    Sink,
    Source,
    StreamEnvironment,
    WatermarkStrategy,
)
from ingest.operators.base import Operator
from ingest.runtime import JobResult
from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.validate_batch import batch_validator_for, keep_mask
from transforms.operator import GraphOperator, GraphSettings

__all__ = ["DEAD_LETTERS", "LATE", "JobSummary", "build_graph_job", "event_time"]

DEAD_LETTERS = OutputTag("dead-letters")
LATE = OutputTag("late")
SUMMARY_FIELDS = (
    ("events_read", "records_in"),
    ("graph_updates", "graph_updates"),
    ("writes_issued", "graph_writes"),
    ("duplicates_dropped", "duplicates"),
    ("dead_lettered", "dead_letters"),
    ("late", "late_events"),
    ("failed_logins", "failed_logins"),
)


def event_time(event: Any) -> int | None:
    """The event's ``ts`` if it is a valid event time, else None (no timestamp: the record
    keeps its partition's time and never moves the watermark; it is dead-lettered later)."""
    t = event.get("ts") if type(event) is dict else None
    if type(t) is int and TS_MIN_MS <= t < TS_MAX_MS:
        return t
    return None


def _not_an_event(value: Any) -> DeadLetter:
    """The dead letter of a value that is not a decoded record."""
    if isinstance(value, DeadLetter):
        return value
    if isinstance(value, InvalidRecord):
        return DeadLetter(
            value.reason,
            value.raw,
            "decode",
            {"partition": value.partition, "position": value.position},
        )
    return DeadLetter(f"not an event object: {type(value).__name__}", value, "validate")


class ValidateOperator(Operator):
    """Valid events go on, normalized; everything else becomes a dead letter with a reason.

    A batch operator (no per-record context calls): this is on every event's path.
    """

    def __init__(self, uid: str, topic: str) -> None:
        super().__init__(uid)
        self._validate_batch = batch_validator_for(topic)

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        # Decoded records are validated column by column; anything else (a decode failure
        # the source passed on, a stray object) is a dead letter already.
        if set(map(type, values)) == {dict}:
            rows: list[int] | None = None
            events, events_t = values, timestamps
        else:
            rows = [i for i, v in enumerate(values) if type(v) is dict]
            events = list(map(values.__getitem__, rows))
            events_t = list(map(timestamps.__getitem__, rows))
        valid, failed = self._validate_batch(events)
        if not failed and rows is None:
            self.out.push(valid, events_t)
            return
        if failed:
            mask = keep_mask(len(events), (i for i, _ in failed))
            events_t = list(compress(events_t, mask))
        self.out.push(valid, events_t)
        partition = {"partition": self.ctx.partition}
        # dead letters in input order: (input index, dead letter)
        bad = [
            (
                i if rows is None else rows[i],
                DeadLetter(f"{exc.reason}: {exc}", events[i], "validate", partition),
            )
            for i, exc in failed
        ]
        if rows is not None:
            decoded = set(rows)
            bad.extend((i, _not_an_event(v)) for i, v in enumerate(values) if i not in decoded)
            bad.sort(key=itemgetter(0))
        if bad:
            self.ctx.metrics.inc("dead_letters", len(bad))
            self.side_output(DEAD_LETTERS.name).push(
                [dl for _, dl in bad], [timestamps[i] for i, _ in bad]
            )


def build_graph_job(
    env: StreamEnvironment,
    topic: str,
    source: Source,
    graph_sink: Sink,
    *,
    dead_letter_sink: Sink | None = None,
    late_sink: Sink | None = None,
    settings: GraphSettings | None = None,
    out_of_orderness_ms: int = 10_000,
    idle_timeout_ms: int | None = None,
) -> None:
    """Wire one topic's graph job into ``env`` (which must not have a source yet)."""
    settings = settings or GraphSettings(topic, late_tag=LATE.name)
    # ``ts`` read at C speed; a missing, non-int or out-of-range ts gives no event time
    # (as ``event_time`` says), so a bad record cannot move the watermark.
    wm = (
        WatermarkStrategy.for_bounded_out_of_orderness(out_of_orderness_ms)
        .with_timestamp_assigner("ts")
        .with_timestamp_bounds(TS_MIN_MS, TS_MAX_MS)
    )
    if idle_timeout_ms:
        wm = wm.with_idleness(idle_timeout_ms)
    events = env.from_source(source, wm).transform(
        "validate", lambda uid: ValidateOperator(uid, topic)
    )
    graph = events.transform("graph", lambda uid: GraphOperator(uid, settings))
    graph.sink_to(graph_sink, name="store")
    if dead_letter_sink is not None:
        events.side_output(DEAD_LETTERS).sink_to(dead_letter_sink, name="dead-letter-sink")
    if late_sink is not None:
        graph.side_output(settings.late_tag).sink_to(late_sink, name="late-sink")


@dataclass(frozen=True)
class JobSummary:
    topic: str
    events_read: int
    graph_updates: int
    writes_issued: int
    duplicates_dropped: int
    dead_lettered: int
    late: int
    failed_logins: int
    elapsed_s: float

    @property
    def write_reduction(self) -> float:
        return self.graph_updates / self.writes_issued if self.writes_issued else 0.0

    @staticmethod
    def of(topic: str, result: JobResult) -> JobSummary:
        m = result.metrics
        vals = {name: int(m.get(metric, 0)) for name, metric in SUMMARY_FIELDS}
        return JobSummary(topic=topic, elapsed_s=round(result.elapsed_s, 3), **vals)

    def as_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["write_reduction"] = round(self.write_reduction, 2)
        return d

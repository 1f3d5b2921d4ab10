"""The graph job of one topic: source -> validate -> graph operator -> store, with
dead-letter and late outputs.  Used by ``rdg run``, ``rdg deploy`` workers and the benches.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
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
from schemas.validate import InvalidEvent, validator_for
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


class ValidateOperator(Operator):
    """Valid events go on, normalized; everything else becomes a dead letter with a reason.

    A batch operator (no per-record context calls): this is on every event's path.
    """

    def __init__(self, uid: str, topic: str) -> None:
        super().__init__(uid)
        self._validate = validator_for(topic)
        self._validate_batch = batch_validator_for(topic)

    def process(self, values: list[Any], timestamps: list[int]) -> None:
        if set(map(type, values)) == {dict}:  # all decoded: validate column by column
            valid, failed = self._validate_batch(values)
            if not failed:
                self.out.push(valid, timestamps)
                return
            mask = keep_mask(len(values), (i for i, _ in failed))
            self.out.push(valid, list(compress(timestamps, mask)))
            partition = {"partition": self.ctx.partition}
            self._dead_letters(
                [
                    DeadLetter(f"{exc.reason}: {exc}", values[i], "validate", partition)
                    for i, exc in failed
                ],
                [timestamps[i] for i, _ in failed],
            )
            return
        validate = self._validate
        good: list[Any] = []
        good_t: list[int] = []
        bad: list[Any] = []
        bad_t: list[int] = []
        for v, t in zip(values, timestamps, strict=True):
            if type(v) is dict:
                try:
                    good.append(validate(v))
                    good_t.append(t)
                    continue
                except InvalidEvent as exc:
                    dl = DeadLetter(
                        f"{exc.reason}: {exc}", v, "validate", {"partition": self.ctx.partition}
                    )
            elif isinstance(v, DeadLetter):
                dl = v
            elif isinstance(v, InvalidRecord):
                dl = DeadLetter(
                    v.reason, v.raw, "decode", {"partition": v.partition, "position": v.position}
                )
            else:
                dl = DeadLetter(f"not an event object: {type(v).__name__}", v, "validate")
            bad.append(dl)
            bad_t.append(t)
        self.out.push(good, good_t)
        if bad:
            self._dead_letters(bad, bad_t)

    def _dead_letters(self, bad: list[Any], timestamps: list[int]) -> None:
        self.ctx.metrics.inc("dead_letters", len(bad))
        self.side_output(DEAD_LETTERS.name).push(bad, timestamps)


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
    wm = WatermarkStrategy.for_bounded_out_of_orderness(
        out_of_orderness_ms
    ).with_timestamp_assigner(event_time)
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

"""Pipeline API behaviour: operators, side outputs, ordering, time domains, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from ingest import (
    CollectSink,
    FileSink,
    FileSource,
    InvalidRecord,
    KeyedProcessFunction,
    ManualClock,
    MemorySource,
    OutputTag,
    ProcessFunction,
    StreamEnvironment,
    Sum,
    TumblingEventTimeWindows,
    TumblingProcessingTimeWindows,
    WatermarkStrategy,
)
from ingest.errors import ConfigError
from ingest.sources.base import AssignmentListener, PartitionBatch, Source
from ingest.time import MAX_WATERMARK

WM0 = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(1)
ODD = OutputTag("odd")


class SplitOdd(ProcessFunction[tuple[str, int], tuple[str, int]]):
    def process_element(self, value: tuple[str, int], ctx: Any) -> None:
        if value[1] % 2:
            ctx.output(ODD, value)
        else:
            ctx.emit(value)


def test_stateless_chain_and_side_output() -> None:
    env = StreamEnvironment("chain", max_batch=3)
    src = env.from_source(MemorySource([[("a", i) for i in range(10)]], batch_size=3), WM0)
    split = src.map(lambda r: (r[0].upper(), r[1])).process(SplitOdd())
    evens = split.filter(lambda r: r[1] != 4).flat_map(lambda r: [r, r])
    main, odd = CollectSink(), CollectSink()
    evens.sink_to(main)
    split.side_output(ODD).sink_to(odd)
    r = env.execute()
    assert main.values == [("A", t) for t in (0, 0, 2, 2, 6, 6, 8, 8)]
    assert odd.values == [("A", t) for t in (1, 3, 5, 7, 9)]
    assert r.metrics["records_in"] == 10


class Order(KeyedProcessFunction[tuple[str, int], Any]):
    def process_element(self, value: tuple[str, int], ctx: Any) -> None:
        ctx.emit((ctx.partition, ctx.current_key, value[1]))


def test_per_key_and_per_partition_order_preserved() -> None:
    parts = [[(f"k{i % 3}", i) for i in range(50)], [(f"j{i % 2}", i) for i in range(40)]]
    env = StreamEnvironment("order", max_batch=7)
    src = env.from_source(MemorySource(parts, batch_size=7), WM0)
    out = CollectSink()
    src.key_by(0).process(Order()).sink_to(out)
    env.execute()
    for p, data in enumerate(parts):
        got = [(k, t) for part, k, t in out.values if part == str(p)]
        assert got == data  # partition order, hence every key's order


class Timers(KeyedProcessFunction[tuple[str, int], Any]):
    def process_element(self, value: tuple[str, int], ctx: Any) -> None:
        ctx.register_event_time_timer(value[1] + 100)
        ctx.register_event_time_timer(value[1] + 100)  # idempotent
        ctx.register_processing_time_timer(ctx.current_processing_time + 50)
        if value[1] == 5:
            ctx.delete_event_time_timer(105)

    def on_timer(self, timestamp: int, ctx: Any) -> None:
        ctx.emit((ctx.time_domain, ctx.current_key, timestamp))


class SteppingSource(Source):
    """Each poll advances the manual clock; bounded."""

    def __init__(self, clock: ManualClock, batches: list[list[tuple[str, int]]]) -> None:
        self.clock, self.batches, self.i = clock, batches, 0

    def open(self, listener: AssignmentListener) -> None:
        listener.on_assigned(["0"])

    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
        self.clock.advance(30)
        if self.i >= len(self.batches):
            return [PartitionBatch("0", [], None, self.i, True)]
        b = self.batches[self.i]
        self.i += 1
        return [PartitionBatch("0", b, None, self.i, False)]


def test_event_and_processing_time_timers() -> None:
    clock = ManualClock(1000)
    env = StreamEnvironment("timers", clock=clock)
    src = env.from_source(
        SteppingSource(clock, [[("a", 5)], [("b", 150)], [], [], [("a", 400)]]), WM0
    )
    out = CollectSink()
    src.key_by(0).process(Timers()).sink_to(out)
    env.execute()
    event = [v for v in out.values if v[0] == "event"]
    proc = [v for v in out.values if v[0] == "processing"]
    # a's timer at 105 was deleted; b's at 250 fires when a's record at 400 moves the
    # watermark; a's at 500 fires at the end of the bounded input
    assert event == [("event", "b", 250), ("event", "a", 500)]
    # processing-time timers fire as the clock passes them; one still pending when the
    # bounded input ends (a's at 1200; the input ends at 1180) does not fire (Flink's
    # semantics: KeyedProcessFunction.finish() is where to flush held-back work)
    assert [(k, t) for _, k, t in proc] == [("a", 1080), ("b", 1110)]


def test_processing_time_tumbling_windows() -> None:
    clock = ManualClock(0)
    env = StreamEnvironment("ptime", clock=clock)
    batches = [[("a", 1)], [("a", 2), ("b", 3)], [("a", 4)], [], [("b", 5)]]
    src = env.from_source(SteppingSource(clock, batches), WM0)
    out = CollectSink()
    src.key_by(0).window(TumblingProcessingTimeWindows.of(60)).count().sink_to(out)
    env.execute()
    # polls at t=30,60,90,120,150,180: windows [0,60) [60,120) [120,180)
    got = sorted((r.key, r.start, r.value) for r in out.values)
    assert got == [("a", 0, 1), ("a", 60, 2), ("b", 60, 1), ("b", 120, 1)]


def test_idle_partition_does_not_hold_back_the_watermark() -> None:
    clock = ManualClock(0)

    class TwoPartitions(Source):
        bounded = False

        def __init__(self) -> None:
            self.n = 0

        def open(self, listener: AssignmentListener) -> None:
            listener.on_assigned(["busy", "idle"])

        def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]:
            clock.advance(100)
            self.n += 1
            out = [PartitionBatch("busy", [("k", self.n * 1000)], None, self.n)]
            if self.n == 1:
                out.append(PartitionBatch("idle", [("j", 10)], None, 1))
            return out

    env = StreamEnvironment("idle", clock=clock, poll_timeout_s=0)
    src = env.from_source(
        TwoPartitions(),
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(1).with_idleness(500),
    )
    out = CollectSink()
    src.key_by(0).window(TumblingEventTimeWindows.of(1000)).count().sink_to(out)
    runner = env.runner()
    fired: list[int] = []

    class Stop(Source):
        pass

    original = runner._advance

    def advance(now: int) -> None:
        original(now)
        fired.append(runner.watermark)
        if len(fired) >= 10:
            runner.request_stop()

    runner._advance = advance  # type: ignore[method-assign]
    runner.run()
    # while "idle" is active it pins the watermark at 9; once idle, "busy" drives it
    assert fired[0] == 9
    assert fired[-1] == 10 * 1000 - 1
    assert ("j", 0) in {(r.key, r.start) for r in out.values}


def test_bounded_input_fires_everything_at_the_end() -> None:
    env = StreamEnvironment("end")
    src = env.from_source(MemorySource([[("a", 5), ("a", 7)]]), WM0)
    out = CollectSink()
    src.key_by(0).window(TumblingEventTimeWindows.of(10**9)).aggregate(Sum(1)).sink_to(out)
    r = env.execute()
    assert [(x.key, x.value) for x in out.values] == [("a", 12)]
    assert r.watermark == MAX_WATERMARK


def test_missing_timestamps_do_not_crash_the_job() -> None:
    env = StreamEnvironment("bad-ts")
    data = [{"k": "a", "ts": 5}, {"k": "b"}, {"k": "c", "ts": "soon"}, {"k": "d", "ts": 9}]
    src = env.from_source(
        MemorySource([data]),
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner("ts"),
    )
    out = CollectSink()
    src.sink_to(out)
    r = env.execute()
    assert out.values == data  # nothing lost; a later step can dead-letter them
    assert r.metrics["timestamp_errors"] == 2


def test_an_assigner_may_return_none_for_no_timestamp() -> None:
    """None (like raising) means no timestamp: the record keeps its partition's time."""
    env = StreamEnvironment("none-ts")
    data = [("a", 5), ("b", None), ("c", 9), ("d", None)]
    src = env.from_source(
        MemorySource([data], batch_size=2),
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(lambda r: r[1]),
    )
    seen: list[tuple[Any, int]] = []

    class Stamps(CollectSink):
        def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
            seen.extend(zip(values, timestamps, strict=True))

    src.sink_to(Stamps())
    r = env.execute()
    # the records without one carry the partition's time before their batch (0 at first)
    assert seen == [(("a", 5), 5), (("b", None), 0), (("c", 9), 9), (("d", None), 5)]
    assert r.metrics["timestamp_errors"] == 2


def test_timestamps_outside_the_bounds_count_as_none() -> None:
    """Bounds make a field-name assigner reject absurd times at C speed: such a record keeps
    its partition's time, never moves the watermark, and is counted once."""
    env = StreamEnvironment("bounded-ts")
    data = [
        {"k": "a", "ts": 50},
        {"k": "b", "ts": 10**15},  # far future: would make everything after it late
        {"k": "c", "ts": 60},
        {"k": "d", "ts": 5},  # before the bounds
        {"k": "e", "ts": True},  # not an int
        {"k": "f", "ts": 70},
    ]
    src = env.from_source(
        MemorySource([data], batch_size=3),
        WatermarkStrategy.for_monotonous_timestamps()
        .with_timestamp_assigner("ts")
        .with_timestamp_bounds(10, 1000),
    )
    seen: list[tuple[str, int]] = []

    class Stamps(CollectSink):
        def add_batch(self, values: list[Any], timestamps: list[int]) -> None:
            seen.extend((v["k"], t) for v, t in zip(values, timestamps, strict=True))

    src.sink_to(Stamps())
    r = env.execute()
    assert seen == [("a", 50), ("b", 0), ("c", 60), ("d", 60), ("e", 60), ("f", 70)]
    assert r.metrics["timestamp_errors"] == 3
    with pytest.raises(ConfigError, match="empty"):
        WatermarkStrategy().with_timestamp_bounds(5, 5)


def test_no_timestamps_configured_is_a_clear_error() -> None:
    env = StreamEnvironment("no-ts")
    env.from_source(MemorySource([[1, 2]]), WatermarkStrategy()).sink_to(CollectSink())
    with pytest.raises(ConfigError, match="timestamp assigner"):
        env.execute()


def test_file_source_avro_and_jsonl(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "Click",
        "fields": [
            {"name": "user", "type": "string"},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }
    with (tmp_path / "part-0.avro").open("wb") as fo:
        fastavro.writer(fo, fastavro.parse_schema(schema), [{"user": "a", "ts": 1000}] * 5)
    (tmp_path / "part-1.jsonl").write_text(
        '{"user": "b", "ts": 2000}\nnot json\n{"user": "b", "ts": 3000}\n'
    )
    env = StreamEnvironment("files")
    src = env.from_source(
        FileSource(tmp_path, batch_size=2),
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner("ts"),
    )
    good, bad = CollectSink(), CollectSink()
    dead = OutputTag("dead")

    class Route(ProcessFunction[Any, Any]):
        def process_element(self, value: Any, ctx: Any) -> None:
            if isinstance(value, InvalidRecord):
                ctx.output(dead, value)
            else:
                ctx.emit(value)

    routed = src.process(Route())
    routed.sink_to(good)
    routed.side_output(dead).sink_to(bad)
    env.execute()
    by_user = sorted((v["user"], v["ts"]) for v in good.values)
    assert by_user == [("a", 1000)] * 5 + [("b", 2000), ("b", 3000)]  # ints, not datetimes
    assert len(bad.values) == 1
    assert bad.values[0].partition == "part-1.jsonl" and bad.values[0].position == 1
    assert "invalid JSON" in bad.values[0].reason


def test_file_source_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        FileSource(tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"no \*\.avro"):
        FileSource(tmp_path)


def test_file_sink_writes_on_flush(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out.jsonl")
    sink.add({"a": 1}, 0)
    assert not (tmp_path / "out.jsonl").exists()
    sink.flush()
    assert [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [{"a": 1}]


def test_duplicate_operator_names_are_rejected() -> None:
    env = StreamEnvironment("dup")
    s = env.from_source(MemorySource([[1]]), WM0)
    s.map(lambda x: x, name="m")
    with pytest.raises(ConfigError, match="used twice"):
        s.map(lambda x: x, name="m")

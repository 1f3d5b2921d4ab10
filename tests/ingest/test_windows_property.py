"""Windowed results against the independent reference model (tests/ingest/reference.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import (
    CollectSink,
    EventTimeSessionWindows,
    MemorySource,
    OutputTag,
    ProcessWindowFunction,
    SlidingEventTimeWindows,
    StreamEnvironment,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)
from tests.ingest import reference

LATE = OutputTag("late")


@st.composite
def streams(draw: Any) -> dict[str, Any]:
    """Key-partitioned streams with disorder and some very late records."""
    n_parts = draw(st.integers(1, 3))
    keys_per_part = [[f"p{p}k{i}" for i in range(draw(st.integers(1, 3)))] for p in range(n_parts)]
    max_jitter = draw(st.sampled_from([0, 5, 20, 60]))
    parts = []
    for p in range(n_parts):
        n = draw(st.integers(0, 40))
        t = draw(st.integers(0, 50))
        recs = []
        for _ in range(n):
            t += draw(st.integers(0, 15))
            jitter = draw(st.integers(0, max_jitter))
            if draw(st.integers(0, 9)) == 0:
                jitter += draw(st.integers(50, 200))  # far behind: likely late
            recs.append((draw(st.sampled_from(keys_per_part[p])), max(0, t - jitter)))
        parts.append(recs)
    return {
        "parts": parts,
        "batch": draw(st.integers(1, 6)),
        "delay": draw(st.integers(0, 30)),
        "lateness": draw(st.sampled_from([0, 0, 10, 40])),
    }


def _run(s: dict[str, Any], assigner: Any) -> tuple[list[Any], list[Any]]:
    env = StreamEnvironment("prop", max_batch=s["batch"])
    src = env.from_source(
        MemorySource(s["parts"], batch_size=s["batch"]),
        WatermarkStrategy.for_bounded_out_of_orderness(s["delay"]).with_timestamp_assigner(1),
    )
    win = src.key_by(0).window(assigner, s["lateness"], LATE).count()
    out, late = CollectSink(), CollectSink()
    win.sink_to(out)
    win.side_output(LATE).sink_to(late)
    env.execute()
    return out.values, late.values


def _check_fixed(s: dict[str, Any], size: int, slide: int) -> None:
    assigner = (
        TumblingEventTimeWindows.of(size)
        if slide == size
        else SlidingEventTimeWindows.of(size, slide)
    )
    results, late = _run(s, assigner)
    ref = reference.fixed_windows(s["parts"], s["batch"], s["delay"], size, slide, s["lateness"])
    final: dict[tuple[str, int, int], int] = {}
    first: dict[tuple[str, int, int], int] = {}
    for r in results:
        final[(r.key, r.start, r.end)] = r.value
        first.setdefault((r.key, r.start, r.end), r.value)
    assert final == ref.final
    assert first == ref.first_firing
    assert Counter(late) == ref.late
    # nothing vanishes: every record is counted in its window or is in the late output
    n_in = sum(len(p) for p in s["parts"])
    if slide == size:
        assert sum(final.values()) + len(late) == n_in


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.sampled_from([10, 25, 60]))
def test_tumbling_matches_reference(s: dict[str, Any], size: int) -> None:
    _check_fixed(s, size, size)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.sampled_from([(20, 10), (30, 10), (25, 5)]))
def test_sliding_matches_reference(s: dict[str, Any], shape: tuple[int, int]) -> None:
    _check_fixed(s, *shape)


class _Ids(ProcessWindowFunction[Any, Any]):
    def process(self, key: Any, start: int, end: int, elements: list[Any]) -> Any:
        yield (key, start, end, frozenset(e[2] for e in elements))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.sampled_from([5, 15, 40]))
def test_sessions_match_reference(s: dict[str, Any], gap: int) -> None:
    # give every record an id so a merged session can be told from an unrelated one
    n = 0
    tagged = []
    for p in s["parts"]:
        tagged.append([(k, t, (n := n + 1)) for k, t in p])
    env = StreamEnvironment("prop", max_batch=s["batch"])
    src = env.from_source(
        MemorySource(tagged, batch_size=s["batch"]),
        WatermarkStrategy.for_bounded_out_of_orderness(s["delay"]).with_timestamp_assigner(1),
    )
    win = (
        src.key_by(0)
        .window(EventTimeSessionWindows.with_gap(gap), s["lateness"], LATE)
        .process(_Ids())
    )
    out, late = CollectSink(), CollectSink()
    win.sink_to(out)
    win.side_output(LATE).sink_to(late)
    env.execute()
    # a re-fired (merged) session supersedes the results whose records it contains
    final: list[tuple[str, int, int, frozenset[int]]] = []
    for key, start, end, ids in out.values:
        final = [x for x in final if not (x[0] == key and x[3] <= ids)]
        final.append((key, start, end, ids))
    got = {(k, s_, e, len(ids)) for k, s_, e, ids in final}
    ref_sessions, ref_late = reference.sessions(
        s["parts"], s["batch"], s["delay"], gap, s["lateness"]
    )
    assert got == ref_sessions
    assert Counter((k, t) for k, t, _ in late.values) == ref_late
    assert sum(len(x[3]) for x in final) + len(late.values) == n

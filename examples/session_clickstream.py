"""Session windows over a clickstream: clicks per user session, with late clicks set aside.

Run: ``python -m examples.session_clickstream``
"""

from __future__ import annotations

from typing import Any

from ingest import (
    AggregateFunction,
    CollectSink,
    EventTimeSessionWindows,
    MemorySource,
    OutputTag,
    StreamEnvironment,
    WatermarkStrategy,
)

LATE = OutputTag("late-clicks")
GAP_MS = 30 * 60_000  # a session ends after 30 minutes without a click

MIN = 60_000
# Two partitions of (user, page, ts): the topic is keyed by user.
CLICKS: list[list[tuple[str, str, int]]] = [
    [
        ("ann", "/home", 0 * MIN),
        ("ann", "/browse", 5 * MIN),
        ("ann", "/title/42", 12 * MIN),
        ("ann", "/home", 95 * MIN),  # a second session
        ("ann", "/search", 100 * MIN),
    ],
    [
        ("bob", "/home", 2 * MIN),
        ("bob", "/title/7", 40 * MIN),
        ("bob", "/title/8", 55 * MIN),
        ("bob", "/home", 200 * MIN),
        ("bob", "/browse", 3 * MIN),  # arrives long after its session closed: late
    ],
]


class PagesInSession(AggregateFunction[tuple[str, str, int], list[str], list[str]]):
    def create_accumulator(self) -> list[str]:
        return []

    def add(self, value: tuple[str, str, int], acc: list[str]) -> list[str]:
        return [*acc, value[1]]

    def merge(self, a: list[str], b: list[str]) -> list[str]:
        return a + b


def run() -> tuple[list[Any], list[Any]]:
    env = StreamEnvironment("clickstream-sessions")
    clicks = env.from_source(
        MemorySource(CLICKS, batch_size=2),
        WatermarkStrategy.for_bounded_out_of_orderness(60_000).with_timestamp_assigner(2),
    )
    sessions = (
        clicks.key_by(0)
        .window(EventTimeSessionWindows.with_gap(GAP_MS), late_output=LATE)
        .aggregate(PagesInSession())
    )
    out, late = CollectSink(), CollectSink()
    sessions.sink_to(out)
    sessions.side_output(LATE).sink_to(late)
    env.execute()
    return out.values, late.values


def main() -> None:
    sessions, late = run()
    for s in sorted(sessions):
        print(f"{s.key}: {(s.end - s.start) // MIN:>3} min, pages {s.value}")
    for r in late:
        print(f"late click set aside: {r}")


if __name__ == "__main__":
    main()

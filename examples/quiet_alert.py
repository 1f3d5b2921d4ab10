"""A keyed process function with timers: alert when a device goes quiet for N seconds.

Each heartbeat (re)arms an event-time timer ``QUIET_MS`` after it; if the timer fires before
another heartbeat arrives, the device has gone quiet.  Run: ``python -m examples.quiet_alert``
"""

from __future__ import annotations

from typing import Any

from ingest import (
    CollectSink,
    KeyedProcessFunction,
    MemorySource,
    StreamEnvironment,
    WatermarkStrategy,
)

QUIET_MS = 30_000

# (device, ts): the tv goes quiet after 20 s; the phone keeps beating until 90 s.
HEARTBEATS = [
    [("tv", 0), ("tv", 10_000), ("tv", 20_000)],
    [("phone", t) for t in range(0, 100_000, 10_000)],
]


class QuietAlert(KeyedProcessFunction[tuple[str, int], dict[str, Any]]):
    def open(self, ctx: Any) -> None:
        self.deadline = ctx.value_state("deadline")

    def process_element(self, value: tuple[str, int], ctx: Any) -> None:
        old = self.deadline.value()
        if old is not None:
            ctx.delete_event_time_timer(old)
        deadline = value[1] + QUIET_MS
        self.deadline.update(deadline)
        ctx.register_event_time_timer(deadline)

    def on_timer(self, timestamp: int, ctx: Any) -> None:
        ctx.emit({"device": ctx.current_key, "quiet_since": timestamp - QUIET_MS})
        self.deadline.clear()


def run() -> list[dict[str, Any]]:
    env = StreamEnvironment("quiet-devices")
    beats = env.from_source(
        MemorySource(HEARTBEATS, batch_size=2),
        WatermarkStrategy.for_bounded_out_of_orderness(1000).with_timestamp_assigner(1),
    )
    alerts = CollectSink()
    beats.key_by(0).process(QuietAlert()).sink_to(alerts)
    env.execute()
    return alerts.values


def main() -> None:
    for alert in run():
        print(f"{alert['device']} quiet since t={alert['quiet_since'] // 1000}s")


if __name__ == "__main__":
    main()

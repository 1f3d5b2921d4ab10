"""Valid sample records per topic, shared by the schema tests."""

from __future__ import annotations

from typing import Any

import pytest

TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

SAMPLES: dict[str, dict[str, Any]] = {
    "playback": {
        "event_id": "e-1",
        "ts": TS,
        "account_id": "a-1",
        "profile_id": "p-1",
        "title_id": "t-1",
        "device_id": "d-1",
        "device_type": "tv",
        "country": "US",
        "action": "START",
        "position_ms": 0,
    },
    "login": {
        "event_id": "e-2",
        "ts": TS,
        "account_id": "a-1",
        "device_id": "d-1",
        "device_type": "mobile",
        "country": "BR",
        "success": True,
    },
    "search": {
        "event_id": "e-3",
        "ts": TS,
        "profile_id": "p-1",
        "query": "stranger things",
        "clicked_title_id": "t-9",
    },
    "gaming": {
        "event_id": "e-4",
        "ts": TS,
        "profile_id": "p-1",
        "game_id": "g-1",
        "device_id": "d-2",
        "device_type": "console",
        "session_seconds": 1800,
    },
    "live": {
        "event_id": "e-5",
        "ts": TS,
        "profile_id": "p-1",
        "live_event_id": "live-1",
        "device_id": "d-3",
        "device_type": "tv",
        "action": "VOTE",
    },
}

TOPICS = tuple(SAMPLES)


def sample(topic: str, **changes: Any) -> dict[str, Any]:
    """A fresh valid record of `topic` with some fields changed."""
    record = dict(SAMPLES[topic])
    record.update(changes)
    return record


@pytest.fixture(params=TOPICS)
def topic(request: pytest.FixtureRequest) -> str:
    return str(request.param)

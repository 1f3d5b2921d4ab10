"""The examples in examples/ run and say what they claim."""

from __future__ import annotations

from examples import quiet_alert, session_clickstream


def test_session_clickstream_example() -> None:
    sessions, late = session_clickstream.run()
    got = sorted((s.key, s.start // 60_000, s.end // 60_000, tuple(s.value)) for s in sessions)
    assert got == [
        ("ann", 0, 42, ("/home", "/browse", "/title/42")),
        ("ann", 95, 130, ("/home", "/search")),
        ("bob", 2, 32, ("/home",)),
        ("bob", 40, 85, ("/title/7", "/title/8")),
        ("bob", 200, 230, ("/home",)),
    ]
    assert late == [("bob", "/browse", 3 * 60_000)]


def test_quiet_alert_example() -> None:
    assert quiet_alert.run() == [
        {"device": "tv", "quiet_since": 20_000},
        {"device": "phone", "quiet_since": 90_000},
    ]

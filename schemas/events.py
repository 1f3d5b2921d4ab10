"""Typed shapes and constants of the five event kinds.

The TypedDicts document the normalized events the validators return (and the
generator emits); the constants are the single source for enum symbols, id
limits and the accepted event-time range, so validator, generator and tests agree.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

__all__ = [
    "DEVICE_TYPES",
    "LIVE_ACTIONS",
    "MAX_ID_LENGTH",
    "PLAYBACK_ACTIONS",
    "TS_MAX_MS",
    "TS_MIN_MS",
    "Event",
    "GamingEvent",
    "LiveAction",
    "LiveEvent",
    "LoginEvent",
    "PlaybackAction",
    "PlaybackEvent",
    "SearchEvent",
]

PlaybackAction = Literal["START", "PAUSE", "STOP"]
LiveAction = Literal["JOIN", "VOTE", "LEAVE"]

#: Enum symbols, in schema order (the Avro index is the position here).
PLAYBACK_ACTIONS: Final[tuple[str, ...]] = ("START", "PAUSE", "STOP")
LIVE_ACTIONS: Final[tuple[str, ...]] = ("JOIN", "VOTE", "LEAVE")

#: Device types the generator uses. The schema keeps device_type a free string.
DEVICE_TYPES: Final[tuple[str, ...]] = ("tv", "mobile", "tablet", "web", "console")

#: Longest accepted id, counted after trimming.
MAX_ID_LENGTH: Final[int] = 256

#: Accepted event time: 2000-01-01T00:00:00Z <= ts < 2100-01-01T00:00:00Z (epoch ms).
TS_MIN_MS: Final[int] = 946_684_800_000
TS_MAX_MS: Final[int] = 4_102_444_800_000


class PlaybackEvent(TypedDict):
    """Topic playback, partition key profile_id."""

    event_id: str
    ts: int
    account_id: str
    profile_id: str
    title_id: str
    device_id: str
    device_type: str
    country: str
    action: PlaybackAction
    position_ms: int


class LoginEvent(TypedDict):
    """Topic login, partition key account_id."""

    event_id: str
    ts: int
    account_id: str
    device_id: str
    device_type: str
    country: str
    success: bool


class SearchEvent(TypedDict):
    """Topic search, partition key profile_id. `query` is normalized after validation."""

    event_id: str
    ts: int
    profile_id: str
    query: str
    clicked_title_id: str | None


class GamingEvent(TypedDict):
    """Topic gaming, partition key profile_id."""

    event_id: str
    ts: int
    profile_id: str
    game_id: str
    device_id: str
    device_type: str
    session_seconds: int


class LiveEvent(TypedDict):
    """Topic live, partition key profile_id."""

    event_id: str
    ts: int
    profile_id: str
    live_event_id: str
    device_id: str
    device_type: str
    action: LiveAction


Event = PlaybackEvent | LoginEvent | SearchEvent | GamingEvent | LiveEvent

"""Generated events: what the generator emits, its kinds and defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from schemas.events import LIVE_ACTIONS, PLAYBACK_ACTIONS

#: 2026-01-01T00:00:00Z in epoch milliseconds.
DEFAULT_START_MS: Final = 1_767_225_600_000
DEFAULT_EVENTS_PER_SECOND: Final = 100.0
DEFAULT_DUPLICATE_DELAY_S: Final = 30.0
DEFAULT_LATE_WARMUP: Final = 100
DEFAULT_ACCOUNTS: Final = 1000
LATE_MIN_S: Final = 2 * 3600
LATE_MAX_S: Final = 3 * 3600

OK: Final = "ok"
DUPLICATE: Final = "duplicate"
LATE: Final = "late"
UNDECODABLE: Final = "undecodable"
#: Every reason an ``invalid:<reason>`` event can have.
INVALID_REASONS: Final[tuple[str, ...]] = (
    "bad_id",
    "bad_ts",
    "missing_field",
    "bad_type",
    "unknown_enum",
    "empty_query",
    UNDECODABLE,
)

Output = Literal["avro", "avro-file", "json"]

_ENUMS: Final[dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = {
    # topic: (field, symbols, unknown symbols the generator injects)
    "playback": ("action", PLAYBACK_ACTIONS, ("REWIND", "SEEK", "start")),
    "live": ("action", LIVE_ACTIONS, ("REACT", "CHEER", "join")),
}
_MS_1999: Final = 915_148_800_000  # 1999-01-01T00:00:00Z
_YEAR_MS: Final = 365 * 86_400_000


@dataclass(frozen=True, slots=True)
class GeneratedEvent:
    """One generated message and what the pipeline must do with it.

    `record` is the event as a dict (None for undecodable bytes, which are in
    `raw`); `key` is the partition key (the key field's value, "" if it has no
    string value); `index` is the position in the generated stream; `detail`
    says what was injected (e.g. "bad_id:account_id:too_long", "of:#17").
    """

    index: int
    topic: str
    kind: str
    key: str
    record: dict[str, Any] | None
    raw: bytes | None = None
    detail: str = ""

    @property
    def reason(self) -> str | None:
        """The reason code of an ``invalid:<reason>`` event, else None."""
        return self.kind[8:] if self.kind.startswith("invalid:") else None

    @property
    def ts(self) -> int | None:
        """The record's ts when it is an int."""
        ts = self.record.get("ts") if self.record is not None else None
        return ts if type(ts) is int else None

    @property
    def event_id(self) -> str | None:
        """The record's event_id when it is a string."""
        value = self.record.get("event_id") if self.record is not None else None
        return value if isinstance(value, str) else None

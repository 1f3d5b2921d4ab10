"""Serialization errors, kept apart so the decoder internals and serde share them."""

from __future__ import annotations

from typing import Final

from ingest.errors import RDGError

__all__ = [
    "BAD_MAGIC",
    "CORRUPT",
    "DECODE_REASONS",
    "INVALID_JSON",
    "INVALID_UTF8",
    "NOT_AN_OBJECT",
    "TRAILING_BYTES",
    "TRUNCATED",
    "UNKNOWN_ENUM_INDEX",
    "WRONG_SCHEMA_ID",
    "DecodeError",
    "EncodeError",
]

#: The data ended before the record did (includes empty input and short framing).
TRUNCATED: Final = "truncated"
#: Bytes were left over after a complete record.
TRAILING_BYTES: Final = "trailing_bytes"
#: Confluent framing expected, first byte was not 0.
BAD_MAGIC: Final = "bad_magic"
#: Confluent framing carried a schema id other than the configured one.
WRONG_SCHEMA_ID: Final = "wrong_schema_id"
#: An enum index outside the reader's symbols (e.g. written with a newer, wider enum).
#: Same code as the validator's unknown_enum, so dead letters group together.
UNKNOWN_ENUM_INDEX: Final = "unknown_enum"
#: A string field (or a JSON document) is not valid UTF-8.
INVALID_UTF8: Final = "invalid_utf8"
#: Structurally impossible Avro: negative length, bad union branch, boolean not 0/1,
#: over-long varint.
CORRUPT: Final = "corrupt"
#: Not parseable as JSON.
INVALID_JSON: Final = "invalid_json"
#: Valid JSON, but not an object.
NOT_AN_OBJECT: Final = "not_an_object"

DECODE_REASONS: Final[tuple[str, ...]] = (
    TRUNCATED,
    TRAILING_BYTES,
    BAD_MAGIC,
    WRONG_SCHEMA_ID,
    UNKNOWN_ENUM_INDEX,
    INVALID_UTF8,
    CORRUPT,
    INVALID_JSON,
    NOT_AN_OBJECT,
)


class DecodeError(RDGError):
    """Bytes that cannot be turned into a record; `reason` is one of DECODE_REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, str]]:
        return (type(self), (self.reason, self.message))


class EncodeError(RDGError):
    """A record that does not fit the schema (or JSON) and so cannot be serialized."""

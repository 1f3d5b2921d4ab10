"""Type stub of the native decoder (schemas/_avrofast.c)."""

from collections.abc import Sequence
from typing import Any

KIND_NULL: int
KIND_BOOLEAN: int
KIND_LONG: int
KIND_FLOAT: int
KIND_DOUBLE: int
KIND_BYTES: int
KIND_STRING: int
KIND_ENUM: int

class Fail(ValueError): ...

class Decoder:
    def __init__(self, fields: tuple[tuple[str, Any], ...]) -> None: ...
    def decode(self, data: bytes, pos: int = 0) -> dict[str, Any]: ...
    def decode_many(
        self, messages: Sequence[bytes], header: bytes = b""
    ) -> tuple[list[dict[str, Any]], list[int]]: ...
    def decode_block(
        self, data: bytes, pos: int, count: int
    ) -> tuple[list[dict[str, Any]], int]: ...

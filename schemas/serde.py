"""Event (de)serialization: schemaless Avro (optionally Confluent-framed) and JSON.

Decoding is the stream job's hot path, so AvroSerde decodes with the native
decoder (schemas/_avrofast.c, built at install time) or, without it, a decoder
generated in Python for the schema (see schemas._avro_decode); both fall back to a
careful walker only to explain failures. `decoder="fastavro"` uses fastavro's
schemaless_reader instead. Either way `ts` (and any int/long logical type)
comes back as a plain int, and every failure is a DecodeError with a reason code.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, Literal, Protocol, cast

from ingest.errors import ConfigError
from schemas import _avro_decode
from schemas.errors import (
    BAD_MAGIC,
    CORRUPT,
    DECODE_REASONS,
    INVALID_JSON,
    INVALID_UTF8,
    NOT_AN_OBJECT,
    TRUNCATED,
    WRONG_SCHEMA_ID,
    DecodeError,
    EncodeError,
)

__all__ = [
    "CONFLUENT_MAGIC",
    "DECODE_REASONS",
    "AvroSerde",
    "DecodeError",
    "EncodeError",
    "JsonSerde",
    "Serde",
    "confluent_header",
    "read_avro_container",
]

log = logging.getLogger(__name__)

#: First byte of a Confluent wire-format message; followed by a 4-byte big-endian schema id.
CONFLUENT_MAGIC: Final = 0
_HEADER_SIZE: Final = 5
_PREVIEW: Final = 24

Batch = tuple[list[dict[str, Any]], list[tuple[int, DecodeError]]]

DecoderName = Literal["auto", "native", "compiled", "fastavro"]
#: The decoders AvroSerde can use ("compiled" is the generated pure-Python one).
DECODERS: Final = ("auto", "native", "compiled", "fastavro")


class Serde(Protocol):
    """What sources, sinks and the generator need from a serializer."""

    def encode(self, record: Mapping[str, Any]) -> bytes: ...

    def decode(self, data: bytes) -> dict[str, Any]: ...

    def decode_batch(self, messages: Sequence[bytes]) -> Batch: ...


def confluent_header(schema_id: int) -> bytes:
    """The 5-byte Confluent prefix: magic byte 0 and the big-endian schema id."""
    if not 0 <= schema_id <= 0xFFFFFFFF:
        raise ConfigError(f"schema_id {schema_id} does not fit the 4-byte Confluent header")
    return bytes((CONFLUENT_MAGIC,)) + schema_id.to_bytes(4, "big")


def _preview(data: bytes) -> str:
    return bytes(data[:_PREVIEW]).hex() + ("..." if len(data) > _PREVIEW else "")


def _as_bytes(data: Any, what: str) -> bytes:
    """Accept bytes-likes; None (a Kafka tombstone) is an empty, undecodable message."""
    if data is None:
        raise DecodeError(TRUNCATED, f"cannot decode {what}: the message has no value (None)")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"cannot decode {what}: expected bytes, got {type(data).__name__}")


class AvroSerde:
    """Schemaless Avro for one topic (or any record schema).

    `topic_or_schema` is a topic name from schemas.registry or an Avro schema
    (JSON data or fastavro-parsed). With `confluent_wire`, messages carry the
    Confluent prefix; `schema_id` is written on encode and, when set, required
    on decode. `decoder` picks the decoder: "auto" (the default) takes the native
    one when it was built and covers the schema, else "compiled" (generated Python),
    else fastavro's schemaless_reader, which is also used for any schema the others
    do not cover. `self.decoder` names the one in use.
    """

    def __init__(
        self,
        topic_or_schema: str | Mapping[str, Any],
        confluent_wire: bool = False,
        schema_id: int | None = None,
        *,
        decoder: DecoderName = "auto",
    ) -> None:
        import fastavro

        # What __reduce__ needs to rebuild this serde in another process.
        self._args = (topic_or_schema, confluent_wire, schema_id, decoder)
        if decoder not in DECODERS:
            raise ConfigError(f"decoder must be one of {', '.join(DECODERS)}, not {decoder!r}")
        if isinstance(topic_or_schema, str):
            from schemas import registry

            self.topic: str | None = registry.check_topic(topic_or_schema)
            self.schema: dict[str, Any] = registry.parsed_schema(topic_or_schema)
            raw = registry.raw_schema(topic_or_schema)
        else:
            self.topic = None
            # Drop fastavro's private keys so an already-parsed schema is parsed afresh.
            raw = {k: v for k, v in topic_or_schema.items() if not str(k).startswith("__")}
            try:
                self.schema = cast(dict[str, Any], fastavro.parse_schema(raw))
            except Exception as exc:
                raise ConfigError(f"invalid Avro schema {raw.get('name', raw)!r}: {exc}") from exc
        self.confluent_wire = confluent_wire
        self.schema_id = schema_id
        self._header = confluent_header(schema_id) if schema_id is not None else None
        self._what = f"{self.topic or self.schema.get('name', 'Avro')} Avro record"
        # Same bytes on the wire, but int/long logical types stay plain numbers.
        self._reader = fastavro.parse_schema(_avro_decode.strip_number_logical_types(raw))
        self._names = _avro_decode.named_types(self._reader)
        self._native = (
            _avro_decode.native_decoder(self._reader, self._names)
            if decoder in ("auto", "native")
            else None
        )
        if decoder == "native" and self._native is None:
            why = (
                "the schema has types it does not cover"
                if _avro_decode.native_available()
                else "schemas._avrofast was not built (no C compiler at install time?)"
            )
            raise ConfigError(f"decoder='native' is not available for {self._what}: {why}")
        self._compiled = (
            _avro_decode.compile_decoder(self._reader, self._names)
            if decoder in ("auto", "compiled") and self._native is None
            else None
        )
        self.decoder: str = (
            "native"
            if self._native is not None
            else "compiled"
            if self._compiled is not None
            else "fastavro"
        )
        self._schemaless_reader = fastavro.schemaless_reader
        self._schemaless_writer = fastavro.schemaless_writer

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # The generated decoder cannot be pickled; rebuild it on the other side.
        return (_rebuild_avro, self._args)

    def __repr__(self) -> str:
        return (
            f"AvroSerde({self.topic or self.schema.get('name')!r}, "
            f"confluent_wire={self.confluent_wire}, schema_id={self.schema_id})"
        )

    # -- encode -----------------------------------------------------------------

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """Serialize one record (ts as epoch ms int or an aware datetime)."""
        buf = io.BytesIO()
        if self.confluent_wire:
            if self._header is None:
                raise ConfigError(f"{self!r} cannot encode: Confluent framing needs a schema_id")
            buf.write(self._header)
        try:
            self._schemaless_writer(buf, self.schema, record)
        except Exception as exc:
            raise EncodeError(self._explain_encode(record, exc)) from exc
        return buf.getvalue()

    def _explain_encode(self, record: Any, exc: Exception) -> str:
        from fastavro.validation import ValidationError, validate

        detail = f"{type(exc).__name__}: {exc}"
        if isinstance(record, Mapping):
            try:
                validate(record, self.schema, raise_errors=True)
            except ValidationError as verr:
                detail = "; ".join(str(e) for e in verr.errors) or detail
            except Exception:  # validation itself choked; keep the writer's message
                pass
        event_id = record.get("event_id") if isinstance(record, Mapping) else None
        return f"cannot encode {self._what} (event_id={event_id!r}): {detail}"

    # -- decode -----------------------------------------------------------------

    def _body_offset(self, data: bytes) -> int:
        """Check the Confluent prefix; return where the Avro body starts."""
        if not self.confluent_wire:
            return 0
        if self._header is not None and data[:_HEADER_SIZE] == self._header:
            return _HEADER_SIZE
        if len(data) < _HEADER_SIZE:
            raise DecodeError(
                TRUNCATED,
                f"cannot decode {self._what}: {len(data)} bytes, shorter than the 5-byte "
                f"Confluent header (starts {_preview(data)})",
            )
        if data[0] != CONFLUENT_MAGIC:
            raise DecodeError(
                BAD_MAGIC,
                f"cannot decode {self._what}: first byte is 0x{data[0]:02x}, not the Confluent "
                f"magic byte 0x00 (not Confluent-framed Avro? starts {_preview(data)})",
            )
        found = int.from_bytes(data[1:_HEADER_SIZE], "big")
        if self.schema_id is not None and found != self.schema_id:
            raise DecodeError(
                WRONG_SCHEMA_ID,
                f"cannot decode {self._what}: schema id {found}, expected {self.schema_id}",
            )
        return _HEADER_SIZE

    def decode(self, data: bytes) -> dict[str, Any]:
        """Deserialize one message; raises DecodeError saying why it cannot."""
        if type(data) is not bytes:
            data = _as_bytes(data, self._what)
        pos = self._body_offset(data) if self.confluent_wire else 0
        native = self._native
        if native is not None:
            try:
                return native.decode(data, pos)
            except Exception:
                return self._careful(data, pos, None)
        fast = self._compiled
        if fast is not None:
            try:
                record: dict[str, Any] = fast(data, pos)
                return record
            except Exception:
                return self._careful(data, pos, None)
        return self._fastavro_decode(data, pos)

    def _fastavro_decode(self, data: bytes, pos: int) -> dict[str, Any]:
        fo = io.BytesIO(data)
        fo.seek(pos)
        try:
            record = cast(dict[str, Any], self._schemaless_reader(fo, self._reader, None))
        except Exception as exc:
            return self._careful(data, pos, exc)
        if fo.tell() != len(data):
            return self._careful(data, pos, None)
        return record

    def _careful(self, data: bytes, pos: int, exc: Exception | None) -> dict[str, Any]:
        value, _ = _avro_decode.careful_decode(self._reader, data, pos, self._names, self._what)
        if exc is not None:
            # fastavro refused what the careful walker accepts: trust the refusal.
            raise DecodeError(
                CORRUPT, f"cannot decode {self._what}: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(value, dict):
            raise DecodeError(CORRUPT, f"cannot decode {self._what}: not a record")
        return value

    def decode_batch(self, messages: Sequence[bytes]) -> Batch:
        """Decode many messages: the records in input order (failed ones left out)
        and (index, DecodeError) for each failure."""
        native = self._native
        if native is not None and (not self.confluent_wire or self._header is not None):
            header = self._header if self.confluent_wire and self._header else b""
            decoded, failed = native.decode_many(messages, header)
            if not failed:
                return decoded, []
            # Rare: decode again only what the native decoder refused, which explains the
            # failures (and accepts what it does not take, like bytearray messages).
            refused = set(failed)
            good = iter(decoded)
            merged: list[dict[str, Any]] = []
            errors: list[tuple[int, DecodeError]] = []
            for i, data in enumerate(messages):
                if i not in refused:
                    merged.append(next(good))
                    continue
                try:
                    merged.append(self.decode(data))
                except DecodeError as err:
                    errors.append((i, err))
            return merged, errors
        records: list[dict[str, Any]] = []
        failures: list[tuple[int, DecodeError]] = []
        append = records.append
        fast = self._compiled
        if fast is not None and not self.confluent_wire:
            for i, data in enumerate(messages):
                try:
                    append(fast(data, 0))
                except Exception:
                    try:
                        append(self.decode(data))
                    except DecodeError as err:
                        failures.append((i, err))
            return records, failures
        decode = self.decode
        for i, data in enumerate(messages):
            try:
                append(decode(data))
            except DecodeError as err:
                failures.append((i, err))
        return records, failures


def _rebuild_avro(
    topic_or_schema: str | Mapping[str, Any],
    confluent_wire: bool,
    schema_id: int | None,
    decoder: DecoderName,
) -> AvroSerde:
    return AvroSerde(topic_or_schema, confluent_wire, schema_id, decoder=decoder)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JsonSerde:
    """UTF-8 JSON objects, one per message; `topic` only names things in errors."""

    def __init__(self, topic: str | None = None) -> None:
        self.topic = topic
        self._what = f"{topic} JSON record" if topic else "JSON record"
        self._decoder = json.JSONDecoder(parse_constant=_reject_constant)
        self._encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (JsonSerde, (self.topic,))

    def __repr__(self) -> str:
        return f"JsonSerde({self.topic!r})"

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """Serialize a record as compact UTF-8 JSON (no newlines inside)."""
        try:
            return self._encoder.encode(record).encode("utf-8")
        except (TypeError, ValueError) as exc:
            event_id = record.get("event_id") if isinstance(record, Mapping) else None
            raise EncodeError(
                f"cannot encode {self._what} (event_id={event_id!r}) as JSON: {exc}"
            ) from exc

    def decode(self, data: bytes) -> dict[str, Any]:
        """Parse one message; raises DecodeError (invalid_utf8, invalid_json, not_an_object)."""
        if type(data) is not bytes:
            data = _as_bytes(data, self._what)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(
                INVALID_UTF8,
                f"cannot decode {self._what}: not UTF-8 at byte {exc.start} "
                f"(starts {_preview(data)})",
            ) from None
        try:
            value = self._decoder.decode(text)
        except ValueError as exc:
            raise DecodeError(
                INVALID_JSON, f"cannot decode {self._what}: {exc} in {text[:80]!r}"
            ) from None
        if type(value) is not dict:
            raise DecodeError(
                NOT_AN_OBJECT,
                f"cannot decode {self._what}: a JSON {type(value).__name__}, not an object: "
                f"{text[:80]!r}",
            )
        return value

    def decode_batch(self, messages: Sequence[bytes]) -> Batch:
        """Like AvroSerde.decode_batch."""
        records: list[dict[str, Any]] = []
        failures: list[tuple[int, DecodeError]] = []
        decode = self.decode
        for i, data in enumerate(messages):
            try:
                records.append(decode(data))
            except DecodeError as err:
                failures.append((i, err))
        return records, failures


def read_avro_container(source: str | Path | IO[bytes]) -> Iterator[dict[str, Any]]:
    """Records of an Avro object container file with int/long logical types as
    plain numbers (fastavro.reader would return datetimes for `ts`).

    Raises DecodeError if a block is corrupt; the error names the file.
    """
    import fastavro

    if isinstance(source, str | Path):
        with open(source, "rb") as fo:
            yield from read_avro_container(fo)
        return
    name = getattr(source, "name", "<stream>")
    try:
        blocks = fastavro.block_reader(source)
    except Exception as exc:
        raise DecodeError(CORRUPT, f"{name} is not an Avro container file: {exc}") from exc
    reader = fastavro.parse_schema(_avro_decode.strip_number_logical_types(blocks.writer_schema))
    names = _avro_decode.named_types(reader)
    what = f"record in {name}"
    native = _avro_decode.native_decoder(reader, names)
    stream = None if native else _avro_decode.compile_decoder(reader, names, exact=False)
    try:
        for block in blocks:
            data = block.bytes_.getvalue()  # type: ignore[attr-defined]  # decompressed block
            pos = 0
            left = block.num_records
            while left:
                if native is not None:
                    # in chunks: a corrupt count must not build one huge list
                    want = min(left, 65536)
                    records, pos = native.decode_block(data, pos, want)
                    yield from records
                    left -= len(records)
                    if len(records) == want:
                        continue
                # One record the slow way: the one the native decoder refused, if any.
                left -= 1
                if stream is not None:
                    try:
                        record, pos = stream(data, pos)
                    except Exception:
                        record, pos = _avro_decode.careful_decode(
                            reader, data, pos, names, what, exact=False
                        )
                else:
                    record, pos = _avro_decode.careful_decode(
                        reader, data, pos, names, what, exact=False
                    )
                yield record
            if pos != len(data):
                raise DecodeError(
                    CORRUPT,
                    f"{name}: a block holds {len(data) - pos} bytes after its "
                    f"{block.num_records} records (corrupt block?)",
                )
    except DecodeError:
        raise
    except Exception as exc:  # fastavro: bad sync marker, codec error, truncated file
        raise DecodeError(CORRUPT, f"cannot read Avro container {name}: {exc}") from exc

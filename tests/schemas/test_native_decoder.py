"""The native Avro decoder (schemas/_avrofast.c) against fastavro and the careful walker.

`make test` builds it (pip install -e . compiles the extension), so these tests fail,
rather than skip, when the build is broken.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import _avro_decode, registry
from schemas.serde import AvroSerde, DecodeError
from tests.schemas.conftest import TOPICS, sample

EVERYTHING = {
    "type": "record",
    "name": "Flat",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "raw", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "e2", "type": "Color"},
        {"name": "u", "type": ["null", "long", "string", "Color", "boolean", "double"]},
    ],
}

FLAT_RECORDS = st.fixed_dictionaries(
    {
        "n": st.none(),
        "b": st.booleans(),
        "i": st.integers(-(2**31), 2**31 - 1),
        "l": st.integers(-(2**63), 2**63 - 1),
        "f": st.sampled_from([0.0, 1.5, -2.25, 1e30]),
        "d": st.floats(allow_nan=False),
        "raw": st.binary(max_size=40),
        "s": st.text(max_size=40),
        "e": st.sampled_from(["RED", "GREEN"]),
        "e2": st.sampled_from(["RED", "GREEN"]),
        "u": st.one_of(
            st.none(),
            st.integers(-(2**63), 2**63 - 1),
            st.text(max_size=10),
            st.sampled_from(["RED", "GREEN"]),
            st.booleans(),
        ),
    }
)

_FLAT = AvroSerde(EVERYTHING)
_FLAT_FASTAVRO = AvroSerde(EVERYTHING, decoder="fastavro")


def native_for(schema: Any) -> _avro_decode.NativeDecoder:
    reader = fastavro.parse_schema(_avro_decode.strip_number_logical_types(schema))
    decoder = _avro_decode.native_decoder(reader, _avro_decode.named_types(reader))
    assert decoder is not None
    return decoder


def test_the_native_decoder_is_built_and_used_for_every_topic() -> None:
    assert _avro_decode.native_available(), "schemas._avrofast was not built"
    for topic in TOPICS:
        assert AvroSerde(topic).decoder == "native"
        assert AvroSerde(topic, decoder="native").decoder == "native"
        assert AvroSerde(topic, decoder="compiled").decoder == "compiled"
    assert _FLAT.decoder == "native"


def test_native_refuses_schemas_it_does_not_cover() -> None:
    nested = {
        "type": "record",
        "name": "Outer",
        "fields": [{"name": "tags", "type": {"type": "array", "items": "string"}}],
    }
    assert AvroSerde(nested).decoder == "fastavro"
    with pytest.raises(Exception, match="decoder='native' is not available"):
        AvroSerde(nested, decoder="native")


@settings(max_examples=300)
@given(FLAT_RECORDS)
def test_every_covered_type_round_trips(record: dict[str, Any]) -> None:
    data = _FLAT.encode(record)
    decoded = _FLAT.decode(data)
    assert decoded == _FLAT_FASTAVRO.decode(data)
    assert list(decoded) == [f["name"] for f in EVERYTHING["fields"]]
    assert native_for(EVERYTHING).decode(data) == decoded


@settings(max_examples=500)
@given(FLAT_RECORDS, st.data())
def test_mangled_input_never_crashes_and_matches_the_careful_walker(
    record: dict[str, Any], data: st.DataObject
) -> None:
    """Whatever bytes arrive, the native decoder either returns exactly what the careful
    walker returns or refuses what the careful walker refuses."""
    message = bytearray(_FLAT.encode(record))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "append", "random"]))
        if op == "flip" and message:
            message[data.draw(st.integers(0, len(message) - 1))] = data.draw(st.integers(0, 255))
        elif op == "cut" and message:
            del message[data.draw(st.integers(0, len(message) - 1)) :]
        elif op == "random":
            message = bytearray(data.draw(st.binary(max_size=64)))
        else:
            message += data.draw(st.binary(min_size=1, max_size=3))
    raw = bytes(message)
    native = native_for(EVERYTHING)
    reader = _FLAT._reader
    try:
        expected: Any = _avro_decode.careful_decode(reader, raw, 0, _FLAT._names, "x")[0]
    except DecodeError:
        expected = None
    try:
        got: Any = native.decode(raw)
    except ValueError:
        got = None
    # repr: a mangled double can be NaN, which is never == itself
    assert repr(got) == repr(expected)
    many = native.decode_many([raw])
    assert repr(many) == repr(([expected], []) if expected is not None else ([], [0]))


def test_varints_at_the_64_bit_limit() -> None:
    native = native_for({"type": "record", "name": "L", "fields": [{"name": "l", "type": "long"}]})
    for value in (0, -1, 63, -64, 64, 2**62, 2**63 - 1, -(2**63)):
        buf = io.BytesIO()
        fastavro.schemaless_writer(
            buf,
            {"type": "record", "name": "L", "fields": [{"name": "l", "type": "long"}]},
            {"l": value},
        )
        assert native.decode(buf.getvalue()) == {"l": value}
    with pytest.raises(ValueError):
        native.decode(b"\xff" * 9 + b"\x02")  # 65 bits
    with pytest.raises(ValueError):
        native.decode(b"\xff" * 10 + b"\x01")  # 11 bytes
    assert native.decode(b"\xfe" + b"\xff" * 8 + b"\x01") == {"l": 2**63 - 1}


def test_decode_many_reports_failures_by_index_and_checks_the_header() -> None:
    serde = AvroSerde("login")
    native = native_for(registry.raw_schema("login"))
    good = [serde.encode(sample("login", event_id=f"e-{i}")) for i in range(3)]
    records, failed = native.decode_many(
        [good[0], b"", good[1] + b"x", good[2], bytearray(good[0])]
    )  # type: ignore[list-item]
    assert [r["event_id"] for r in records] == ["e-0", "e-2"]
    assert failed == [1, 2, 4]
    header = b"\x00\x00\x00\x00\x07"
    records, failed = native.decode_many(
        [header + good[0], good[1], b"\x00\x00\x00\x00\x08" + good[2]], header
    )
    assert [r["event_id"] for r in records] == ["e-0"]
    assert failed == [1, 2]


def test_decode_block_stops_at_the_first_malformed_record() -> None:
    serde = AvroSerde("live")
    native = native_for(registry.raw_schema("live"))
    recs = [sample("live", event_id=f"e-{i}") for i in range(3)]
    parts = [serde.encode(r) for r in recs]
    data = parts[0] + parts[1] + parts[2]
    assert native.decode_block(data, 0, 3) == (recs, len(data))
    assert native.decode_block(data, len(parts[0]), 2) == (recs[1:], len(data))
    bad = parts[0] + b"\x7f" + parts[2]  # 0x7f: a negative string length
    assert native.decode_block(bad, 0, 3) == ([recs[0]], len(parts[0]))
    assert native.decode_block(data, 0, 4) == (recs, len(data))  # ran out: stops at the end
    # a corrupt block header's count is not trusted for an allocation
    assert native.decode_block(data, 0, 10**15) == (recs, len(data))
    with pytest.raises(ValueError):
        native.decode_block(data, len(data) + 1, 1)


def test_serde_explains_what_the_native_decoder_refuses() -> None:
    serde = AvroSerde("playback")
    data = bytearray(serde.encode(sample("playback")))
    with pytest.raises(DecodeError) as info:
        serde.decode(bytes(data[:-1]))
    assert info.value.reason == "truncated"
    assert "position_ms" in str(info.value)


def _container_with_block(schema: Any, body: bytes, count: int) -> bytes:
    """An Avro container (null codec) whose one block is `count` records in `body`."""
    sync = b"0123456789abcdef"
    head = io.BytesIO()
    fastavro.write.Writer(head, schema, sync_marker=sync).flush()

    def long_bytes(n: int) -> bytes:
        n = (n << 1) ^ (n >> 63)
        out = bytearray()
        while n > 127:
            out.append((n & 127) | 128)
            n >>= 7
        out.append(n)
        return bytes(out)

    return head.getvalue() + long_bytes(count) + long_bytes(len(body)) + body + sync


def test_container_blocks_are_read_whole_and_exactly() -> None:
    from schemas.serde import read_avro_container

    schema = registry.parsed_schema("login")
    serde = AvroSerde("login")
    recs = [sample("login", event_id=f"e-{i}") for i in range(5)]
    body = b"".join(serde.encode(r) for r in recs)
    assert list(read_avro_container(io.BytesIO(_container_with_block(schema, body, 5)))) == recs
    # bytes left over after the block's records: corrupt, and said so
    with pytest.raises(DecodeError, match="bytes after its 4 records"):
        list(read_avro_container(io.BytesIO(_container_with_block(schema, body, 4))))
    # a count larger than the block holds: the careful walker names the problem
    with pytest.raises(DecodeError):
        list(read_avro_container(io.BytesIO(_container_with_block(schema, body, 10**12))))

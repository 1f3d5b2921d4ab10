"""Avro (plain and Confluent-framed) and JSON serialization, and every decode failure."""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle
import struct
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import ConfigError, RDGError
from schemas import registry
from schemas.serde import (
    DECODE_REASONS,
    AvroSerde,
    DecodeError,
    EncodeError,
    JsonSerde,
    confluent_header,
    read_avro_container,
)
from tests.schemas.conftest import TOPICS, TS, sample

SERDES = {
    "plain": lambda t: AvroSerde(t),
    "framed": lambda t: AvroSerde(t, confluent_wire=True, schema_id=42),
    "python": lambda t: AvroSerde(t, decoder="compiled"),
    "python-framed": lambda t: AvroSerde(t, True, 42, decoder="compiled"),
    "fastavro": lambda t: AvroSerde(t, decoder="fastavro"),
    "fastavro-framed": lambda t: AvroSerde(t, True, 42, decoder="fastavro"),
}


@pytest.fixture(params=list(SERDES))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def decode_fails(serde: Any, data: Any, reason: str) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        serde.decode(data)
    assert info.value.reason == reason, str(info.value)
    return info.value


# -- round trips ------------------------------------------------------------------------


def test_avro_round_trip(topic: str, kind: str) -> None:
    serde = SERDES[kind](topic)
    record = sample(topic)
    data = serde.encode(record)
    assert serde.decode(data) == record
    assert type(serde.decode(data)["ts"]) is int


def test_plain_avro_is_what_fastavro_writes(topic: str) -> None:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, registry.parsed_schema(topic), sample(topic))
    assert AvroSerde(topic).encode(sample(topic)) == buf.getvalue()
    got = fastavro.schemaless_reader(
        io.BytesIO(buf.getvalue()), registry.parsed_schema(topic), None
    )
    assert got["ts"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # fastavro alone gives datetimes


def test_confluent_framing_layout(topic: str) -> None:
    plain = AvroSerde(topic).encode(sample(topic))
    framed = AvroSerde(topic, confluent_wire=True, schema_id=0x01020304).encode(sample(topic))
    assert framed == b"\x00\x01\x02\x03\x04" + plain
    assert confluent_header(7) == b"\x00\x00\x00\x00\x07"


def test_framed_decode_without_configured_id_accepts_any_id() -> None:
    data = AvroSerde("login", True, 99).encode(sample("login"))
    assert AvroSerde("login", confluent_wire=True).decode(data) == sample("login")


def test_encode_accepts_a_datetime_ts() -> None:
    serde = AvroSerde("login")
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert serde.decode(serde.encode(sample("login", ts=when)))["ts"] == TS


def test_search_union_round_trip() -> None:
    serde = AvroSerde("search")
    for clicked in (None, "t-1", ""):
        record = sample("search", clicked_title_id=clicked)
        assert serde.decode(serde.encode(record)) == record


def test_schema_given_as_dict_parsed_or_not() -> None:
    raw = registry.raw_schema("gaming")
    for schema in (raw, fastavro.parse_schema(registry.raw_schema("gaming"))):
        serde = AvroSerde(schema)
        assert serde.topic is None
        assert serde.decode(serde.encode(sample("gaming"))) == sample("gaming")


def test_serdes_pickle(kind: str) -> None:
    """Jobs may ship serdes to worker processes."""
    serde = SERDES[kind]("search")
    copy = pickle.loads(pickle.dumps(serde))
    assert repr(copy) == repr(serde) and copy.decoder == serde.decoder
    assert copy.decode(serde.encode(sample("search"))) == sample("search")
    custom = pickle.loads(pickle.dumps(AvroSerde(registry.raw_schema("login"))))
    assert custom.decode(custom.encode(sample("login"))) == sample("login")
    json_copy = pickle.loads(pickle.dumps(JsonSerde("login")))
    assert json_copy.decode(b'{"a": 1}') == {"a": 1} and json_copy.topic == "login"


def test_bytes_likes_are_accepted() -> None:
    serde = AvroSerde("live")
    data = serde.encode(sample("live"))
    assert serde.decode(bytearray(data)) == sample("live")
    assert serde.decode(memoryview(data)) == sample("live")
    with pytest.raises(TypeError, match="expected bytes, got str"):
        serde.decode("text")  # type: ignore[arg-type]


def test_json_round_trip(topic: str) -> None:
    serde = JsonSerde(topic)
    record = sample(topic)
    data = serde.encode(record)
    assert b"\n" not in data
    assert json.loads(data) == record
    assert serde.decode(data) == record


def test_json_keeps_non_ascii_and_newlines_escaped() -> None:
    serde = JsonSerde("search")
    record = sample("search", query="Café\nnoir")
    data = serde.encode(record)
    assert "Café".encode() in data and b"\n" not in data
    assert serde.decode(data) == record


# -- hypothesis: any record that fits the schema survives the trip ---------------------------

LONGS = st.integers(-(2**63), 2**63 - 1)
INTS = st.integers(-(2**31), 2**31 - 1)
RECORDS = {
    "playback": st.fixed_dictionaries(
        {
            "event_id": st.text(),
            "ts": LONGS,
            "account_id": st.text(),
            "profile_id": st.text(),
            "title_id": st.text(),
            "device_id": st.text(),
            "device_type": st.text(),
            "country": st.text(),
            "action": st.sampled_from(["START", "PAUSE", "STOP"]),
            "position_ms": LONGS,
        }
    ),
    "login": st.fixed_dictionaries(
        {
            "event_id": st.text(),
            "ts": LONGS,
            "account_id": st.text(),
            "device_id": st.text(),
            "device_type": st.text(),
            "country": st.text(),
            "success": st.booleans(),
        }
    ),
    "search": st.fixed_dictionaries(
        {
            "event_id": st.text(),
            "ts": LONGS,
            "profile_id": st.text(),
            "query": st.text(),
            "clicked_title_id": st.none() | st.text(),
        }
    ),
    "gaming": st.fixed_dictionaries(
        {
            "event_id": st.text(),
            "ts": LONGS,
            "profile_id": st.text(),
            "game_id": st.text(),
            "device_id": st.text(),
            "device_type": st.text(),
            "session_seconds": INTS,
        }
    ),
    "live": st.fixed_dictionaries(
        {
            "event_id": st.text(),
            "ts": LONGS,
            "profile_id": st.text(),
            "live_event_id": st.text(),
            "device_id": st.text(),
            "device_type": st.text(),
            "action": st.sampled_from(["JOIN", "VOTE", "LEAVE"]),
        }
    ),
}
ANY_RECORD = st.sampled_from(TOPICS).flatmap(lambda t: st.tuples(st.just(t), RECORDS[t]))
_SERDE_CACHE = {(t, k): f(t) for t in TOPICS for k, f in SERDES.items()}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_RECORD, st.sampled_from(list(SERDES)))
def test_round_trip_property(topic_record: tuple[str, dict[str, Any]], kind: str) -> None:
    topic, record = topic_record
    serde = _SERDE_CACHE[(topic, kind)]
    data = serde.encode(record)
    assert serde.decode(data) == record
    assert JsonSerde(topic).decode(JsonSerde(topic).encode(record)) == record
    assert serde.decode_batch([data, data]) == ([record, record], [])


@settings(max_examples=300)
@given(ANY_RECORD, st.data())
def test_fast_decoders_are_never_more_lenient_than_fastavro(
    topic_record: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    """On mangled messages, the native and the generated decoder give the same outcome
    (the same record, or a DecodeError with the same reason), and whatever they accept,
    fastavro accepts identically (fastavro is laxer: booleans other than 0/1, negative
    enum indexes)."""
    topic, record = topic_record
    message = bytearray(_SERDE_CACHE[(topic, "plain")].encode(record))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "append"]))
        if op == "flip" and message:
            message[data.draw(st.integers(0, len(message) - 1))] = data.draw(st.integers(0, 255))
        elif op == "cut" and message:
            del message[data.draw(st.integers(0, len(message) - 1)) :]
        else:
            message += data.draw(st.binary(min_size=1, max_size=3))
    outcomes = []
    for kind in ("plain", "python"):
        try:
            outcomes.append(_SERDE_CACHE[(topic, kind)].decode(bytes(message)))
        except DecodeError as err:
            assert err.reason in DECODE_REASONS
            outcomes.append(err.reason)
    assert outcomes[0] == outcomes[1]
    assert _SERDE_CACHE[(topic, "plain")].decode_batch([bytes(message)])[0] == (
        [outcomes[0]] if isinstance(outcomes[0], dict) else []
    )
    if isinstance(outcomes[0], dict):
        assert _SERDE_CACHE[(topic, "fastavro")].decode(bytes(message)) == outcomes[0]


# -- every decode failure -------------------------------------------------------------------


def test_truncated(topic: str, kind: str) -> None:
    serde = SERDES[kind](topic)
    data = serde.encode(sample(topic))
    start = 5 if serde.confluent_wire else 0
    for cut in range(start, len(data)):
        err = decode_fails(serde, data[:cut], "truncated")
        assert f"{topic} Avro record" in str(err)


def test_truncated_message_names_the_field() -> None:
    data = AvroSerde("login").encode(sample("login"))
    err = decode_fails(AvroSerde("login"), data[:-1], "truncated")
    assert "success" in str(err)
    err = decode_fails(AvroSerde("login"), data[:3], "truncated")
    assert "event_id" in str(err)


def test_empty_and_none(kind: str) -> None:
    serde = SERDES[kind]("playback")
    decode_fails(serde, b"", "truncated")
    decode_fails(serde, None, "truncated")


def test_short_confluent_header() -> None:
    serde = AvroSerde("login", confluent_wire=True, schema_id=1)
    for data in (b"\x00", b"\x00\x00\x00\x01"):
        err = decode_fails(serde, data, "truncated")
        assert "5-byte Confluent header" in str(err)


def test_trailing_bytes(topic: str, kind: str) -> None:
    serde = SERDES[kind](topic)
    err = decode_fails(serde, serde.encode(sample(topic)) + b"\x00", "trailing_bytes")
    assert "1 bytes left over" in str(err)


def test_bad_magic_byte() -> None:
    plain = AvroSerde("live").encode(sample("live"))
    for serde in (AvroSerde("live", True, 3), AvroSerde("live", True)):
        err = decode_fails(serde, plain, "bad_magic")
        assert f"0x{plain[0]:02x}" in str(err)
        decode_fails(serde, b"\x01\x00\x00\x00\x03" + plain, "bad_magic")


def test_wrong_schema_id() -> None:
    data = AvroSerde("live", True, 3).encode(sample("live"))
    err = decode_fails(AvroSerde("live", True, 4), data, "wrong_schema_id")
    assert "schema id 3, expected 4" in str(err)


def _widened(topic: str, extra: str) -> dict[str, Any]:
    schema = registry.raw_schema(topic)
    for field in schema["fields"]:
        if field["name"] == "action":
            field["type"]["symbols"].append(extra)
    return schema


@pytest.mark.parametrize("topic,extra", [("playback", "REWIND"), ("live", "REACT")])
def test_unknown_enum_index(topic: str, extra: str, kind: str) -> None:
    reader = SERDES[kind](topic)
    writer = AvroSerde(_widened(topic, extra), reader.confluent_wire, reader.schema_id)
    data = writer.encode(sample(topic, action=extra))
    err = decode_fails(reader, data, "unknown_enum")
    assert "index 3" in str(err) and "action" in str(err)


def test_negative_enum_index_is_unknown() -> None:
    data = bytearray(AvroSerde("live").encode(sample("live", action="JOIN")))
    assert data[-1] == 0
    data[-1] = 1  # zigzag -1
    decode_fails(AvroSerde("live"), bytes(data), "unknown_enum")


def test_invalid_utf8(kind: str) -> None:
    serde = SERDES[kind]("login")
    data = bytearray(serde.encode(sample("login", event_id="e-1")))
    at = 6 if serde.confluent_wire else 1
    assert data[at : at + 3] == b"e-1"
    data[at] = 0xFF
    err = decode_fails(serde, bytes(data), "invalid_utf8")
    assert "event_id" in str(err)


def test_corrupt_negative_length() -> None:
    data = b"\x01" + AvroSerde("login").encode(sample("login"))[1:]
    err = decode_fails(AvroSerde("login"), data, "corrupt")
    assert "negative length" in str(err)


def test_corrupt_boolean_and_union_branch() -> None:
    data = bytearray(AvroSerde("login").encode(sample("login", success=True)))
    data[-1] = 2
    err = decode_fails(AvroSerde("login"), bytes(data), "corrupt")
    assert "boolean success" in str(err)
    data = bytearray(AvroSerde("search").encode(sample("search", clicked_title_id=None)))
    data[-1] = 4  # branch 2 of a 2-branch union
    err = decode_fails(AvroSerde("search"), bytes(data), "corrupt")
    assert "union branch 2 of clicked_title_id" in str(err)


def test_corrupt_overlong_varint() -> None:
    data = b"\x02e" + b"\xff" * 10 + b"\x01"
    err = decode_fails(AvroSerde("login"), data, "corrupt")
    assert "varint of ts" in str(err)


def test_json_failures() -> None:
    serde = JsonSerde("login")
    decode_fails(serde, b"\xff\xfe{}", "invalid_utf8")
    for bad in (b"", b"{", b'{"a": 1', b"not json", b'{"a": NaN}', b'{"ts": Infinity}'):
        err = decode_fails(serde, bad, "invalid_json")
        assert "login JSON record" in str(err)
    for other in (b"[]", b"1", b'"text"', b"null"):
        decode_fails(serde, other, "not_an_object")
    decode_fails(serde, None, "truncated")


def test_decode_reasons_are_all_covered() -> None:
    assert set(DECODE_REASONS) == {
        "truncated",
        "trailing_bytes",
        "bad_magic",
        "wrong_schema_id",
        "unknown_enum",
        "invalid_utf8",
        "corrupt",
        "invalid_json",
        "not_an_object",
    }


def test_decode_error_is_an_rdg_error_and_pickles() -> None:
    err = decode_fails(AvroSerde("login"), b"", "truncated")
    assert isinstance(err, RDGError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.reason, str(copy)) == (err.reason, str(err))


# -- encode failures, configuration -----------------------------------------------------------


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"action": "REWIND"}, "REWIND"),
        ({"position_ms": "12"}, "position_ms"),
        ({"device_type": None}, "device_type"),
    ],
)
def test_encode_errors_name_the_field(changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(EncodeError, match=needle) as info:
        AvroSerde("playback").encode(sample("playback", **changes))
    assert "event_id='e-1'" in str(info.value)


def test_encode_missing_field() -> None:
    record = sample("playback")
    del record["country"]
    with pytest.raises(EncodeError, match="country"):
        AvroSerde("playback").encode(record)


def test_json_encode_error() -> None:
    with pytest.raises(EncodeError, match="event_id='e-2'"):
        JsonSerde("login").encode(sample("login", country=b"bytes"))
    with pytest.raises(EncodeError):
        JsonSerde("login").encode(sample("login", ts=float("nan")))


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="needs a schema_id"):
        AvroSerde("login", confluent_wire=True).encode(sample("login"))
    with pytest.raises(ConfigError, match="4-byte"):
        AvroSerde("login", confluent_wire=True, schema_id=2**32)
    with pytest.raises(ConfigError, match="unknown topic"):
        AvroSerde("logins")
    with pytest.raises(ConfigError, match="invalid Avro schema"):
        AvroSerde({"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]})
    with pytest.raises(ConfigError, match="decoder"):
        AvroSerde("login", decoder="fast")  # type: ignore[arg-type]


def test_uncompilable_schema_falls_back_to_fastavro() -> None:
    schema = {
        "type": "record",
        "name": "WithArray",
        "fields": [
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }
    serde = AvroSerde(schema)
    assert serde.decoder == "fastavro"
    record = {"tags": ["a", "b"], "at": TS}
    assert serde.decode(serde.encode(record)) == record
    decode_fails(serde, serde.encode(record)[:-1], "truncated")
    decode_fails(serde, serde.encode(record) + b"\x00", "trailing_bytes")


def test_all_supported_types_compile() -> None:
    schema = {
        "type": "record",
        "name": "Everything",
        "fields": [
            {"name": "n", "type": "null"},
            {"name": "b", "type": "boolean"},
            {"name": "i", "type": "int"},
            {"name": "f", "type": "float"},
            {"name": "d", "type": "double"},
            {"name": "raw", "type": "bytes"},
            {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}},
            {"name": "fx2", "type": "F4"},
            {"name": "u", "type": ["null", "long", "string"]},
            {
                "name": "inner",
                "type": {
                    "type": "record",
                    "name": "Inner",
                    "fields": [{"name": "x", "type": "int"}],
                },
            },
        ],
    }
    serde = AvroSerde(schema)
    assert serde.decoder == "compiled"
    record = {
        "n": None,
        "b": False,
        "i": -5,
        "f": 1.5,
        "d": -2.25,
        "raw": b"\x00\xff",
        "fx": b"abcd",
        "fx2": b"wxyz",
        "u": 7,
        "inner": {"x": 3},
    }
    assert serde.decode(serde.encode(record)) == record
    assert AvroSerde(schema, decoder="fastavro").decode(serde.encode(record)) == record
    assert struct.calcsize("<d") == 8


# -- decode_batch -------------------------------------------------------------------------------


def test_decode_batch_separates_failures(kind: str) -> None:
    serde = SERDES[kind]("playback")
    good = [serde.encode(sample("playback", event_id=f"e-{i}")) for i in range(5)]
    messages = [good[0], b"", good[1], good[2][:-2], good[3], None, good[4] + b"x"]
    records, failures = serde.decode_batch(messages)  # type: ignore[arg-type]
    assert [r["event_id"] for r in records] == ["e-0", "e-1", "e-3"]
    assert [(i, e.reason) for i, e in failures] == [
        (1, "truncated"),
        (3, "truncated"),
        (5, "truncated"),
        (6, "trailing_bytes"),
    ]


def test_json_decode_batch() -> None:
    serde = JsonSerde("login")
    records, failures = serde.decode_batch([serde.encode(sample("login")), b"[]", b"{"])
    assert records == [sample("login")]
    assert [(i, e.reason) for i, e in failures] == [(1, "not_an_object"), (2, "invalid_json")]


# -- container files --------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_read_avro_container_gives_int_ts(tmp_path: Path, topic: str, codec: str) -> None:
    path = tmp_path / "part.avro"
    records = [sample(topic, event_id=f"e-{i}", ts=TS + i) for i in range(2500)]
    with open(path, "wb") as fo:
        fastavro.writer(fo, registry.parsed_schema(topic), records, codec=codec, sync_interval=4000)
    assert list(read_avro_container(path)) == records
    with open(path, "rb") as fo:
        assert list(read_avro_container(fo)) == records


def test_read_avro_container_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.avro"
    path.write_bytes(b"not an avro file")
    with pytest.raises(DecodeError, match=r"bad\.avro"):
        list(read_avro_container(path))
    good = tmp_path / "good.avro"
    with open(good, "wb") as fo:
        fastavro.writer(fo, registry.parsed_schema("login"), [sample("login")] * 50)
    cut = tmp_path / "cut.avro"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(DecodeError, match=r"cut\.avro"):
        list(read_avro_container(cut))


def test_decode_batch_keeps_order_when_only_some_messages_are_redone(kind: str) -> None:
    """What the fast path refuses (a bytearray, a bad message) is decoded again alone, and
    the records still come back in input order."""
    serde = SERDES[kind]("login")
    good = [serde.encode(sample("login", event_id=f"e-{i}")) for i in range(4)]
    messages = [good[0], bytearray(good[1]), good[2][:-1], good[3]]
    records, failures = serde.decode_batch(messages)  # type: ignore[arg-type]
    assert [r["event_id"] for r in records] == ["e-0", "e-1", "e-3"]
    assert [(i, e.reason) for i, e in failures] == [(2, "truncated")]

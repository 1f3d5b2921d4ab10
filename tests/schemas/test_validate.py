"""The validation contract, rule by rule, for every topic."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import ConfigError, RDGError
from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.registry import field_names
from schemas.validate import (
    BAD_ID,
    BAD_TS,
    BAD_TYPE,
    EMPTY_QUERY,
    MISSING_FIELD,
    REASONS,
    UNKNOWN_ENUM,
    VALIDATORS,
    InvalidEvent,
    normalize_query,
    validate,
    validator_for,
)
from tests.schemas.conftest import TOPICS, sample

ID_FIELDS = {t: [f for f in field_names(t) if f == "event_id" or f.endswith("_id")] for t in TOPICS}
REQUIRED = {t: [f for f in field_names(t) if f != "clicked_title_id"] for t in TOPICS}
STRING_FIELDS = {
    t: [f for f in field_names(t) if f not in ("ts", "position_ms", "session_seconds", "success")]
    for t in TOPICS
}


def fails(topic: str, record: Any, reason: str, field: str) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        validate(topic, record)
    err = info.value
    assert (err.reason, err.field, err.topic) == (reason, field, topic), str(err)
    assert f"{topic}.{field}" in str(err)
    return err


def test_valid_samples_pass_unchanged(topic: str) -> None:
    assert validate(topic, sample(topic)) == sample(topic)


def test_reason_codes() -> None:
    assert REASONS == (MISSING_FIELD, BAD_TYPE, BAD_ID, BAD_TS, UNKNOWN_ENUM, EMPTY_QUERY)
    assert (MISSING_FIELD, BAD_TYPE, BAD_ID, BAD_TS, UNKNOWN_ENUM, EMPTY_QUERY) == (
        "missing_field",
        "bad_type",
        "bad_id",
        "bad_ts",
        "unknown_enum",
        "empty_query",
    )


def test_result_is_a_new_dict_with_exactly_the_schema_fields(topic: str) -> None:
    record = sample(topic, extra="dropped", another=1)
    out = validate(topic, record)
    assert list(out) == list(field_names(topic))
    assert out is not record
    assert record["extra"] == "dropped"  # input untouched


def test_input_is_not_modified(topic: str) -> None:
    record = sample(topic, event_id="  padded  ")
    before = dict(record)
    validate(topic, record)
    assert record == before


# -- missing_field ----------------------------------------------------------------


@pytest.mark.parametrize("topic,field", [(t, f) for t in TOPICS for f in REQUIRED[t]])
def test_missing_required_field(topic: str, field: str) -> None:
    record = sample(topic)
    del record[field]
    err = fails(topic, record, MISSING_FIELD, field)
    assert "missing" in str(err)


@pytest.mark.parametrize("topic,field", [(t, f) for t in TOPICS for f in REQUIRED[t]])
def test_null_required_field_counts_as_missing(topic: str, field: str) -> None:
    err = fails(topic, sample(topic, **{field: None}), MISSING_FIELD, field)
    assert "null" in str(err)


def test_clicked_title_id_is_optional() -> None:
    record = sample("search")
    del record["clicked_title_id"]
    assert validate("search", record)["clicked_title_id"] is None
    assert validate("search", sample("search", clicked_title_id=None))["clicked_title_id"] is None


def test_first_failing_field_in_schema_order_wins() -> None:
    record = sample("playback", action="NOPE", account_id="")
    del record["country"]
    fails("playback", record, BAD_ID, "account_id")


# -- bad_type -----------------------------------------------------------------------

WRONG_FOR_STRING = [1, 1.5, True, b"bytes", ["x"], {"a": 1}]
WRONG_FOR_INT = ["12", 12.0, 1.5, True, False, b"\x01", [1]]


@pytest.mark.parametrize("topic,field", [(t, f) for t in TOPICS for f in STRING_FIELDS[t]])
@pytest.mark.parametrize("value", WRONG_FOR_STRING, ids=repr)
def test_string_fields_reject_other_types(topic: str, field: str, value: Any) -> None:
    err = fails(topic, sample(topic, **{field: value}), BAD_TYPE, field)
    assert type(value).__name__ in str(err)


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", [*WRONG_FOR_INT, "2026-01-01T00:00:00Z"], ids=repr)
def test_ts_must_be_an_int(topic: str, value: Any) -> None:
    fails(topic, sample(topic, ts=value), BAD_TYPE, "ts")


@pytest.mark.parametrize("value", WRONG_FOR_INT, ids=repr)
def test_position_ms_must_be_an_int(value: Any) -> None:
    fails("playback", sample("playback", position_ms=value), BAD_TYPE, "position_ms")


@pytest.mark.parametrize("value", WRONG_FOR_INT, ids=repr)
def test_session_seconds_must_be_an_int(value: Any) -> None:
    fails("gaming", sample("gaming", session_seconds=value), BAD_TYPE, "session_seconds")


@pytest.mark.parametrize("value", [1, 0, "true", "false", 1.0])
def test_success_must_be_a_bool(value: Any) -> None:
    fails("login", sample("login", success=value), BAD_TYPE, "success")


def test_number_ranges_follow_the_avro_types() -> None:
    for ok in (-(2**63), 2**63 - 1):
        assert validate("playback", sample("playback", position_ms=ok))["position_ms"] == ok
    for bad in (-(2**63) - 1, 2**63):
        fails("playback", sample("playback", position_ms=bad), BAD_TYPE, "position_ms")
    for ok in (-(2**31), 2**31 - 1):
        assert validate("gaming", sample("gaming", session_seconds=ok))["session_seconds"] == ok
    for bad in (-(2**31) - 1, 2**31):
        fails("gaming", sample("gaming", session_seconds=bad), BAD_TYPE, "session_seconds")


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("value", [["x"], "not a record", None, 42])
def test_record_must_be_a_mapping(topic: str, value: Any) -> None:
    with pytest.raises(InvalidEvent) as info:
        validate(topic, value)
    assert info.value.reason == BAD_TYPE


def test_any_mapping_is_accepted() -> None:
    proxy: Mapping[str, Any] = MappingProxyType(sample("login"))
    assert validate("login", proxy) == sample("login")


# -- bad_id -------------------------------------------------------------------------


@pytest.mark.parametrize("topic,field", [(t, f) for t in TOPICS for f in ID_FIELDS[t]])
def test_ids_are_trimmed(topic: str, field: str) -> None:
    out = validate(topic, sample(topic, **{field: " \t id-7 \n"}))
    assert out[field] == "id-7"


@pytest.mark.parametrize("topic,field", [(t, f) for t in TOPICS for f in ID_FIELDS[t]])
@pytest.mark.parametrize("value", ["", " ", "\t\n ", "\u3000"], ids=repr)
def test_empty_ids_are_rejected(topic: str, field: str, value: str) -> None:
    err = fails(topic, sample(topic, **{field: value}), BAD_ID, field)
    assert "empty" in str(err)


@pytest.mark.parametrize("topic,field", [(t, f) for t in TOPICS for f in ID_FIELDS[t]])
def test_ids_longer_than_256_are_rejected(topic: str, field: str) -> None:
    assert validate(topic, sample(topic, **{field: "x" * 256}))[field] == "x" * 256
    err = fails(topic, sample(topic, **{field: "x" * 257}), BAD_ID, field)
    assert "257 characters" in str(err)
    err = fails(topic, sample(topic, **{field: "y" * 300}), BAD_ID, field)
    assert "300" in str(err)
    assert len(str(err)) < 300  # the message shows a shortened value


def test_id_length_is_counted_after_trimming() -> None:
    out = validate("login", sample("login", account_id="  " + "a" * 256 + "  "))
    assert out["account_id"] == "a" * 256


def test_non_id_strings_are_kept_as_given() -> None:
    out = validate("playback", sample("playback", device_type=" TV ", country=""))
    assert (out["device_type"], out["country"]) == (" TV ", "")


# -- bad_ts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ts,ok",
    [
        (TS_MIN_MS - 1, False),  # 1999-12-31T23:59:59.999Z
        (TS_MIN_MS, True),  # 2000-01-01T00:00:00Z
        (TS_MAX_MS - 1, True),  # 2099-12-31T23:59:59.999Z
        (TS_MAX_MS, False),  # 2100-01-01T00:00:00Z
        (915_148_800_000, False),  # 1999-01-01
        (0, False),
        (-1, False),
        (2**62, False),
    ],
)
def test_ts_range(topic: str, ts: int, ok: bool) -> None:
    if ok:
        assert validate(topic, sample(topic, ts=ts))["ts"] == ts
    else:
        err = fails(topic, sample(topic, ts=ts), BAD_TS, "ts")
        assert str(ts) in str(err)


def test_ts_bounds_are_the_documented_dates() -> None:
    import datetime as dt

    assert int(dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp() * 1000) == TS_MIN_MS
    assert int(dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp() * 1000) == TS_MAX_MS


# -- unknown_enum ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic,symbols", [("playback", ("START", "PAUSE", "STOP")), ("live", ("JOIN", "VOTE", "LEAVE"))]
)
def test_enum_symbols(topic: str, symbols: tuple[str, ...]) -> None:
    for symbol in symbols:
        assert validate(topic, sample(topic, action=symbol))["action"] == symbol
    for unknown in ("REWIND", symbols[0].lower(), "", f" {symbols[0]}", "CHEER"):
        err = fails(topic, sample(topic, action=unknown), UNKNOWN_ENUM, "action")
        assert repr(unknown) in str(err)
        assert ", ".join(symbols) in str(err)
    fails(topic, sample(topic, action=0), BAD_TYPE, "action")


# -- empty_query and normalization ----------------------------------------------------


@pytest.mark.parametrize(
    "raw,normalized",
    [
        ("Stranger Things", "stranger things"),
        ("  STRANGER   things  ", "stranger things"),
        ("\tthe\n\ncrown\r\n", "the crown"),
        ("a\u00a0\u00a0b", "a b"),
        ("x", "x"),
        ("ÉCOLE", "école"),
        ("", ""),
        (" \t\n\u3000", ""),
    ],
)
def test_normalize_query(raw: str, normalized: str) -> None:
    assert normalize_query(raw) == normalized


def test_search_query_is_normalized() -> None:
    assert validate("search", sample("search", query=" The  CROWN\t"))["query"] == "the crown"


@pytest.mark.parametrize("query", ["", " ", "\t\n", " \u3000 "], ids=repr)
def test_empty_query(query: str) -> None:
    err = fails("search", sample("search", query=query), EMPTY_QUERY, "query")
    assert repr(query) in str(err)


@given(st.text())
def test_normalize_query_properties(text: str) -> None:
    out = normalize_query(text)
    assert out == out.strip() == out.lower()
    assert "  " not in out
    assert normalize_query(out) == out


# -- properties, dispatch, errors -------------------------------------------------------

ID_TEXT = st.text(min_size=1, max_size=256).filter(lambda s: s.strip() == s and s)


@given(
    st.fixed_dictionaries(
        {
            "event_id": ID_TEXT,
            "ts": st.integers(TS_MIN_MS, TS_MAX_MS - 1),
            "account_id": ID_TEXT,
            "profile_id": ID_TEXT,
            "title_id": ID_TEXT,
            "device_id": ID_TEXT,
            "device_type": st.text(),
            "country": st.text(max_size=3),
            "action": st.sampled_from(["START", "PAUSE", "STOP"]),
            "position_ms": st.integers(-(2**63), 2**63 - 1),
        }
    )
)
def test_valid_playback_records_pass_unchanged(record: dict[str, Any]) -> None:
    assert validate("playback", record) == record


@given(
    st.fixed_dictionaries(
        {
            "event_id": st.text(max_size=300),
            "ts": st.integers(0, 2**45),
            "profile_id": st.text(max_size=3),
            "query": st.text(max_size=20),
        },
        optional={"clicked_title_id": st.none() | st.text(max_size=300)},
    )
)
def test_search_validation_is_idempotent(record: dict[str, Any]) -> None:
    try:
        once = validate("search", record)
    except InvalidEvent as err:
        assert err.reason in REASONS
        return
    assert validate("search", once) == once


def test_validator_for_and_dispatch(topic: str) -> None:
    assert validator_for(topic) is VALIDATORS[topic]
    assert set(VALIDATORS) == set(TOPICS)


def test_unknown_topic() -> None:
    with pytest.raises(ConfigError, match="unknown topic 'nope'"):
        validate("nope", {})


def test_invalid_event_is_an_rdg_error_and_pickles() -> None:
    with pytest.raises(InvalidEvent) as info:
        validate("login", sample("login", device_id=""))
    err = info.value
    assert isinstance(err, RDGError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.reason, copy.topic, copy.field, copy.value, str(copy)) == (
        err.reason,
        err.topic,
        err.field,
        err.value,
        str(err),
    )

"""Batch validation gives exactly what validating each record gives."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import TS_MAX_MS, TS_MIN_MS
from schemas.registry import field_names
from schemas.validate import InvalidEvent, validate
from schemas.validate_batch import FIELDS, batch_validator_for, validate_batch
from tests.schemas.conftest import TOPICS, sample

MUTATIONS = [
    ("keep", None),
    ("set", " padded "),
    ("set", "   "),
    ("set", ""),
    ("set", "x" * 257),
    ("set", " " + "y" * 256 + " "),
    ("set", "  Mixed   CASE  query "),
    ("set", None),
    ("set", 7),
    ("set", True),
    ("set", 1.5),
    ("set", TS_MIN_MS - 1),
    ("set", TS_MAX_MS),
    ("set", TS_MAX_MS - 1),
    ("set", 2**63),
    ("set", 2**31),
    ("set", "PAUSE"),
    ("set", "LEAVE"),
    ("set", "start"),
    ("drop", None),
    ("extra", None),
]


def one_by_one(topic: str, records: list[Any]) -> tuple[list[Any], list[tuple[int, str, str]]]:
    good: list[Any] = []
    bad: list[tuple[int, str, str]] = []
    for i, r in enumerate(records):
        try:
            good.append(validate(topic, r))
        except InvalidEvent as exc:
            bad.append((i, exc.reason, str(exc)))
    return good, bad


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[Any]]:
    topic = draw(st.sampled_from(TOPICS))
    fields = field_names(topic)
    records: list[Any] = []
    for i in range(draw(st.integers(0, 12))):
        record: Any = sample(topic, event_id=f"e-{i}")
        for _ in range(draw(st.integers(0, 2))):
            op, value = draw(st.sampled_from(MUTATIONS))
            name = draw(st.sampled_from(list(fields)))
            if op == "set":
                record[name] = value
            elif op == "drop":
                record.pop(name, None)
            elif op == "extra":
                record["unexpected"] = 1
        if draw(st.integers(0, 30)) == 0:
            record = draw(st.sampled_from([None, ["a"], "text", 3]))
        records.append(record)
    return topic, records


@settings(max_examples=600)
@given(batches())
def test_batch_equals_one_by_one(batch: tuple[str, list[Any]]) -> None:
    topic, records = batch
    before = copy.deepcopy(records)
    good, bad = validate_batch(topic, records)
    expected_good, expected_bad = one_by_one(topic, records)
    assert good == expected_good
    assert [(i, e.reason, str(e)) for i, e in bad] == expected_bad
    assert records == before  # the input is never modified


def test_fields_follow_the_schemas() -> None:
    for topic in TOPICS:
        assert tuple(name for name, _, _ in FIELDS[topic]) == field_names(topic)


def test_valid_records_come_back_as_they_are_and_fixed_ones_as_copies() -> None:
    records = [sample("playback", event_id=f"e-{i}") for i in range(3)]
    records[1]["title_id"] = "  t-2 "
    good, bad = batch_validator_for("playback")(records)
    assert bad == []
    assert good[0] is records[0] and good[2] is records[2]
    assert good[1] is not records[1] and good[1]["title_id"] == "t-2"
    assert records[1]["title_id"] == "  t-2 "


def test_search_queries_are_normalized_and_clicks_optional() -> None:
    records = [
        sample("search", event_id="e-1", query="  Stranger   THINGS "),
        sample("search", event_id="e-2", clicked_title_id=None),
        {k: v for k, v in sample("search", event_id="e-3").items() if k != "clicked_title_id"},
        sample("search", event_id="e-4", clicked_title_id="   "),
        # as many keys as the schema has fields: an absent optional one plus an extra one
        {**records_without_click(), "extra": 1},
    ]
    good, bad = validate_batch("search", records)
    assert [g["query"] for g in good] == ["stranger things"] * 4
    assert [g["clicked_title_id"] for g in good] == ["t-9", None, None, None]
    assert all(set(g) == set(FIELDS_OF_SEARCH) for g in good)
    assert [(i, e.reason, e.field) for i, e in bad] == [(3, "bad_id", "clicked_title_id")]


FIELDS_OF_SEARCH = field_names("search")


def records_without_click() -> dict[str, Any]:
    return {k: v for k, v in sample("search", event_id="e-5").items() if k != "clicked_title_id"}

"""Job specs: one declarative spec per topic (jobs/specs/<topic>.toml), validated by pydantic.

Errors name the file and the field, e.g. ``playback.toml: window.allowed_lateness_ms:
Input should be greater than or equal to 0``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import ConfigError
from schemas.registry import TOPICS

__all__ = ["JobSpec", "all_specs", "load_spec", "spec_dir", "spec_for"]

SPEC_DIR = Path(__file__).resolve().parent / "specs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DedupSpec(_Strict):
    window_ms: int = Field(
        3_600_000,
        gt=0,
        description="an event_id seen again within this much event time is a duplicate",
    )


class WindowSpec(_Strict):
    bucket_ms: int = Field(3_600_000, gt=0, description="activity bucket size (event time)")
    allowed_lateness_ms: int = Field(60_000, ge=0)
    out_of_orderness_ms: int = Field(10_000, ge=0, description="watermark = max ts - this")
    idle_timeout_ms: int = Field(30_000, ge=0, description="0 = partitions never count as idle")


class OutputsSpec(_Strict):
    dead_letter_topic: str = Field("{topic}.deadletter", min_length=1)
    late_topic: str = Field("{topic}.late", min_length=1)


class JobSpec(_Strict):
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$", description="job and consumer-group name"
    )
    topic: str
    kafka_topic: str | None = Field(
        None, description="the Kafka topic, if not named like the schema"
    )
    transform: Literal["graph"] = "graph"
    serialization: Literal["avro", "avro-confluent", "json"] = "avro"
    schema_id: int | None = Field(None, ge=0, description="Confluent schema id (avro-confluent)")
    parallelism: int = Field(
        1, ge=1, le=64, description="worker processes sharing the consumer group"
    )
    checkpoint_interval_ms: int = Field(10_000, ge=0)
    flush_interval_ms: int = Field(1_000, gt=0, description="graph writes are coalesced this long")
    start: str = Field("committed", description="committed | earliest | latest | epoch ms")
    store: str | None = Field(None, description="graph store URL; default: the configured store")
    dedup: DedupSpec = DedupSpec()
    window: WindowSpec = WindowSpec()
    outputs: OutputsSpec = OutputsSpec()

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, v: str) -> str:
        if v not in TOPICS:
            raise ValueError(f"unknown topic {v!r}; known: {', '.join(TOPICS)}")
        return v

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        if v not in ("committed", "earliest", "latest") and not v.isdigit():
            raise ValueError("must be committed, earliest, latest or epoch milliseconds")
        return v

    @property
    def source_topic(self) -> str:
        return self.kafka_topic or self.topic

    @property
    def dead_letter_topic(self) -> str:
        return self.outputs.dead_letter_topic.format(topic=self.source_topic)

    @property
    def late_topic(self) -> str:
        return self.outputs.late_topic.format(topic=self.source_topic)


def spec_dir(override: str | Path | None = None) -> Path:
    return Path(override) if override else SPEC_DIR


def load_spec(path: str | Path) -> JobSpec:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read job spec {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"job spec {path} is not valid TOML: {exc}") from exc
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid job spec {path.name}: {problems}") from None


def all_specs(directory: str | Path | None = None) -> dict[str, JobSpec]:
    """Every spec in the directory, by topic."""
    d = spec_dir(directory)
    files = sorted(d.glob("*.toml"))
    if not files:
        raise ConfigError(f"no job specs (*.toml) in {d}")
    specs: dict[str, JobSpec] = {}
    for f in files:
        s = load_spec(f)
        if s.topic in specs:
            raise ConfigError(f"two job specs for topic {s.topic!r} in {d}")
        specs[s.topic] = s
    return specs


def spec_for(topic: str, directory: str | Path | None = None) -> JobSpec:
    specs = all_specs(directory)
    if topic not in specs:
        raise ConfigError(f"no job for topic {topic!r}; jobs exist for: {', '.join(sorted(specs))}")
    return specs[topic]

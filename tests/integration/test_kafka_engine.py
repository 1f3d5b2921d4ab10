"""The engine against the real Kafka broker: crash recovery, rebalance, poison messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ingest.kafka import admin
from schemas.serde import AvroSerde

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 10_000
BASE_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
# event times lie months back: keep the broker from expiring them by time mid-test
KEEP = {"retention.ms": "-1"}


def _events(n: int, profiles: int = 60) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e{i}",
            "ts": BASE_TS + i * 7,
            "account_id": f"a{i % profiles // 3}",
            "profile_id": f"p{i % profiles}",
            "title_id": f"t{i % 17}",
            "device_id": f"d{i % 5}",
            "device_type": "tv",
            "country": "NL",
            "action": "START",
            "position_ms": i,
        }
        for i in range(n)
    ]


def _produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes, int]]) -> None:
    from confluent_kafka import Producer

    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
        }
    )
    for key, value, ts in items:
        p.produce(topic, value, key, timestamp=ts)
        p.poll(0)
    assert p.flush(60) == 0


def _produce_events(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    serde = AvroSerde("playback")
    _produce(
        bootstrap, topic, [(e["profile_id"].encode(), serde.encode(e), e["ts"]) for e in events]
    )


def _expected(events: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    c: Counter[tuple[str, int]] = Counter()
    for e in events:
        c[(e["profile_id"], e["ts"] - e["ts"] % WINDOW)] += 1
    return dict(c)


def _job(bootstrap: str, topic: str, group: str, ckpt: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.integration.kafka_job",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--group",
        group,
        "--checkpoints",
        str(ckpt),
        "--out",
        str(out),
        *extra,
    ]


def _upserts(*paths: Path) -> list[tuple[tuple[str, int], int]]:
    rows = []
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                r = json.loads(line)
                rows.append(((r["profile"], r["start"]), r["count"]))
    return rows


def _wait_for(cond: Any, what: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            pytest.fail(
                f"the job exited ({proc.returncode}) before {what}: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_sigkill_mid_stream_then_restart_gives_exact_result(
    kafka_bootstrap: str, fresh_topic: str, tmp_path: Path
) -> None:
    admin.create_topic(kafka_bootstrap, fresh_topic, 4, config=KEEP)
    events = _events(12_000)
    _produce_events(kafka_bootstrap, fresh_topic, events)
    group = f"g-{uuid.uuid4().hex[:8]}"
    ckpt, out = tmp_path / "ckpt", tmp_path / "out.jsonl"
    cmd = _job(
        kafka_bootstrap, fresh_topic, group, ckpt, out, "--batch", "200", "--poll-delay-ms", "20"
    )
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        manifests = ckpt / "manifests"
        _wait_for(
            lambda: manifests.is_dir() and len(list(manifests.glob("chk-*.json"))) >= 2,
            "two checkpoints",
            proc,
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # the killed run left committed offsets behind the end
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["restored"] == ["0", "1", "2", "3"]
    assert 0 < summary["records_in"] < len(events)  # it resumed, it did not start over
    final = dict(_upserts(out))
    assert final == _expected(events)


def test_two_workers_rebalance_nothing_lost_or_double_counted(
    kafka_bootstrap: str, fresh_topic: str, tmp_path: Path
) -> None:
    admin.create_topic(kafka_bootstrap, fresh_topic, 4, config=KEEP)
    events = _events(16_000)
    _produce_events(kafka_bootstrap, fresh_topic, events)
    group = f"g-{uuid.uuid4().hex[:8]}"
    ckpt = tmp_path / "ckpt"
    out_a, out_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    slow = ("--batch", "100", "--poll-delay-ms", "25")
    a = subprocess.Popen(
        _job(kafka_bootstrap, fresh_topic, group, ckpt, out_a, "--worker", "wa", *slow),
        cwd=ROOT,
        env=_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    b = None
    try:
        manifests = ckpt / "manifests"
        _wait_for(
            lambda: manifests.is_dir() and any(manifests.glob("chk-*.json")),
            "a checkpoint of worker A",
            a,
        )
        b = subprocess.Popen(
            _job(kafka_bootstrap, fresh_topic, group, ckpt, out_b, "--worker", "wb", *slow),
            cwd=ROOT,
            env=_env(),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out_a_text, err_a = a.communicate(timeout=300)
        out_b_text, err_b = b.communicate(timeout=300)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    sa = json.loads(out_a_text.strip().splitlines()[-1])
    sb = json.loads(out_b_text.strip().splitlines()[-1])
    # both really worked on the stream: B joined mid-stream and took partitions over
    assert sa["records_in"] > 0 and sb["records_in"] > 0
    assert sa["records_in"] + sb["records_in"] == len(events)  # nothing read twice
    rows = _upserts(out_a, out_b)
    keys = Counter(k for k, _ in rows)
    assert all(n == 1 for n in keys.values()), "a window result was emitted twice"
    assert dict(rows) == _expected(events)


def test_poison_messages_go_to_dead_letter_topic_with_reasons(
    kafka_bootstrap: str, fresh_topic: str, tmp_path: Path
) -> None:
    from confluent_kafka import Consumer

    admin.create_topic(kafka_bootstrap, fresh_topic, 2, config=KEEP)
    dlq = f"{fresh_topic}-dlq"
    admin.create_topic(kafka_bootstrap, dlq, 1, config=KEEP)
    serde = AvroSerde("playback")
    events = _events(3000)
    items: list[tuple[bytes, bytes, int]] = []
    poison = [b"\xff\xfe not avro", b"", b"\x02\x04garbage-after-a-valid-prefix"]
    for i, e in enumerate(events):
        items.append((e["profile_id"].encode(), serde.encode(e), e["ts"]))
        if i % 1000 == 500:
            for bad in poison:
                items.append((e["profile_id"].encode(), bad, e["ts"]))
    _produce(kafka_bootstrap, fresh_topic, items)
    try:
        out = tmp_path / "out.jsonl"
        done = subprocess.run(
            _job(
                kafka_bootstrap,
                fresh_topic,
                f"g-{uuid.uuid4().hex[:8]}",
                tmp_path / "ck",
                out,
                "--dlq",
                dlq,
            ),
            cwd=ROOT,
            env=_env(),
            text=True,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["dead_letters"] == 3 * len(poison)
        assert dict(_upserts(out)) == _expected(events)  # every good record counted

        c = Consumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "group.id": f"v-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
            }
        )
        c.subscribe([dlq])
        got: list[Any] = []
        deadline = time.monotonic() + 30
        while len(got) < 3 * len(poison) and time.monotonic() < deadline:
            got.extend(m for m in c.consume(100, 1.0) if m.error() is None)
        c.close()
        assert sorted(m.value() for m in got) == sorted(poison * 3)
        for m in got:
            headers = {k: v.decode() for k, v in m.headers() or []}
            assert headers["rdg.reason"]
            assert headers["rdg.source.topic"] == fresh_topic
            assert headers["rdg.source.partition"] in ("0", "1")
            assert int(headers["rdg.source.offset"]) >= 0
    finally:
        admin.delete_topic(kafka_bootstrap, dlq, missing_ok=True)

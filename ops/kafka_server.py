"""A single-node Apache Kafka 3.9 (KRaft, broker and controller in one JVM) for local tests."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
from pathlib import Path

from ops.common import HOST, ClusterError
from ops.server import Server

__all__ = ["KafkaServer", "new_cluster_id"]

log = logging.getLogger(__name__)

DEDUPE_BUFFER_BYTES = 8 * 1024 * 1024
"""The log cleaner's dedupe buffer lives on the heap (128 MiB by default): too much for 512m."""

HEAP = ["-Xms512m", "-Xmx512m"]
GC = [
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, url-safe base64 without padding (22 chars)."""
    return base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")


class KafkaServer(Server):
    name = "kafka"
    main_class = "kafka.Kafka"

    @property
    def port(self) -> int:
        return self.settings.kafka_port

    @property
    def ports(self) -> dict[str, int]:
        return {"client": self.port, "controller": self.settings.kafka_controller_port}

    @property
    def ready_timeout(self) -> float:
        return self.settings.kafka_ready_timeout

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def render_configs(self) -> None:
        self.render(
            "server.properties",
            {
                "host": HOST,
                "port": self.port,
                "controller_port": self.settings.kafka_controller_port,
                "data_dir": self.data_dir,
                "dedupe_buffer_bytes": DEDUPE_BUFFER_BYTES,
            },
        )
        self.render("log4j.properties", {})

    def _logging_args(self) -> list[str]:
        return [
            f"-Dlog4j.configuration=file:{self.conf_dir / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
        ]

    def jvm_args(self, lib: Path) -> list[str]:
        return [*HEAP, *GC, *self._logging_args()]

    def app_args(self) -> list[str]:
        return [str(self.conf_dir / "server.properties")]

    def prepare(self, java: str, lib: Path) -> None:
        """Format the KRaft storage once; a formatted data dir is left as it is."""
        if (self.data_dir / "meta.properties").exists():
            return
        cmd = [
            java,
            "-Xmx256m",
            *self._logging_args(),
            "-cp",
            f"{lib}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(self.conf_dir / "server.properties"),
            "-g",
        ]
        log.debug("kafka: %s", " ".join(cmd))
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=120, check=False, cwd=self.home
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError("kafka: formatting the storage took over 120 s") from exc
        if proc.returncode != 0:
            out = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
            raise ClusterError(
                f"kafka: formatting {self.data_dir} failed (exit {proc.returncode}):\n{out}\n"
                "If the data dir is damaged, `make clean` wipes the cluster state."
            )

    def probe(self, timeout: float) -> str | None:
        """A metadata request through confluent_kafka that lists at least one broker."""
        try:
            from confluent_kafka import KafkaException
            from confluent_kafka.admin import AdminClient
        except ImportError as exc:
            raise ClusterError(
                "confluent-kafka is needed to check Kafka: pip install 'rdg[kafka]'"
            ) from exc
        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap,
                "socket.timeout.ms": max(1000, int(timeout * 1000)),
                "log_level": 0,
            }
        )
        try:
            metadata = admin.list_topics(timeout=timeout)
        except KafkaException as exc:
            return f"metadata request failed: {exc.args[0] if exc.args else exc}"
        if not metadata.brokers:
            return "metadata lists no broker yet"
        return None

"""Settings from the environment, rendered configs and JVM command lines (no servers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.errors import ConfigError
from ops.cassandra_server import CassandraServer
from ops.common import REPO_ROOT, ClusterError, Settings
from ops.kafka_server import KafkaServer, new_cluster_id
from ops.maven import pom_version


def _properties(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def test_settings_defaults_and_overrides(tmp_path: Path):
    default = Settings.from_env({"HOME": str(tmp_path)})
    assert default.state_dir == REPO_ROOT / ".cluster"
    assert (default.kafka_port, default.kafka_controller_port) == (9092, 9093)
    assert (default.cassandra_port, default.cassandra_storage_port) == (9042, 7000)
    assert default.jar_cache == Path(tmp_path) / ".cache" / "rdg" / "jars"
    assert (default.kafka_ready_timeout, default.cassandra_ready_timeout) == (90.0, 180.0)

    custom = Settings.from_env(
        {
            "RDG_CLUSTER_DIR": str(tmp_path / "st"),
            "RDG_CACHE_DIR": str(tmp_path / "c"),
            "RDG_KAFKA_PORT": "19092",
            "RDG_CASSANDRA_PORT": "19042",
        }
    )
    assert custom.state_dir == tmp_path / "st"
    assert custom.jar_cache == tmp_path / "c" / "jars"
    assert (custom.kafka_port, custom.cassandra_port) == (19092, 19042)


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_is_a_config_error_naming_the_variable(value: str):
    with pytest.raises(ConfigError, match="RDG_KAFKA_PORT"):
        Settings.from_env({"RDG_KAFKA_PORT": value})


def test_kafka_config_binds_loopback_only(settings: Settings):
    server = KafkaServer(settings)
    server.render_configs()
    props = _properties(server.conf_dir / "server.properties")
    port, controller = settings.kafka_port, settings.kafka_controller_port
    assert props["listeners"] == f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"
    assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{port}"
    assert props["controller.quorum.voters"] == f"1@127.0.0.1:{controller}"
    assert props["process.roles"] == "broker,controller"
    assert props["log.dirs"] == str(server.data_dir)
    assert Path(props["log.dirs"]).is_absolute()
    assert int(props["log.cleaner.dedupe.buffer.size"]) <= 16 * 1024 * 1024
    assert props["offsets.topic.replication.factor"] == "1"
    text = (server.conf_dir / "server.properties").read_text()
    assert "0.0.0.0" not in text and "${" not in text
    assert "ConsoleAppender" in (server.conf_dir / "log4j.properties").read_text()


def test_cassandra_config_binds_loopback_and_is_light(settings: Settings):
    server = CassandraServer(settings)
    server.render_configs()
    yaml = (server.conf_dir / "cassandra.yaml").read_text()
    assert "listen_address: 127.0.0.1" in yaml
    assert "rpc_address: 127.0.0.1" in yaml
    assert f"native_transport_port: {settings.cassandra_port}" in yaml
    assert f"storage_port: {settings.cassandra_storage_port}" in yaml
    assert f'seeds: "127.0.0.1:{settings.cassandra_storage_port}"' in yaml
    assert "num_tokens: 1" in yaml
    assert "auto_snapshot: false" in yaml
    assert f"{server.data_dir}/commitlog" in yaml
    assert "crypto_provider" not in yaml  # its provider jar is not on the runtime classpath
    assert "0.0.0.0" not in yaml and "${" not in yaml
    assert "ConsoleAppender" in (server.conf_dir / "logback.xml").read_text()


def test_kafka_command_line(settings: Settings, tmp_path: Path):
    lib = tmp_path / "lib"
    cmd = KafkaServer(settings).command("/usr/bin/java", lib)
    assert cmd[0] == "/usr/bin/java"
    assert {"-Xms512m", "-Xmx512m", "-XX:+UseG1GC"} <= set(cmd)
    assert cmd[cmd.index("-cp") + 1] == f"{lib}/*"  # the JVM expands it, not a shell
    assert cmd[-2:] == ["kafka.Kafka", str(settings.state_dir / "kafka/conf/server.properties")]
    assert f"-Drdg.cluster.dir={settings.state_dir}" in cmd
    assert any(a.startswith("-Dlog4j.configuration=file:/") for a in cmd)


def test_cassandra_command_line(settings: Settings, tmp_path: Path):
    lib = tmp_path / "lib"
    server = CassandraServer(settings)
    with pytest.raises(ClusterError, match="jamm"):
        server.command("/usr/bin/java", lib)
    lib.mkdir()
    (lib / "jamm-0.4.0.jar").touch()
    cmd = server.command("/usr/bin/java", lib)
    assert {"-Xms1G", "-Xmx1G", "-Dcassandra-foreground=yes"} <= set(cmd)
    assert f"-javaagent:{lib}/jamm-0.4.0.jar" in cmd
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in cmd
    assert "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED" in cmd
    assert f"-Dcassandra.config=file://{server.conf_dir}/cassandra.yaml" in cmd
    assert cmd[-1] == "org.apache.cassandra.service.CassandraDaemon"


def test_cluster_id_is_16_bytes_urlsafe_base64():
    ids = {new_cluster_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)


def test_poms_pin_versions_and_dependency_plugin():
    poms = REPO_ROOT / "ops" / "poms"
    assert pom_version(poms / "kafka" / "pom.xml") == "3.9.1"
    assert pom_version(poms / "cassandra" / "pom.xml") == "5.0.6"
    for name in ("kafka", "cassandra"):
        text = (poms / name / "pom.xml").read_text()
        assert "<packaging>pom</packaging>" in text
        assert "<version>3.6.1</version>" in text
    kafka = (poms / "kafka" / "pom.xml").read_text()
    assert "slf4j-reload4j" in kafka and "<version>1.7.36</version>" in kafka
    assert "<version>1.2.25</version>" in kafka

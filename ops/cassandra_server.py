"""A single Apache Cassandra 5.0 node on Java 17, run straight from the Maven classpath."""

from __future__ import annotations

import logging
from pathlib import Path

from ops.common import HOST, ClusterError
from ops.server import Server

__all__ = ["JAVA17_MODULE_FLAGS", "CassandraServer"]

log = logging.getLogger(__name__)

HEAP = ["-Xms1G", "-Xmx1G", "-Xss256k"]
GC = [
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    "-XX:+ExitOnOutOfMemoryError",
]

_EXPORTS = [
    "java.base/jdk.internal.misc",
    "java.base/jdk.internal.ref",
    "java.base/sun.nio.ch",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.management/com.sun.jmx.remote.security",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
]
_OPENS = [
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "java.base/sun.nio.ch",
    "java.base/java.io",
    "java.base/java.lang.reflect",
    "java.base/java.lang",
    "java.base/java.util",
    "java.base/java.nio",
    "jdk.management/com.sun.management.internal",
]
JAVA17_MODULE_FLAGS = [
    "-Djdk.attach.allowAttachSelf=true",
    *(f"--add-exports={m}=ALL-UNNAMED" for m in _EXPORTS),
    *(f"--add-opens={m}=ALL-UNNAMED" for m in _OPENS),
]
"""What Cassandra's conf/jvm17-server.options grants; without them start-up fails on 17."""


class CassandraServer(Server):
    name = "cassandra"
    main_class = "org.apache.cassandra.service.CassandraDaemon"

    @property
    def port(self) -> int:
        return self.settings.cassandra_port

    @property
    def ports(self) -> dict[str, int]:
        return {"client": self.port, "storage": self.settings.cassandra_storage_port}

    @property
    def ready_timeout(self) -> float:
        return self.settings.cassandra_ready_timeout

    def render_configs(self) -> None:
        self.render(
            "cassandra.yaml",
            {
                "host": HOST,
                "port": self.port,
                "storage_port": self.settings.cassandra_storage_port,
                "data_dir": self.data_dir,
            },
        )
        self.render("logback.xml", {})

    def jvm_args(self, lib: Path) -> list[str]:
        jamm = sorted(lib.glob("jamm-*.jar"))
        if not jamm:
            raise ClusterError(
                f"cassandra: no jamm-*.jar in {lib} (needed as -javaagent); the jar cache looks "
                f"incomplete: delete {lib} and run `make up` again"
            )
        return [
            *HEAP,
            *GC,
            "-ea",
            f"-javaagent:{jamm[-1]}",
            *JAVA17_MODULE_FLAGS,
            "-Djava.net.preferIPv4Stack=true",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-Dio.netty.allocator.useCacheForAllThreads=true",
            "-Dio.netty.allocator.maxOrder=11",
            f"-Dcassandra.config=file://{self.conf_dir / 'cassandra.yaml'}",
            f"-Dcassandra.storagedir={self.data_dir}",
            f"-Dcassandra.logdir={self.home / 'logs'}",
            f"-Dlogback.configurationFile={self.conf_dir / 'logback.xml'}",
            "-Dcassandra-foreground=yes",  # otherwise the daemon closes stdout/stderr
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            "-Dcassandra.load_ring_state=false",
            "-Dcassandra.unsafesystem=true",  # no fsync of system tables: tests only
            # Measure the memtable row overhead in 100 steps, not 100k (3 s of start-up).
            "-Dcassandra.memtable_row_overhead_computation_step=100",
            "-Dchronicle.analytics.disable=true",
        ]

    def app_args(self) -> list[str]:
        return []

    def probe(self, timeout: float) -> str | None:
        """Connect with cassandra-driver and run `SELECT release_version FROM system.local`."""
        try:
            from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
            from cassandra.policies import RoundRobinPolicy
        except ImportError as exc:
            raise ClusterError(
                "cassandra-driver is needed to check Cassandra: pip install 'rdg[cassandra]'"
            ) from exc
        profile = ExecutionProfile(
            load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout
        )
        cluster = Cluster(
            [HOST],
            port=self.port,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=timeout,
            control_connection_timeout=timeout,
        )
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
        except Exception as exc:  # the driver raises many kinds; any means "not ready"
            return f"CQL query failed: {type(exc).__name__}: {exc}"
        finally:
            cluster.shutdown()
        if row is None:
            return "system.local returned no row"
        return None

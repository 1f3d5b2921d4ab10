"""Grouped, windowed, retried asynchronous writes.

Mutations are grouped by partition key into UNLOGGED single-partition batches (one
mutation on the replica, no batchlog), at most ``concurrency`` requests are in flight,
and timeouts / unavailable / overload errors are retried with exponential backoff and
jitter. Every statement carries explicit cell timestamps, so a retry or a duplicate
delivery cannot change the outcome: all writes are idempotent.
"""

from __future__ import annotations

import heapq
import logging
import queue
import random
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphstore.cassandra.driver import require_driver
from ingest.errors import BackpressureError, ConnectorError

__all__ = ["AsyncWriter", "Binder", "MutationGroups", "map_driver_error"]

log = logging.getLogger(__name__)


class Binder:
    """Binds values to a prepared write statement, serialising with its column types.

    ``PreparedStatement.bind`` builds a namedtuple per value for its column-encryption
    lookup; on bulk loads that was most of the client CPU (about 3.5x slower than this).
    The result is an ordinary ``BoundStatement``.
    """

    __slots__ = ("_serializers", "prepared", "protocol_version")

    def __init__(
        self,
        prepared: Any,
        protocol_version: int,
        overrides: dict[int, Callable[[Any, int], bytes]] | None = None,
    ) -> None:
        self.prepared = prepared
        self.protocol_version = protocol_version
        self._serializers = [column.type.serialize for column in prepared.column_metadata]
        for index, serializer in (overrides or {}).items():
            self._serializers[index] = serializer

    def bind(self, values: tuple[Any, ...]) -> Any:
        from cassandra.query import BoundStatement

        if len(values) != len(self._serializers):
            raise TypeError(
                f"{len(values)} values for {len(self._serializers)} markers in "
                f"{self.prepared.query_string!r}"
            )
        bound = BoundStatement(self.prepared)
        version = self.protocol_version
        bound.values = [ser(v, version) for ser, v in zip(self._serializers, values, strict=True)]
        return bound


@dataclass
class MutationGroups:
    """Bound-statement parameters grouped by (table, partition key)."""

    groups: dict[Hashable, list[tuple[Binder, tuple[Any, ...]]]] = field(default_factory=dict)
    count: int = 0

    def add(self, partition: Hashable, binder: Binder, values: tuple[Any, ...]) -> None:
        group = self.groups.get(partition)
        if group is None:
            self.groups[partition] = [(binder, values)]
        else:
            group.append((binder, values))
        self.count += 1

    def statements(
        self,
        max_batch: int,
        consistency: Any,
        replica_of: Callable[[Any], Hashable] | None = None,
        max_pooled_partitions: int = 10,
    ) -> Iterator[Any]:
        """Lazily bind into requests.

        A partition with several mutations becomes UNLOGGED single-partition batches of
        <= ``max_batch`` statements (one mutation on the replica). Partitions with a single
        mutation (e.g. the per-edge bucket rows) are pooled by replica into UNLOGGED batches
        of <= ``max_pooled_partitions`` partitions, so bulk loads send far fewer requests;
        10 stays at Cassandra's default unlogged_batch_across_partitions_warn_threshold.
        """
        require_driver()
        from cassandra.query import BatchStatement, BatchType

        def new_batch() -> Any:
            return BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=consistency)

        def finish(stmt: Any) -> Any:
            stmt.consistency_level = consistency
            stmt.is_idempotent = True
            return stmt

        pools: dict[Hashable, Any] = {}
        for group in self.groups.values():
            if len(group) == 1 and replica_of is not None and max_pooled_partitions > 1:
                binder, values = group[0]
                bound = binder.bind(values)
                replica = replica_of(bound)
                pool = pools.get(replica)
                if pool is None:
                    pool = pools[replica] = new_batch()
                pool.add(bound)
                if len(pool) >= max_pooled_partitions:
                    yield finish(pool)
                    del pools[replica]
                continue
            for start in range(0, len(group), max_batch):
                chunk = group[start : start + max_batch]
                if len(chunk) == 1:
                    binder, values = chunk[0]
                    yield finish(binder.bind(values))
                    continue
                batch = new_batch()
                for binder, values in chunk:
                    batch.add(binder.bind(values))
                yield finish(batch)
        for pool in pools.values():
            yield finish(pool)


def _error_classes() -> tuple[tuple[type[BaseException], ...], type[BaseException]]:
    require_driver()
    from cassandra import OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
    from cassandra.cluster import NoHostAvailable
    from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage

    retryable = (
        WriteTimeout,
        ReadTimeout,
        Unavailable,
        OperationTimedOut,
        OverloadedErrorMessage,
        IsBootstrappingErrorMessage,
        NoHostAvailable,
    )
    return retryable, NoHostAvailable


def map_driver_error(exc: BaseException, target: str, action: str, attempts: int = 1) -> Exception:
    """Turn a driver exception into the product's errors, naming the cluster and the fix."""
    retryable, no_host = _error_classes()
    tries = f" after {attempts} attempt(s)" if attempts > 1 else ""
    if isinstance(exc, no_host):
        return ConnectorError(
            f"Cassandra at {target} is unreachable while trying to {action}{tries}: {exc}. "
            "Is the local cluster up? Start it with `make up` (or check RDG_CASSANDRA_HOSTS)"
        )
    if isinstance(exc, retryable):
        return BackpressureError(
            f"Cassandra at {target} is overloaded or timing out while trying to {action}{tries} "
            f"({type(exc).__name__}: {exc}); retry later, or lower the store's concurrency option"
        )
    return ConnectorError(f"Cassandra at {target} rejected a request to {action}: {exc}")


class AsyncWriter:
    """Runs statements with a bounded window of in-flight requests and bounded retries."""

    def __init__(
        self,
        session: Any,
        target: str,
        *,
        concurrency: int = 64,
        max_attempts: int = 5,
        backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
    ) -> None:
        self._session = session
        self._target = target
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._retryable, _ = _error_classes()

    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)

    def execute(self, statements: Iterable[Any], action: str = "write") -> tuple[int, int]:
        """Run every statement; returns (requests sent, retries). Raises on final failure."""
        done: queue.SimpleQueue[tuple[Any, int, BaseException | None]] = queue.SimpleQueue()
        retry_heap: list[tuple[float, int, Any, int]] = []
        source = iter(statements)
        exhausted = False
        inflight = sent = retries = seq = 0
        failure: tuple[BaseException, int] | None = None

        def on_ok(_result: Any, stmt: Any, attempt: int) -> None:
            done.put((stmt, attempt, None))

        def on_error(exc: BaseException, stmt: Any, attempt: int) -> None:
            done.put((stmt, attempt, exc))

        def submit(stmt: Any, attempt: int) -> None:
            future = self._session.execute_async(stmt)
            future.add_callbacks(
                on_ok, on_error, callback_args=(stmt, attempt), errback_args=(stmt, attempt)
            )

        while True:
            now = time.monotonic()
            while failure is None and inflight < self.concurrency:
                if retry_heap and retry_heap[0][0] <= now:
                    _, _, stmt, attempt = heapq.heappop(retry_heap)
                    submit(stmt, attempt)
                elif not exhausted:
                    try:
                        stmt = next(source)
                    except StopIteration:
                        exhausted = True
                        continue
                    submit(stmt, 1)
                    sent += 1
                else:
                    break
                inflight += 1
            if inflight == 0:
                if failure is not None:
                    exc, attempts = failure
                    raise map_driver_error(exc, self._target, action, attempts) from exc
                if exhausted and not retry_heap:
                    return sent, retries
                if retry_heap:
                    time.sleep(max(0.0, retry_heap[0][0] - time.monotonic()))
                continue
            timeout = max(0.0, retry_heap[0][0] - now) if retry_heap and failure is None else None
            try:
                stmt, attempt, error = done.get(timeout=timeout)
            except queue.Empty:
                continue
            inflight -= 1
            if error is None or failure is not None:
                continue
            if isinstance(error, self._retryable) and attempt < self.max_attempts:
                delay = self._delay(attempt)
                log.warning(
                    "Cassandra %s: %s on attempt %d, retrying in %.0f ms",
                    self._target,
                    type(error).__name__,
                    attempt,
                    delay * 1000,
                )
                heapq.heappush(retry_heap, (time.monotonic() + delay, seq, stmt, attempt + 1))
                seq += 1
                retries += 1
            else:
                failure = (error, attempt)
                retry_heap.clear()

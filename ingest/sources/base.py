"""The source contract (Flink's split reader, Kafka's assignment model).

The runtime opens a source with an assignment listener.  Static sources assign all their
partitions at once; the Kafka source assigns and revokes as the consumer group rebalances.
On assignment the listener restores each partition's state and returns its start position
(``None`` = the source's default start).  ``poll`` never blocks longer than its timeout and
returns at most one batch per partition, in a deterministic order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["AssignmentListener", "PartitionBatch", "Source"]


@dataclass(slots=True)
class PartitionBatch:
    partition: str
    values: list[Any]
    # Event times supplied by the source (e.g. the Kafka record timestamp); None when the
    # source has none and the watermark strategy's timestamp assigner must provide them.
    timestamps: list[int] | None
    # Position to resume from after this batch (record index, Kafka offset + 1, ...).
    next_position: Any
    end_of_partition: bool = False


class AssignmentListener(Protocol):
    def on_assigned(self, partitions: list[str]) -> dict[str, Any]: ...
    def on_revoked(self, partitions: list[str]) -> None: ...
    def on_started(self, positions: dict[str, Any]) -> None:
        """The positions the source actually starts from (after resolving e.g. the
        committed offset), so a checkpoint taken before a partition's first record still
        records where it stands."""


class Source(ABC):
    """A partitioned, replayable input."""

    #: A bounded source ends; the job finishes when every partition reports its end.
    bounded: bool = True
    #: All partitions are assigned in open() (files, memory); a consumer group assigns
    #: later, so having no partitions yet does not mean there is nothing to read.
    static_assignment: bool = True

    @abstractmethod
    def open(self, listener: AssignmentListener) -> None: ...

    @abstractmethod
    def poll(self, max_records: int, timeout_s: float) -> list[PartitionBatch]: ...

    def commit(self, positions: dict[str, Any]) -> None:
        """Called only after a checkpoint holding these positions is complete."""

    def assigned(self) -> list[str]:
        """Partitions currently assigned to this reader."""
        return []

    def pause(self, partition: str) -> None:
        """Stop fetching a partition the job no longer needs (e.g. past a replay's range)."""

    def close(self) -> None:
        """Release connections and files."""

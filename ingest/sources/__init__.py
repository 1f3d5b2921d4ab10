"""Partitioned sources: each lists partitions, reads a partition from a saved position."""

from ingest.sources.base import AssignmentListener, PartitionBatch, Source
from ingest.sources.files import FileSource, InvalidRecord
from ingest.sources.memory import MemorySource

__all__ = [
    "AssignmentListener",
    "FileSource",
    "InvalidRecord",
    "MemorySource",
    "PartitionBatch",
    "Source",
]

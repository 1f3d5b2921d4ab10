"""The stream engine: sources, operators, time and windows, keyed state, checkpoints, runtime.

The public API is re-exported here; see ``docs/engine.md`` for the model.
"""

from ingest.checkpoint import CheckpointConfig, LocalDirectoryStorage
from ingest.deadletter import DeadLetter
from ingest.errors import RDGError
from ingest.functions import (
    AggregateFunction,
    Count,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    ProcessWindowFunction,
    Sum,
)
from ingest.pipeline import DataStream, KeyedStream, StreamEnvironment, WindowedStream
from ingest.runtime import JobResult, JobRunner
from ingest.sinks import CollectSink, FileSink, NullSink, Sink, UpsertSink
from ingest.sources import FileSource, InvalidRecord, MemorySource, PartitionBatch, Source
from ingest.state import HeapStateBackend, RocksDBStateBackend, StateTtl
from ingest.time import MAX_WATERMARK, MIN_WATERMARK, ManualClock, SystemClock, WatermarkStrategy
from ingest.windows import (
    EventTimeSessionWindows,
    SlidingEventTimeWindows,
    TumblingEventTimeWindows,
    TumblingProcessingTimeWindows,
    WindowResult,
)

__all__ = [
    "MAX_WATERMARK",
    "MIN_WATERMARK",
    "AggregateFunction",
    "CheckpointConfig",
    "CollectSink",
    "Count",
    "DataStream",
    "DeadLetter",
    "EventTimeSessionWindows",
    "FileSink",
    "FileSource",
    "HeapStateBackend",
    "InvalidRecord",
    "JobResult",
    "JobRunner",
    "KeyedProcessFunction",
    "KeyedStream",
    "LocalDirectoryStorage",
    "ManualClock",
    "MemorySource",
    "NullSink",
    "OutputTag",
    "PartitionBatch",
    "ProcessFunction",
    "ProcessWindowFunction",
    "RDGError",
    "RocksDBStateBackend",
    "Sink",
    "SlidingEventTimeWindows",
    "Source",
    "StateTtl",
    "StreamEnvironment",
    "Sum",
    "SystemClock",
    "TumblingEventTimeWindows",
    "TumblingProcessingTimeWindows",
    "UpsertSink",
    "WatermarkStrategy",
    "WindowResult",
    "WindowedStream",
]

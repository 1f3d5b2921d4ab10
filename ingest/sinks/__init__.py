"""Sinks: records arrive with add(); they are written on flush(), which checkpoints call."""

from ingest.sinks.base import Sink
from ingest.sinks.collect import CollectSink, NullSink, UpsertSink
from ingest.sinks.files import FileSink

__all__ = ["CollectSink", "FileSink", "NullSink", "Sink", "UpsertSink"]

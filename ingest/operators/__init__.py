"""Operators: the runtime objects that process batches inside a partition task."""

from ingest.operators.base import Operator, Output, TaskContext

__all__ = ["Operator", "Output", "TaskContext"]

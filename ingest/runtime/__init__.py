"""The runtime: partition tasks and the job loop that drives them."""

from ingest.runtime.executor import JobResult, JobRunner
from ingest.runtime.task import PartitionTask

__all__ = ["JobResult", "JobRunner", "PartitionTask"]

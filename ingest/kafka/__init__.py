"""Kafka connector pieces; topic administration lives in `ingest.kafka.admin`.

Nothing is imported here, so `import ingest.kafka` never needs confluent-kafka.
"""

__all__: list[str] = []

"""Event schemas, serialization and validation.

Modules (import the one you need; importing does no work):

* schemas.registry - topics, partition keys, the Avro schemas (``<topic>.avsc``);
* schemas.serde - AvroSerde (schemaless, optional Confluent framing), JsonSerde, DecodeError;
* schemas.validate - per-topic validators, InvalidEvent and its reason codes;
* schemas.events - TypedDicts and constants (enum symbols, id and time limits).
"""

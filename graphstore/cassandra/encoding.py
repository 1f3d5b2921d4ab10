"""How merge rules become Cassandra cell timestamps (no read-before-write).

Cassandra keeps, per cell, the value with the highest write timestamp; on equal
timestamps (non-expiring cells) the greater value bytes win. Each merge rule is mapped
onto that:

* ``last_seen``  -> timestamp = last_seen               (max wins)
* ``first_seen`` -> timestamp = FIRST_SEEN_BASE - first_seen (min wins)
* bucket count   -> timestamp = count                   (max wins; equal = same value)
* property       -> timestamp = ts, value = "<hex(event_id)>.<ts>.<value>"
* newest-first copy of an edge (``adjacency_recent.edge``, one cell)
                 -> timestamp = last_seen, value = count, FIRST_SEEN_BASE - first_seen,
                    last_seen as three big-endian int64. Copies are snapshots of the merged
                    edge, and a later snapshot has a last_seen, count and first_seen at
                    least as far along, so it wins on the timestamp or, on a tie, on the
                    value bytes (greater count, then smaller first_seen).
  On a ts tie the greater payload wins; the payload starts with the event id in hex,
  which compares byte-wise in the same order as the id's code points whether the server
  compares bytes signed or unsigned (hex digits are ASCII), and '.' sorts below every hex
  digit so a shorter id that is a prefix of a longer one loses, as in Python.
"""

from __future__ import annotations

import struct

from graphstore.model import PropVersion

__all__ = [
    "EDGE_COPY",
    "FIRST_SEEN_BASE",
    "count_timestamp",
    "decode_edge_copy",
    "decode_prop",
    "encode_edge_copy",
    "encode_prop",
    "first_seen_timestamp",
    "last_seen_timestamp",
    "prop_timestamp",
]

FIRST_SEEN_BASE = 2**62
"""first_seen values are < 2**53 (model validation), so timestamps stay positive."""


def first_seen_timestamp(first_seen: int) -> int:
    return FIRST_SEEN_BASE - first_seen


def last_seen_timestamp(last_seen: int) -> int:
    return last_seen


def count_timestamp(count: int) -> int:
    return count


def prop_timestamp(pv: PropVersion) -> int:
    return pv.ts


def encode_prop(pv: PropVersion) -> str:
    return f"{pv.event_id.encode('utf-8').hex()}.{pv.ts}.{pv.value}"


def decode_prop(payload: str) -> PropVersion:
    event_hex, _, rest = payload.partition(".")
    ts_text, _, value = rest.partition(".")
    return PropVersion(value, int(ts_text), bytes.fromhex(event_hex).decode("utf-8"))


EDGE_COPY = struct.Struct(">qqq")
"""The layout of an edge copy: count, FIRST_SEEN_BASE - first_seen, last_seen."""


def encode_edge_copy(first_seen: int, last_seen: int, count: int) -> bytes:
    return EDGE_COPY.pack(count, FIRST_SEEN_BASE - first_seen, last_seen)


def decode_edge_copy(payload: bytes) -> tuple[int, int, int]:
    """(first_seen, last_seen, count) from an ``adjacency_recent.edge`` cell."""
    count, first_key, last_seen = EDGE_COPY.unpack(payload)
    return FIRST_SEEN_BASE - first_key, last_seen, count

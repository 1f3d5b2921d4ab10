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
                    last_seen as three big-endian int64, then the row's own key (dir,
                    edge_type, other_type, other_id), so a scan reads only this cell.
                    Copies are snapshots of the merged edge, and a later snapshot has a
                    last_seen, count and first_seen at least as far along, so it wins on
                    the timestamp or, on a tie, on the value bytes (greater count, then
                    smaller first_seen; the key is the same in both).
  On a ts tie the greater payload wins; the payload starts with the event id in hex,
  which compares byte-wise in the same order as the id's code points whether the server
  compares bytes signed or unsigned (hex digits are ASCII), and '.' sorts below every hex
  digit so a shorter id that is a prefix of a longer one loses, as in Python.
"""

from __future__ import annotations

import struct

from graphstore.model import PropVersion

__all__ = [
    "COPY_HEAD",
    "FIRST_SEEN_BASE",
    "count_timestamp",
    "decode_copy_key",
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


COPY_HEAD = struct.Struct(">qqq")
"""The head of an edge copy: count, FIRST_SEEN_BASE - first_seen, last_seen. Keyed copies
continue with the row's key: a direction byte (0 out, 1 in), then edge_type, other_type and
other_id, each as a big-endian uint16 length and UTF-8 (Cassandra's own limit for a
clustering value). Copies written before keys were added are the head alone."""

_DIRECTION_BYTE = {"out": b"\x00", "in": b"\x01"}
_DIRECTIONS = ("out", "in")
_LENGTH = struct.Struct(">H")


def encode_edge_copy(
    first_seen: int,
    last_seen: int,
    count: int,
    direction: str,
    edge_type: str,
    other_type: str,
    other_id: str,
) -> bytes:
    """The ``adjacency_recent.edge`` cell of the row (dir, edge_type, other_type, other_id)."""
    parts = [COPY_HEAD.pack(count, FIRST_SEEN_BASE - first_seen, last_seen)]
    parts.append(_DIRECTION_BYTE[direction])
    for text in (edge_type, other_type, other_id):
        data = text.encode("utf-8")
        if len(data) > 0xFFFF:  # Cassandra refuses such clustering values anyway
            raise ValueError(f"{text[:40]!r}...: {len(data)} bytes, more than a key may hold")
        parts.append(_LENGTH.pack(len(data)))
        parts.append(data)
    return b"".join(parts)


def decode_edge_copy(payload: bytes) -> tuple[int, int, int]:
    """(first_seen, last_seen, count) from an ``adjacency_recent.edge`` cell (keyed or not)."""
    count, first_key, last_seen = COPY_HEAD.unpack_from(payload)
    return FIRST_SEEN_BASE - first_key, last_seen, count


def decode_copy_key(payload: bytes) -> tuple[str, str, str, str] | None:
    """The (dir, edge_type, other_type, other_id) a keyed copy carries; None for a copy
    without its key (written before keys were added)."""
    if len(payload) <= COPY_HEAD.size:
        return None
    texts: list[str] = []
    at = COPY_HEAD.size + 1
    for _ in range(3):
        (size,) = _LENGTH.unpack_from(payload, at)
        at += _LENGTH.size
        texts.append(payload[at : at + size].decode("utf-8"))
        at += size
    if at != len(payload):
        raise ValueError(f"an edge copy of {len(payload)} bytes has {len(payload) - at} extra")
    return _DIRECTIONS[payload[COPY_HEAD.size]], texts[0], texts[1], texts[2]

"""Read plumbing shared by the Cassandra store's readers: a bounded window of concurrent
requests, and fast serialisation / decoding of the values neighbor reads send and get."""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

from graphstore.cassandra.writer import Binder, map_driver_error

__all__ = ["ReadWindow", "Request", "lookup_requests", "map_values_sum", "pack_text_tuples"]

Request = tuple[Binder, tuple[Any, ...], int | None]
"""(statement binder, bind values, fetch size or None)."""

IN_CHUNK = 256
"""Clustering keys per ``IN`` lookup."""


def lookup_requests(
    lookup: Binder, node_type: str, node_id: str, keys: Sequence[Sequence[str]]
) -> list[Request]:
    """``IN`` lookups of a node's ``adjacency`` rows by (dir, edge_type, other_type,
    other_id), ``IN_CHUNK`` keys per request."""
    return [
        (lookup, (node_type, node_id, keys[start : start + IN_CHUNK]), None)
        for start in range(0, len(keys), IN_CHUNK)
    ]


_pack_i32 = struct.Struct(">i").pack


def pack_text_tuples(keys: Sequence[Sequence[str]], protocol_version: int) -> bytes:
    """Serialise a ``list<frozen<tuple<text, ...>>>`` (an IN list of clustering keys).

    Same bytes as the driver's generic serializer (length-prefixed list of length-prefixed
    tuple fields), without its per-field Python dispatch, which profiled at ~1 ms per
    100-key lookup.
    """
    del protocol_version  # the format is the same for v3+
    pack = _pack_i32
    parts = [pack(len(keys))]
    append = parts.append
    for key in keys:
        chunks = []
        for text in key:
            data = text.encode("utf-8")
            chunks.append(pack(len(data)))
            chunks.append(data)
        body = b"".join(chunks)
        append(pack(len(body)))
        append(body)
    return b"".join(parts)


def map_values_sum(counts: Any) -> int:
    """Sum a driver map; reads the OrderedMap's item list directly when it has one (the
    public ``values()`` re-serialises every key to look it up, which dominated profiles).
    An int is a sum the server already made (``collection_sum``)."""
    if counts is None:
        return 0
    if type(counts) is int:
        return counts
    items = getattr(counts, "_items", None)
    if items is None:
        return sum(counts.values())
    if len(items) == 1:
        return int(items[0][1])
    total = 0
    for _, value in items:
        total += value
    return total


class ReadWindow:
    """At most ``reader.concurrency`` requests in flight; results are taken in order.

    ``submit`` waits for the oldest request still running once the window is full, so a
    caller that submits while it consumes (the pipelined first round) never exceeds it.
    """

    __slots__ = ("_action", "_inflight", "_reader")

    def __init__(self, reader: Any, action: str) -> None:
        self._reader = reader
        self._action = action
        self._inflight: deque[Any] = deque()

    def submit(self, request: Request) -> Any:
        inflight = self._inflight
        reader = self._reader
        while len(inflight) >= reader.concurrency:
            self.result(inflight.popleft())  # kept by the future: result() can be asked again
        binder, params, fetch_size = request
        try:
            bound = binder.bind(params)
            if fetch_size is not None:
                bound.fetch_size = fetch_size
            future = reader.session.execute_async(bound)
        except Exception as exc:
            raise map_driver_error(exc, reader.target, self._action) from exc
        inflight.append(future)
        return future

    def result(self, future: Any) -> Any:
        try:
            return future.result()
        except Exception as exc:
            raise map_driver_error(exc, self._reader.target, self._action) from exc

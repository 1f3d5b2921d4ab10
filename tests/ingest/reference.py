"""Independent reference models of the engine's documented window semantics.

They share no code with the engine.  The engine's time model, as documented: a poll takes
up to ``batch`` records from each partition in partition order (a "round"); records of a
round are judged against the watermark as it stood before the round; after the round the
job watermark becomes ``max(previous, min over partitions of (max_ts - delay - 1))``, where
a partition whose records are all consumed counts as +infinity.  A window ``[s, e)`` fires
once the watermark reaches ``e - 1``; a record whose window has ``e - 1 + lateness <= W``
is late.  At the end of the input every window fires.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

NEG = -(2**63)
POS = 2**63 - 1

Record = tuple[str, int]  # (key, ts)


def rounds(
    partitions: list[list[Record]], batch: int, delay: int
) -> Iterator[tuple[int, list[Record], int]]:
    """Yield (watermark before the round, records of the round, watermark after)."""
    wm = NEG
    pos = [0] * len(partitions)
    max_ts = [NEG] * len(partitions)
    finished = [False] * len(partitions)
    while not all(finished):
        recs: list[Record] = []
        for p, data in enumerate(partitions):
            if finished[p]:
                continue
            chunk = data[pos[p] : pos[p] + batch]
            pos[p] += len(chunk)
            for r in chunk:
                max_ts[p] = max(max_ts[p], r[1])
            recs.extend(chunk)
            if pos[p] >= len(data):
                finished[p] = True
        before = wm
        per_part = []
        for p in range(len(partitions)):
            if finished[p]:
                per_part.append(POS)
            elif max_ts[p] == NEG:
                per_part.append(NEG)
            else:
                per_part.append(max_ts[p] - delay - 1)
        if not all(finished):
            wm = max(wm, min(per_part))
        yield before, recs, wm


@dataclass
class WindowOutcome:
    final: dict[tuple[str, int, int], int] = field(default_factory=dict)
    first_firing: dict[tuple[str, int, int], int] = field(default_factory=dict)
    late: Counter[Record] = field(default_factory=Counter)


def fixed_windows(
    partitions: list[list[Record]],
    batch: int,
    delay: int,
    size: int,
    slide: int,
    lateness: int,
) -> WindowOutcome:
    """Tumbling (slide == size) or sliding windows counting records per key."""
    out = WindowOutcome()
    counts: Counter[tuple[str, int, int]] = Counter()
    fired: set[tuple[int, int]] = set()
    windows_seen: set[tuple[int, int]] = set()
    for before, recs, after in rounds(partitions, batch, delay):
        refired: set[tuple[str, int, int]] = set()
        for key, ts in recs:
            wins = []
            # every window [s, s+size) with s a multiple of slide containing ts
            s = ts - ts % slide
            while s > ts - size:
                wins.append((s, s + size))
                s -= slide
            accepted = False
            for s, e in wins:
                if e - 1 + lateness <= before:
                    continue
                accepted = True
                counts[(key, s, e)] += 1
                windows_seen.add((s, e))
                if (s, e) in fired:
                    refired.add((key, s, e))
            if not accepted:
                out.late[(key, ts)] += 1
        # a fired window that got records in this round re-fires once, after the batch
        # (keys are partition-local, so the round's count is the batch's)
        for k in refired:
            out.first_firing.setdefault(k, counts[k])
        for s, e in sorted(windows_seen):
            if (s, e) not in fired and e - 1 <= after:
                fired.add((s, e))
                for (k, ws, we), c in counts.items():
                    if (ws, we) == (s, e):
                        out.first_firing.setdefault((k, s, e), c)
    for (k, s, e), c in counts.items():
        out.first_firing.setdefault((k, s, e), c)  # fired at the end of input
    out.final = dict(counts)
    return out


def _clusters(ts: list[int], gap: int) -> list[tuple[int, int, int]]:
    """Sessions of a set of timestamps: (start, end, count), end = last ts + gap."""
    out: list[tuple[int, int, int]] = []
    for t in sorted(ts):
        if out and t < out[-1][1]:
            s, e, c = out[-1]
            out[-1] = (s, max(e, t + gap), c + 1)
        else:
            out.append((t, t + gap, 1))
    return out


def sessions(
    partitions: list[list[Record]], batch: int, delay: int, gap: int, lateness: int
) -> tuple[set[tuple[str, int, int, int]], Counter[Record]]:
    """Session windows counting records per key: final sessions and late records."""
    open_ts: dict[str, list[int]] = defaultdict(list)
    closed: set[tuple[str, int, int, int]] = set()
    late: Counter[Record] = Counter()
    for before, recs, after in rounds(partitions, batch, delay):
        for key, ts in recs:
            cl = next(c for c in _clusters([*open_ts[key], ts], gap) if c[0] <= ts < c[1])
            if cl[1] - 1 + lateness <= before:
                late[(key, ts)] += 1
            else:
                open_ts[key].append(ts)
        for key in list(open_ts):
            keep = []
            for s, e, c in _clusters(open_ts[key], gap):
                if e - 1 + lateness <= after:
                    closed.add((key, s, e, c))
                else:
                    keep.extend(t for t in open_ts[key] if s <= t < e)
            open_ts[key] = keep
    for key, ts_list in open_ts.items():
        for s, e, c in _clusters(ts_list, gap):
            closed.add((key, s, e, c))
    return closed, late

"""Train/dev/test splits by a deterministic shuffle of document ids (pure)."""

from __future__ import annotations

import random
import re
from pathlib import PurePath

_PART_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]{0,30})\s*=\s*([0-9]*\.?[0-9]+)\s*$")


def parse_split(spec: str) -> list[tuple[str, float]]:
    """Parse ``train=0.8,dev=0.1,test=0.1`` into named fractions that sum to 1.

    :raise ValueError: with a one-line reason.
    """
    parts: list[tuple[str, float]] = []
    for piece in spec.split(","):
        match = _PART_RE.match(piece)
        if match is None:
            raise ValueError(f"split part {piece.strip()!r} must look like name=0.8")
        name, fraction = match.group(1), float(match.group(2))
        if any(name == seen for seen, _ in parts):
            raise ValueError(f"split {name!r} is named twice")
        parts.append((name, fraction))
    total = sum(f for _, f in parts)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions add up to {total:g}, not 1")
    return parts


def assign_splits(ids: list[str], parts: list[tuple[str, float]], seed: int) -> dict[str, str]:
    """Map each id to a split name: sort, shuffle with ``seed``, cut at the rounded cumulative fractions.

    The same ids, fractions and seed always give the same assignment.
    """
    order = sorted(set(ids))
    random.Random(seed).shuffle(order)
    out: dict[str, str] = {}
    start = 0
    cumulative = 0.0
    for index, (name, fraction) in enumerate(parts):
        cumulative += fraction
        stop = len(order) if index == len(parts) - 1 else round(cumulative * len(order))
        for doc_id in order[start:stop]:
            out[doc_id] = name
        start = stop
    return out


def assign_grouped_splits(groups: dict[str, str], parts: list[tuple[str, float]], seed: int) -> dict[str, str]:
    """Map each id to a split name keeping each group (``groups`` maps id -> group key) in one split.

    The groups are sorted, shuffled with ``seed`` and laid end to end by their
    sizes; a group goes to the split its middle falls in, so the splits come
    as close to the fractions as whole groups allow.  Deterministic.
    """
    members: dict[str, list[str]] = {}
    for doc_id, key in groups.items():
        members.setdefault(key, []).append(doc_id)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    total = len(groups) or 1
    bounds = []
    cumulative = 0.0
    for name, fraction in parts:
        cumulative += fraction
        bounds.append((cumulative, name))
    out: dict[str, str] = {}
    done = 0
    for key in order:
        size = len(members[key])
        middle = (done + size / 2) / total
        name = next((n for bound, n in bounds if middle < bound), parts[-1][0])
        for doc_id in members[key]:
            out[doc_id] = name
        done += size
    return out


def split_path(path: str, name: str) -> str:
    """Return the file name of one split: ``out.jsonl`` → ``out.train.jsonl``."""
    pure = PurePath(path)
    if pure.suffix:
        return str(pure.with_name(f"{pure.stem}.{name}{pure.suffix}"))
    return str(pure.with_name(f"{pure.name}.{name}"))

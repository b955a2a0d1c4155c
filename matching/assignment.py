"""Batch assignment of HRD needs to partners (exact and greedy), and candidate lists."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from matching.features import Floats
from matching.problem import KindProblem, split_by_kind
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Excluded, Score, Weights, score
from matching.solver import solve

__all__ = ["Assignment", "assign", "candidates", "greedy_assign", "total_score"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """One need met: HRD ``hrd_id`` gets partner ``partner_id`` of ``kind``.

    ``score`` counts the partner's load including the matches assigned before this one in
    the same batch, so that the scores of a batch add up to its objective.
    """

    hrd_id: int
    kind: str
    partner_id: int
    score: Score


def total_score(assignments: Iterable[Assignment]) -> float:
    """Sum of the assignments' scores: the objective that :func:`assign` maximises."""
    return sum(a.score.total for a in assignments)


def _assignments(
    problem: KindProblem, picks: Iterable[tuple[int, int, int]]
) -> list[Assignment]:
    """Assignments for (row, column, slot) triples of one sub-problem."""
    out = []
    for row, col, slot in picks:
        hrd, partner, pair = problem.pair(row, col, slot)
        out.append(Assignment(hrd.id, problem.kind, partner.id, pair))
    return out


def _sorted(assignments: list[Assignment]) -> list[Assignment]:
    return sorted(assignments, key=lambda a: (a.hrd_id, a.kind))


def assign(
    hrds: Iterable[HrdProfile],
    partners: Iterable[PartnerProfile],
    weights: Weights,
    excluded: Excluded = frozenset(),
) -> list[Assignment]:
    """The assignment of all open needs (one partner per kind in each HRD's ``wants``) that
    maximises the total score under the partners' free capacities, exactly.

    Only pairs that pass the hard rules are used; a need with no feasible partner, or that
    loses the competition for one, stays unassigned. A partner's k-th new match in the batch
    is scored with its load raised by k, so the load-balance part spreads a batch out.
    Output is sorted by (hrd_id, kind) and does not depend on input order.
    """
    out: list[Assignment] = []
    for sub in split_by_kind(hrds, partners, weights, excluded):
        col, slot = solve(sub.shape[0], sub.slots, sub.block)
        rows = np.flatnonzero(col >= 0).tolist()
        out += _assignments(sub, ((r, int(col[r]), int(slot[r])) for r in rows))
    return _sorted(out)


def greedy_assign(
    hrds: Iterable[HrdProfile],
    partners: Iterable[PartnerProfile],
    weights: Weights,
    excluded: Excluded = frozenset(),
) -> list[Assignment]:
    """Best-first greedy baseline: repeatedly take the feasible pair with the highest score
    (at the partner's current load; ties by HRD id, then partner id) until none is left."""
    out: list[Assignment] = []
    for sub in split_by_kind(hrds, partners, weights, excluded):
        if 0 not in sub.shape:
            out += _assignments(sub, _best_first(sub.block(slice(0, sub.shape[0])), sub.slots))
    return _sorted(out)


def _best_first(values: Floats, slots: list[Floats]) -> list[tuple[int, int, int]]:
    """Greedy (row, column, slot) picks; a pair whose column filled up since it was ranked
    is re-queued at its lower current value (lazy best-first)."""
    first = np.array([s[0] for s in slots])
    rows, cols = np.nonzero(np.isfinite(values))
    start = values[rows, cols] + first[cols]
    order = np.lexsort((cols, rows, -start))
    ranked = zip(start[order].tolist(), rows[order].tolist(), cols[order].tolist(), strict=True)
    heap: list[tuple[float, int, int]] = []  # (-value, row, col)
    used = [0] * len(slots)
    done = [False] * values.shape[0]
    picks: list[tuple[int, int, int]] = []
    left = min(values.shape[0], sum(len(s) for s in slots))
    pending = next(ranked, None)
    while (pending is not None or heap) and len(picks) < left:
        if heap and (pending is None or heap[0] < (-pending[0], pending[1], pending[2])):
            neg, r, c = heapq.heappop(heap)
            value = -neg
        else:
            if pending is None:
                raise RuntimeError("no candidate left to pick")
            value, r, c = pending
            pending = next(ranked, None)
        if done[r] or used[c] >= len(slots[c]):
            continue
        actual = float(values[r, c]) + float(slots[c][used[c]])
        if actual < value:
            heapq.heappush(heap, (-actual, r, c))
            continue
        done[r] = True
        picks.append((r, c, used[c]))
        used[c] += 1
    return picks


def candidates(
    hrd: HrdProfile,
    partners: Iterable[PartnerProfile],
    weights: Weights,
    excluded: Excluded = frozenset(),
    kind: str | None = None,
    k: int = 3,
) -> list[tuple[PartnerProfile, Score]]:
    """The ``k`` best feasible partners for one HRD (of ``kind`` if given, else of any kind
    the HRD wants), by score descending, then partner id."""
    scored = []
    for partner in partners:
        if kind is not None and partner.kind != kind:
            continue
        pair_score = score(hrd, partner, weights, excluded)
        if pair_score is not None:
            scored.append((partner, pair_score))
    scored.sort(key=lambda item: (-item[1].total, item[0].id))
    return scored[:k]

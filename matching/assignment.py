"""Batch assignment of HRD needs to partners (exact and greedy), and candidate lists."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from matching.features import HrdBlock, PartnerBlock, Scorer, Vocab, slot_values
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Excluded, Score, Weights, pair_score, score
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


class _Kind:
    """One kind's sub-problem: the HRDs wanting it and its usable partners."""

    def __init__(
        self,
        kind: str,
        hrds: Sequence[HrdProfile],
        partners: Sequence[PartnerProfile],
        vocab: Vocab,
        weights: Weights,
        excluded: Excluded,
    ) -> None:
        self.kind = kind
        self.hrds = HrdBlock.build([h for h in hrds if kind in h.wants], vocab)
        usable = [p for p in partners if p.kind == kind and p.active and p.free > 0]
        self.partners = PartnerBlock.build(usable, vocab, self.hrds.countries)
        self.weights = weights
        self.slots = slot_values(self.partners, weights)
        self.block = Scorer(self.hrds, self.partners, weights, excluded)

    def assignments(self, pairs: Iterable[tuple[int, int, int]]) -> list[Assignment]:
        """Assignments for (row, column, slot) triples."""
        out = []
        for row, col, slot in pairs:
            hrd, partner = self.hrds.hrds[row], self.partners.partners[col]
            pair = pair_score(hrd, partner, self.weights, partner.load + slot)
            out.append(Assignment(hrd.id, self.kind, partner.id, pair))
        return out


def _kinds(
    hrds: Iterable[HrdProfile],
    partners: Iterable[PartnerProfile],
    weights: Weights,
    excluded: Excluded,
) -> list[_Kind]:
    hrd_list = sorted(hrds, key=lambda h: h.id)
    partner_list = sorted(partners, key=lambda p: p.id)
    for name, items in (("HRD", hrd_list), ("partner", partner_list)):
        ids = [x.id for x in items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate {name} ids")
    vocab = Vocab(hrd_list, partner_list)
    kinds = sorted({k for h in hrd_list for k in h.wants})
    return [_Kind(k, hrd_list, partner_list, vocab, weights, excluded) for k in kinds]


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
    for sub in _kinds(hrds, partners, weights, excluded):
        col, slot = solve(len(sub.hrds.hrds), sub.slots, sub.block)
        rows = np.flatnonzero(col >= 0).tolist()
        out += sub.assignments((r, int(col[r]), int(slot[r])) for r in rows)
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
    for sub in _kinds(hrds, partners, weights, excluded):
        n_rows, n_cols = len(sub.hrds.hrds), len(sub.partners.partners)
        if n_rows == 0 or n_cols == 0:
            continue
        values = sub.block(slice(0, n_rows))
        first = np.array([s[0] for s in sub.slots])
        rows, cols = np.nonzero(np.isfinite(values))
        base = values[rows, cols]
        start = base + first[cols]
        order = np.lexsort((cols, rows, -start))
        heap: list[tuple[float, int, int]] = []
        used = [0] * n_cols
        free = sub.partners.free.tolist()
        done = [False] * n_rows
        picks: list[tuple[int, int, int]] = []
        ranked = zip(
            start[order].tolist(), rows[order].tolist(), cols[order].tolist(), strict=True
        )
        pending = next(ranked, None)
        while pending is not None or heap:
            if heap and (pending is None or heap[0] < (-pending[0], pending[1], pending[2])):
                neg, r, c = heapq.heappop(heap)
                value = -neg
            else:
                assert pending is not None
                value, r, c = pending
                pending = next(ranked, None)
            if done[r] or used[c] >= free[c]:
                continue
            actual = float(values[r, c]) + float(sub.slots[c][used[c]])
            if actual < value:  # the partner filled up since: requeue at today's value
                heapq.heappush(heap, (-actual, r, c))
                continue
            done[r] = True
            picks.append((r, c, used[c]))
            used[c] += 1
        out += sub.assignments(picks)
    return _sorted(out)


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

"""A batch split into one sub-problem per partner kind, in dense vectorised form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from matching.features import Floats, HrdBlock, PartnerBlock, Scorer, Vocab, slot_values
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Excluded, Score, Weights, pair_score

__all__ = ["KindProblem", "split_by_kind"]


class KindProblem:
    """One kind's sub-problem: rows are the HRDs wanting it, columns its usable partners.

    ``block(rows)`` gives the region + expertise scores (``-inf`` if infeasible) and
    ``slots[col]`` the load-balance score of each free slot of a partner, emptiest first.
    Kinds are independent: an HRD's needs of different kinds do not compete.
    """

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
        self.weights = weights
        self.hrds = HrdBlock.build([h for h in hrds if kind in h.wants], vocab)
        usable = [p for p in partners if p.kind == kind and p.active and p.free > 0]
        self.partners = PartnerBlock.build(usable, vocab, self.hrds.countries)
        self.slots: list[Floats] = slot_values(self.partners, weights)
        self.block = Scorer(self.hrds, self.partners, weights, excluded)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return len(self.hrds.hrds), len(self.partners.partners)

    def pair(self, row: int, col: int, slot: int) -> tuple[HrdProfile, PartnerProfile, Score]:
        """The profiles and score of row ``row`` taking slot ``slot`` of column ``col``."""
        hrd, partner = self.hrds.hrds[row], self.partners.partners[col]
        return hrd, partner, pair_score(hrd, partner, self.weights, partner.load + slot)


def split_by_kind(
    hrds: Iterable[HrdProfile],
    partners: Iterable[PartnerProfile],
    weights: Weights,
    excluded: Excluded = frozenset(),
) -> list[KindProblem]:
    """One sub-problem per kind wanted, in kind order; profiles sorted by id."""
    hrd_list = sorted(hrds, key=lambda h: h.id)
    partner_list = sorted(partners, key=lambda p: p.id)
    for name, items in (("HRD", hrd_list), ("partner", partner_list)):
        ids = [x.id for x in items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate {name} ids")
    vocab = Vocab(hrd_list, partner_list)
    kinds = sorted({k for h in hrd_list for k in h.wants})
    return [KindProblem(k, hrd_list, partner_list, vocab, weights, excluded) for k in kinds]

"""Vectorised (numpy) encoding of profiles, and dense blocks of pair scores.

The blocks reproduce :func:`matching.scoring.score` bit for bit: the same float64 operations
in the same order, so the solver's objective equals the sum of the reported scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Excluded, RegionLevel, Weights, coverage_chain, expertise_fraction

__all__ = [
    "Bits",
    "Floats",
    "HrdBlock",
    "Ints",
    "PartnerBlock",
    "Scorer",
    "Vocab",
    "level_weights",
    "slot_values",
]

Bits = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

LEVELS: tuple[RegionLevel, ...] = tuple(RegionLevel)
NO_LEVEL = LEVELS.index(RegionLevel.NONE)


class Vocab:
    """Bit positions for the languages and expertise tags seen in one batch."""

    def __init__(self, hrds: Iterable[HrdProfile], partners: Iterable[PartnerProfile]) -> None:
        hrd_list, partner_list = list(hrds), list(partners)
        langs = {x for h in hrd_list for x in h.languages} | {
            x for p in partner_list for x in p.languages
        }
        tags = {x for h in hrd_list for x in h.expertise} | {
            x for p in partner_list for x in p.expertise
        }
        self.languages = {x: i for i, x in enumerate(sorted(langs))}
        self.expertise = {x: i for i, x in enumerate(sorted(tags))}

    @staticmethod
    def encode(sets: Sequence[frozenset[str]], index: dict[str, int]) -> Bits:
        """One row of 64-bit words per set, bit ``index[x]`` set for each member ``x``."""
        words = max(1, -(-len(index) // 64))
        out = np.zeros((len(sets), words), dtype=np.uint64)
        for row, members in enumerate(sets):
            for member in members:
                bit = index[member]
                out[row, bit >> 6] |= np.uint64(1 << (bit & 63))
        return out


@dataclass(frozen=True)
class HrdBlock:
    """HRDs needing one kind of partner."""

    hrds: tuple[HrdProfile, ...]
    languages: Bits
    expertise: Bits
    needed: Ints
    country: Ints  # index into ``countries``
    countries: tuple[str, ...]

    @classmethod
    def build(cls, hrds: Sequence[HrdProfile], vocab: Vocab) -> HrdBlock:
        countries = tuple(sorted({h.country for h in hrds}))
        where = {c: i for i, c in enumerate(countries)}
        return cls(
            hrds=tuple(hrds),
            languages=vocab.encode([h.languages for h in hrds], vocab.languages),
            expertise=vocab.encode([h.expertise for h in hrds], vocab.expertise),
            needed=np.array([len(h.expertise) for h in hrds], dtype=np.int64),
            country=np.array([where[h.country] for h in hrds], dtype=np.int64),
            countries=countries,
        )


@dataclass(frozen=True)
class PartnerBlock:
    """Active partners of one kind that have free capacity."""

    partners: tuple[PartnerProfile, ...]
    languages: Bits
    expertise: Bits
    free: Ints
    capacity: Ints
    load: Ints
    level: npt.NDArray[np.int8]  # (partners, countries): index into LEVELS

    @classmethod
    def build(
        cls, partners: Sequence[PartnerProfile], vocab: Vocab, countries: Sequence[str]
    ) -> PartnerBlock:
        covers: dict[str, tuple[list[int], list[int]]] = {}  # token -> countries, levels
        for c_idx, country in enumerate(countries):
            for level, token in coverage_chain(country):
                where, levels = covers.setdefault(token, ([], []))
                where.append(c_idx)
                levels.append(LEVELS.index(level))
        grid = np.full((len(partners), len(countries)), NO_LEVEL, dtype=np.int8)
        for row, partner in enumerate(partners):
            for token in partner.regions:
                if token in covers:
                    where, levels = covers[token]
                    grid[row, where] = np.minimum(grid[row, where], levels)
        return cls(
            partners=tuple(partners),
            languages=vocab.encode([p.languages for p in partners], vocab.languages),
            expertise=vocab.encode([p.expertise for p in partners], vocab.expertise),
            free=np.array([p.free for p in partners], dtype=np.int64),
            capacity=np.array([p.capacity for p in partners], dtype=np.int64),
            load=np.array([p.load for p in partners], dtype=np.int64),
            level=grid,
        )


def level_weights(weights: Weights) -> Floats:
    """Region score per entry of LEVELS."""
    return np.array([level.weight(weights) for level in LEVELS], dtype=np.float64)


class Scorer:
    """Dense region + expertise scores of one kind's HRDs x partners."""

    def __init__(
        self,
        hrds: HrdBlock,
        partners: PartnerBlock,
        weights: Weights,
        excluded: Excluded = frozenset(),
    ) -> None:
        self.hrds, self.partners = hrds, partners
        # region score by (HRD country, partner)
        self.region = np.ascontiguousarray(level_weights(weights)[partners.level.T])
        # expertise score by (tags needed, tags matched), computed as scoring.score does
        self.width = int(hrds.needed.max(initial=0)) + 1
        self.expertise = np.array(
            [
                weights.expertise * expertise_fraction(needed, matched)
                for needed in range(self.width)
                for matched in range(self.width)
            ]
        )
        row_of = {h.id: i for i, h in enumerate(hrds.hrds)}
        col_of = {p.id: j for j, p in enumerate(partners.partners)}
        cells = [(row_of[h], col_of[p]) for h, p in excluded if h in row_of and p in col_of]
        self.excluded = np.array(sorted(cells), dtype=np.int64).reshape(-1, 2)

    def __call__(self, rows: slice) -> Floats:
        """Scores of ``hrds[rows]`` x all partners; ``-inf`` where no language is shared or
        the pair is excluded (kind, activity and capacity are the blocks' own filters)."""
        hrds, partners = self.hrds, self.partners
        h_lang = hrds.languages[rows]
        apart = np.ones((h_lang.shape[0], partners.languages.shape[0]), dtype=bool)
        for word in range(h_lang.shape[1]):
            apart &= (h_lang[:, word, None] & partners.languages[None, :, word]) == 0
        h_exp = hrds.expertise[rows]
        matched = np.zeros(apart.shape, dtype=np.int64)
        for word in range(h_exp.shape[1]):
            matched += np.bitwise_count(h_exp[:, word, None] & partners.expertise[None, :, word])
        matched += (hrds.needed[rows] * self.width)[:, None]
        out = np.take(self.region, hrds.country[rows], axis=0)
        out += np.take(self.expertise, matched)
        out[apart] = -np.inf
        first, stop, _ = rows.indices(len(hrds.hrds))
        cells = self.excluded
        here = cells[(cells[:, 0] >= first) & (cells[:, 0] < stop)]
        out[here[:, 0] - first, here[:, 1]] = -np.inf
        return out


def slot_values(partners: PartnerBlock, weights: Weights) -> list[Floats]:
    """Load-balance score of each free slot of each partner, best (emptiest) first.

    Slot ``j`` is the partner's ``j``-th new match, scored with load ``load + j``.
    """
    return [
        weights.load_balance * (np.arange(free, 0, -1, dtype=np.int64) / cap)
        for free, cap in zip(partners.free.tolist(), partners.capacity.tolist(), strict=True)
    ]

"""Hard rules and the explainable soft score of one HRD/partner pair."""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache

from matching.profiles import HrdProfile, PartnerProfile
from matching.vocabulary import GLOBAL, country_groupings, country_region

__all__ = [
    "Excluded",
    "HardRule",
    "RegionLevel",
    "Score",
    "Weights",
    "coverage_chain",
    "expertise_fraction",
    "hard_rule_failure",
    "pair_score",
    "region_match",
    "score",
]

Excluded = Set[tuple[int, int]]
"""(hrd_id, partner_id) pairs that must not be matched again (declined or rejected)."""


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the soft-score parts; all must be finite and non-negative."""

    region_country: float = 1.0
    region_subregion: float = 0.7
    region_region: float = 0.4
    region_global: float = 0.1
    expertise: float = 1.0
    load_balance: float = 0.3

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"weight {field.name} must be finite and >= 0, got {value!r}")


class RegionLevel(StrEnum):
    """How closely a partner's coverage fits the HRD's country, best first."""

    COUNTRY = "country"
    SUBREGION = "subregion"
    REGION = "region"
    GLOBAL = "global"
    NONE = "none"

    def weight(self, weights: Weights) -> float:
        """The score this level earns under ``weights``."""
        return {
            RegionLevel.COUNTRY: weights.region_country,
            RegionLevel.SUBREGION: weights.region_subregion,
            RegionLevel.REGION: weights.region_region,
            RegionLevel.GLOBAL: weights.region_global,
            RegionLevel.NONE: 0.0,
        }[self]


class HardRule(StrEnum):
    """A hard rule that rules a pair out."""

    KIND = "kind"  # the HRD does not want this kind of partner
    LANGUAGE = "language"  # no shared language
    INACTIVE = "inactive"  # the partner is paused
    FULL = "full"  # the partner has no free capacity
    EXCLUDED = "excluded"  # the pair was declined or rejected before


@cache
def coverage_chain(country: str) -> tuple[tuple[RegionLevel, str], ...]:
    """Coverage tokens that would cover ``country``, best level first.

    E.g. ``"KE"``: KE (country), Eastern Africa and Sub-Saharan Africa (sub-region), Africa
    (region), global.
    """
    chain = [(RegionLevel.COUNTRY, country)]
    chain += [(RegionLevel.SUBREGION, name) for name in country_groupings(country)]
    region = country_region(country)
    if region:
        chain.append((RegionLevel.REGION, region))
    chain.append((RegionLevel.GLOBAL, GLOBAL))
    return tuple(chain)


def region_match(country: str, regions: Set[str]) -> tuple[RegionLevel, str | None]:
    """Best level at which ``regions`` covers ``country``, and the token that matched."""
    for level, token in coverage_chain(country):
        if token in regions:
            return level, token
    return RegionLevel.NONE, None


def hard_rule_failure(
    hrd: HrdProfile, partner: PartnerProfile, excluded: Excluded = frozenset()
) -> HardRule | None:
    """The first hard rule the pair breaks, or ``None`` if the pair is feasible."""
    if partner.kind not in hrd.wants:
        return HardRule.KIND
    if hrd.languages.isdisjoint(partner.languages):
        return HardRule.LANGUAGE
    if not partner.active:
        return HardRule.INACTIVE
    if partner.free <= 0:
        return HardRule.FULL
    if (hrd.id, partner.id) in excluded:
        return HardRule.EXCLUDED
    return None


@dataclass(frozen=True, slots=True)
class Score:
    """A feasible pair's score: ``total`` = ``region`` + ``expertise`` + ``load_balance``.

    The weighted parts come with the raw facts behind them so that a caller can render its
    own (translated) explanation; :meth:`explain` gives a plain English one.
    """

    total: float
    region: float
    expertise: float
    load_balance: float
    region_level: RegionLevel
    region_token: str | None
    expertise_matched: tuple[str, ...]
    expertise_needed: tuple[str, ...]
    languages: tuple[str, ...]
    load: int
    capacity: int

    def explain(self) -> str:
        """E.g. ``"covers KE; expertise 2 of 3: environment, land-rights; shared language:
        sw; load 1 of 5"``."""
        if self.region_level is RegionLevel.NONE:
            region = "no regional coverage"
        elif self.region_level is RegionLevel.GLOBAL:
            region = "global coverage"
        else:
            region = f"covers {self.region_token}"
        if not self.expertise_needed:
            expertise = "no expertise requested"
        else:
            expertise = f"expertise {len(self.expertise_matched)} of {len(self.expertise_needed)}"
            if self.expertise_matched:
                expertise += ": " + ", ".join(self.expertise_matched)
        noun = "language" if len(self.languages) == 1 else "languages"
        languages = f"shared {noun}: {', '.join(self.languages)}"
        return f"{region}; {expertise}; {languages}; load {self.load} of {self.capacity}"


def expertise_fraction(needed: int, matched: int) -> float:
    """Share of the HRD's expertise needs the partner covers; 0 when the HRD lists none.

    An HRD who lists no needs is matched on region, language and load alone.
    """
    return matched / needed if needed else 0.0


def score(
    hrd: HrdProfile,
    partner: PartnerProfile,
    weights: Weights,
    excluded: Excluded = frozenset(),
) -> Score | None:
    """Score the pair, or ``None`` if a hard rule rules it out."""
    if hard_rule_failure(hrd, partner, excluded) is not None:
        return None
    return pair_score(hrd, partner, weights, partner.load)


def pair_score(hrd: HrdProfile, partner: PartnerProfile, weights: Weights, load: int) -> Score:
    """Score of a pair taken as feasible, with the partner's load counted as ``load``."""
    level, token = region_match(hrd.country, partner.regions)
    needed = tuple(sorted(hrd.expertise))
    matched = tuple(tag for tag in needed if tag in partner.expertise)
    region_part = level.weight(weights)
    expertise_part = weights.expertise * expertise_fraction(len(needed), len(matched))
    load_part = weights.load_balance * (max(0, partner.capacity - load) / partner.capacity)
    return Score(
        total=region_part + expertise_part + load_part,
        region=region_part,
        expertise=expertise_part,
        load_balance=load_part,
        region_level=level,
        region_token=token,
        expertise_matched=matched,
        expertise_needed=needed,
        languages=tuple(sorted(hrd.languages & partner.languages)),
        load=load,
        capacity=partner.capacity,
    )

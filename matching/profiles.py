"""Immutable profiles of the two sides being matched: HRDs and partners."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HrdProfile", "PartnerProfile"]


@dataclass(frozen=True, slots=True)
class HrdProfile:
    """A human rights defender's needs.

    ``country`` is an ISO alpha-2 code, ``languages`` ISO 639-1 codes, ``expertise`` tags the HRD
    needs help with, ``wants`` the partner kinds still to be found (one partner per kind).
    """

    id: int
    country: str
    languages: frozenset[str]
    expertise: frozenset[str]
    wants: frozenset[str]


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """A partner (MP, lawyer or journalist) and their current workload.

    ``regions`` holds coverage tokens (ISO alpha-2 codes, M49 grouping names or ``"global"``,
    see :func:`matching.vocabulary.normalise_region`); ``load`` counts active matches.
    """

    id: int
    kind: str
    regions: frozenset[str]
    languages: frozenset[str]
    expertise: frozenset[str]
    capacity: int
    load: int
    active: bool = True

    def __post_init__(self) -> None:
        if self.capacity < 0 or self.load < 0:
            raise ValueError("capacity and load must not be negative")

    @property
    def free(self) -> int:
        """Free capacity: how many more HRDs this partner can take now."""
        return max(0, self.capacity - self.load)

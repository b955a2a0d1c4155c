"""Shared test helpers: hypothesis strategies, random instances, reference optima."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from unittest import mock

import networkx as nx
import pycountry
from hypothesis import strategies as st

from matching import solver
from matching.assignment import Assignment
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Weights, pair_score, score
from matching.vocabulary import DEFAULT_EXPERTISE, PARTNER_KINDS

COUNTRIES = ("KE", "UG", "FR", "BR", "TW")
REGIONS = ("KE", "UG", "FR", "BR", "Eastern Africa", "Sub-Saharan Africa", "Africa", "Europe",
           "South America", "Americas", "global")
LANGUAGES = ("en", "fr", "sw", "pt")
TAGS = DEFAULT_EXPERTISE[:4]
ALL_LANGUAGES = tuple(sorted(x.alpha_2 for x in pycountry.languages if hasattr(x, "alpha_2")))

WEIGHTS = st.sampled_from(
    [
        Weights(),
        Weights(load_balance=0.0),
        Weights(region_country=0.2, region_subregion=0.9, expertise=2.5, load_balance=1.7),
        Weights(0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    ]
)


def subset(items: Sequence[str], min_size: int = 0, max_size: int = 3) -> st.SearchStrategy:
    return st.frozensets(st.sampled_from(items), min_size=min_size, max_size=max_size)


@st.composite
def hrds(draw: st.DrawFn, max_size: int = 5) -> list[HrdProfile]:
    n = draw(st.integers(0, max_size))
    return [
        HrdProfile(
            id=i + 1,
            country=draw(st.sampled_from(COUNTRIES)),
            languages=draw(subset(LANGUAGES, 1, 2)),
            expertise=draw(subset(TAGS)),
            wants=draw(subset(PARTNER_KINDS[:2], 0, 2)),
        )
        for i in range(n)
    ]


@st.composite
def partners(draw: st.DrawFn, max_size: int = 4) -> list[PartnerProfile]:
    n = draw(st.integers(0, max_size))
    return [
        PartnerProfile(
            id=100 + j,
            kind=draw(st.sampled_from(PARTNER_KINDS[:2])),
            regions=draw(subset(REGIONS)),
            languages=draw(subset(LANGUAGES, 1, 3)),
            expertise=draw(subset(TAGS)),
            capacity=draw(st.integers(0, 3)),
            load=draw(st.integers(0, 3)),
            active=draw(st.booleans().filter(lambda b: b) | st.booleans()),
        )
        for j in range(n)
    ]


def random_instance(
    rng: random.Random, n_hrds: int, n_partners: int, languages: Sequence[str] = LANGUAGES
) -> tuple[list[HrdProfile], list[PartnerProfile], frozenset[tuple[int, int]]]:
    """A seeded random instance with contention (more needs than slots)."""
    h = [
        HrdProfile(
            id=i + 1,
            country=rng.choice(COUNTRIES),
            languages=frozenset(rng.sample(languages, rng.randint(1, 2))),
            expertise=frozenset(rng.sample(TAGS, rng.randint(0, 3))),
            wants=frozenset(rng.sample(PARTNER_KINDS, rng.randint(1, 2))),
        )
        for i in range(n_hrds)
    ]
    p = [
        PartnerProfile(
            id=1000 + j,
            kind=rng.choice(PARTNER_KINDS),
            regions=frozenset(rng.sample(REGIONS, rng.randint(0, 2))),
            languages=frozenset(rng.sample(languages, rng.randint(1, 3))),
            expertise=frozenset(rng.sample(TAGS, rng.randint(0, 4))),
            capacity=rng.randint(1, 4),
            load=rng.randint(0, 2),
            active=rng.random() < 0.9,
        )
        for j in range(n_partners)
    ]
    excluded = frozenset((x.id, rng.choice(p).id) for x in h if rng.random() < 0.1)
    return h, p, excluded


def objective(
    picks: dict[int, list[HrdProfile]], by_id: dict[int, PartnerProfile], weights: Weights
) -> float:
    """Total of partner id -> HRDs it takes, the k-th one at load + k."""
    return sum(
        pair_score(h, by_id[pid], weights, by_id[pid].load + k).total
        for pid, taken in picks.items()
        for k, h in enumerate(taken)
    )


def brute_force(
    hrd_list: Sequence[HrdProfile],
    partner_list: Sequence[PartnerProfile],
    weights: Weights,
    excluded: frozenset[tuple[int, int]],
) -> float:
    """Best total by enumerating every assignment of every need (tiny instances only)."""
    by_id = {p.id: p for p in partner_list}
    total = 0.0
    for kind in sorted({k for h in hrd_list for k in h.wants}):
        needs = [h for h in hrd_list if kind in h.wants]
        options = [
            [p.id for p in partner_list if p.kind == kind and score(h, p, weights, excluded)]
            for h in needs
        ]
        total += _best(needs, options, by_id, weights, 0, {})
    return total


def _best(
    needs: list[HrdProfile],
    options: list[list[int]],
    by_id: dict[int, PartnerProfile],
    weights: Weights,
    i: int,
    picks: dict[int, list[HrdProfile]],
) -> float:
    if i == len(needs):
        return objective(picks, by_id, weights)
    best = _best(needs, options, by_id, weights, i + 1, picks)
    for pid in options[i]:
        taken = picks.setdefault(pid, [])
        if len(taken) < by_id[pid].free:
            taken.append(needs[i])
            best = max(best, _best(needs, options, by_id, weights, i + 1, picks))
            taken.pop()
    return best


def integer_scale(hrd_list: Sequence[HrdProfile], partner_list: Sequence[PartnerProfile]) -> int:
    """Makes every part of a default-weights score an integer."""
    needed = math.lcm(*{max(1, len(h.expertise)) for h in hrd_list})
    capacity = math.lcm(*{max(1, p.capacity) for p in partner_list})
    return 10 * needed * capacity


def networkx_optimum(
    hrd_list: Sequence[HrdProfile],
    partner_list: Sequence[PartnerProfile],
    weights: Weights,
    excluded: frozenset[tuple[int, int]],
) -> float:
    """Reference optimum by networkx min-cost flow, built from ``score`` pair by pair."""
    scale = integer_scale(hrd_list, partner_list)
    graph = nx.DiGraph()
    needs = 0
    for h in hrd_list:
        for kind in h.wants:
            need = ("need", h.id, kind)
            needs += 1
            graph.add_edge("s", need, capacity=1, weight=0)
            graph.add_edge(need, "t", capacity=1, weight=0)
            for p in partner_list:
                s = score(h, p, weights, excluded) if p.kind == kind else None
                if s is not None:
                    value = round((s.region + s.expertise) * scale)
                    graph.add_edge(need, p.id, capacity=1, weight=-value)
    for p in partner_list:
        if p.active:
            for k in range(p.free):
                load_part = weights.load_balance * (p.free - k) / p.capacity
                graph.add_edge(p.id, ("slot", p.id, k), capacity=1,
                               weight=-round(load_part * scale))
                graph.add_edge(("slot", p.id, k), "t", capacity=1, weight=0)
    graph.add_node("s", demand=-needs)
    graph.add_node("t", demand=needs)
    return -nx.min_cost_flow_cost(graph) / scale if needs else 0.0


@contextmanager
def tiny_candidates() -> Iterator[None]:
    """Make the solver start from almost no candidates, in tiny chunks, uncached: every
    pricing round and code path runs even on small instances."""
    with mock.patch.multiple(
        solver, ROW_CANDIDATES=1, COLUMN_FACTOR=0, ADD_PER_ROW=1, CHUNK_CELLS=5, CACHE_CELLS=0
    ):
        yield


def check_valid(
    result: Sequence[Assignment],
    hrd_list: Sequence[HrdProfile],
    partner_list: Sequence[PartnerProfile],
    weights: Weights,
    excluded: frozenset[tuple[int, int]],
) -> None:
    """Hard rules, capacities, one partner per need, and batch-load scores."""
    hrd_by_id = {h.id: h for h in hrd_list}
    by_id = {p.id: p for p in partner_list}
    assert len({(a.hrd_id, a.kind) for a in result}) == len(result)
    loads: dict[int, list[int]] = {}
    for a in result:
        h, p = hrd_by_id[a.hrd_id], by_id[a.partner_id]
        assert a.kind == p.kind and a.kind in h.wants
        assert score(h, p, weights, excluded) is not None
        assert a.score == pair_score(h, p, weights, a.score.load)
        loads.setdefault(p.id, []).append(a.score.load)
    for pid, taken in loads.items():
        p = by_id[pid]
        assert len(taken) <= p.free
        assert sorted(taken) == list(range(p.load, p.load + len(taken)))

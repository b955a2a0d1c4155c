"""Exact batch assignment, greedy baseline and candidate lists."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.assignment import assign, candidates, greedy_assign, total_score
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Weights, score
from tests.support.matching_strategies import (
    WEIGHTS,
    brute_force,
    check_valid,
    hrds,
    networkx_optimum,
    partners,
    random_instance,
    tiny_candidates,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(
    draw: st.DrawFn,
) -> tuple[list[HrdProfile], list[PartnerProfile], Weights, frozenset[tuple[int, int]]]:
    h, p = draw(hrds()), draw(partners())
    pairs = [(x.id, y.id) for x in h for y in p]
    excluded = draw(st.frozensets(st.sampled_from(pairs), max_size=3)) if pairs else frozenset()
    return h, p, draw(WEIGHTS), excluded


@SETTINGS
@given(instances())
def test_exact_on_small_instances(
    case: tuple[list[HrdProfile], list[PartnerProfile], Weights, frozenset[tuple[int, int]]],
) -> None:
    h, p, weights, excluded = case
    result = assign(h, p, weights, excluded)
    check_valid(result, h, p, weights, excluded)
    best = brute_force(h, p, weights, excluded)
    assert total_score(result) == pytest.approx(best, abs=1e-9)

    with tiny_candidates():
        again = assign(h, p, weights, excluded)
    check_valid(again, h, p, weights, excluded)
    assert total_score(again) == pytest.approx(best, abs=1e-9)

    greedy = greedy_assign(h, p, weights, excluded)
    check_valid(greedy, h, p, weights, excluded)
    assert total_score(greedy) <= total_score(result) + 1e-9

    shuffled_h, shuffled_p = h[::-1], p[::-1]
    assert assign(shuffled_h, shuffled_p, weights, set(excluded)) == result


@pytest.mark.parametrize("seed", range(4))
def test_exact_on_medium_instances_against_networkx(seed: int) -> None:
    rng = random.Random(seed)
    h, p, excluded = random_instance(rng, 120, 30)
    weights = Weights()
    reference = networkx_optimum(h, p, weights, excluded)
    result = assign(h, p, weights, excluded)
    check_valid(result, h, p, weights, excluded)
    assert total_score(result) == pytest.approx(reference, abs=1e-6)
    with tiny_candidates():
        forced = assign(h, p, weights, excluded)
    assert total_score(forced) == pytest.approx(reference, abs=1e-6)
    greedy = greedy_assign(h, p, weights, excluded)
    check_valid(greedy, h, p, weights, excluded)
    assert total_score(greedy) <= reference + 1e-6


def test_deterministic() -> None:
    h, p, excluded = random_instance(random.Random(7), 300, 60)
    first = assign(h, p, Weights(), excluded)
    assert first == assign(list(reversed(h)), list(reversed(p)), Weights(), excluded)
    assert [(a.hrd_id, a.kind) for a in first] == sorted((a.hrd_id, a.kind) for a in first)
    assert greedy_assign(h, p, Weights(), excluded) == greedy_assign(h, p, Weights(), excluded)


def test_load_balance_spreads_a_batch() -> None:
    twins = [
        PartnerProfile(id=i, kind="mp", regions=frozenset({"KE"}), languages=frozenset({"sw"}),
                       expertise=frozenset(), capacity=4, load=0)
        for i in (1, 2)
    ]
    people = [
        HrdProfile(id=i, country="KE", languages=frozenset({"sw"}), expertise=frozenset(),
                   wants=frozenset({"mp"}))
        for i in range(1, 5)
    ]
    result = assign(people, twins, Weights())
    assert sorted(a.partner_id for a in result) == [1, 1, 2, 2]
    assert sorted(a.score.load for a in result) == [0, 0, 1, 1]
    assert "load 1 of 4" in result[-1].score.explain() or "load 0 of 4" in result[-1].score.explain()


def test_unmet_needs_stay_unassigned() -> None:
    lonely = HrdProfile(id=1, country="BR", languages=frozenset({"pt"}), expertise=frozenset(),
                        wants=frozenset({"mp", "journalist"}))
    mp = PartnerProfile(id=9, kind="mp", regions=frozenset({"global"}),
                        languages=frozenset({"pt"}), expertise=frozenset(), capacity=1, load=0)
    result = assign([lonely], [mp], Weights())
    assert [(a.hrd_id, a.kind, a.partner_id) for a in result] == [(1, "mp", 9)]
    assert assign([lonely], [mp], Weights(), {(1, 9)}) == []
    assert assign([], [mp], Weights()) == [] and assign([lonely], [], Weights()) == []


def test_duplicate_ids_are_rejected() -> None:
    h, p, _ = random_instance(random.Random(1), 3, 3)
    with pytest.raises(ValueError, match="duplicate HRD"):
        assign([h[0], h[0]], p, Weights())


def test_candidates_are_sorted_feasible_and_limited() -> None:
    h, p, excluded = random_instance(random.Random(3), 40, 80)
    weights = Weights()
    for person in h:
        everyone = [x for x in p if score(person, x, weights, excluded) is not None]
        best = candidates(person, p, weights, excluded, k=5)
        assert len(best) == min(5, len(everyone))
        keys = [(-s.total, x.id) for x, s in best]
        assert keys == sorted(keys)
        assert all(score(person, x, weights, excluded) == s for x, s in best)
        if best:
            top = max(score(person, x, weights, excluded).total for x in everyone)  # type: ignore[union-attr]
            assert best[0][1].total == top
        for kind in person.wants:
            only = candidates(person, p, weights, excluded, kind=kind)
            assert len(only) <= 3 and all(x.kind == kind for x, _ in only)


def test_candidates_tie_break_by_partner_id() -> None:
    person = HrdProfile(id=1, country="KE", languages=frozenset({"sw"}), expertise=frozenset(),
                        wants=frozenset({"lawyer"}))
    same = [
        PartnerProfile(id=i, kind="lawyer", regions=frozenset({"Africa"}),
                       languages=frozenset({"sw"}), expertise=frozenset(), capacity=2, load=0)
        for i in (5, 3, 4)
    ]
    assert [x.id for x, _ in candidates(person, same, Weights(), k=2)] == [3, 4]

"""The exact solver against an LP reference, and the dense scorer against ``score``."""

from __future__ import annotations

import random

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from matching.problem import split_by_kind
from matching.scoring import Weights, score
from matching.solver import solve
from tests.support.matching_strategies import ALL_LANGUAGES, random_instance, tiny_candidates


def lp_optimum(base: np.ndarray, slots: list[np.ndarray]) -> float:
    """Optimum of the transportation LP (totally unimodular, so integral) by HiGHS."""
    rows, cols = np.nonzero(np.isfinite(base))
    n, m, e = base.shape[0], base.shape[1], len(rows)
    slot_col = np.repeat(np.arange(m), [len(s) for s in slots])
    k = len(slot_col)
    if e == 0 or k == 0:
        return 0.0
    cost = -np.concatenate([base[rows, cols], np.concatenate(slots) if k else []])
    a_ub = sp.csr_array((np.ones(e), (rows, np.arange(e))), shape=(n, e + k))
    a_eq = sp.csr_array(
        (np.r_[np.ones(e), -np.ones(k)], (np.r_[cols, slot_col], np.arange(e + k))),
        shape=(m, e + k),
    )
    bounds = [(0, None)] * e + [(0, 1)] * k
    res = linprog(cost, A_ub=a_ub, b_ub=np.ones(n), A_eq=a_eq, b_eq=np.zeros(m), bounds=bounds)
    assert res.status == 0
    return -float(res.fun)


def check(base: np.ndarray, slots: list[np.ndarray], col: np.ndarray, slot: np.ndarray) -> float:
    total = 0.0
    for i in range(base.shape[0]):
        if col[i] >= 0:
            assert np.isfinite(base[i, col[i]])
            total += base[i, col[i]] + slots[col[i]][slot[i]]
        else:
            assert slot[i] == -1
    for c, values in enumerate(slots):
        taken = sorted(slot[col == c].tolist())
        assert taken == list(range(len(taken))) and len(taken) <= len(values)
    return total


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, list[np.ndarray]]:
    n, m = draw(st.integers(1, 25)), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    integral = draw(st.booleans())  # integer values make many ties
    base = rng.integers(0, 4, size=(n, m)).astype(float) if integral else rng.random((n, m))
    base[rng.random((n, m)) < draw(st.sampled_from([0.0, 0.3, 0.8]))] = -np.inf
    slots = [np.sort(rng.random(int(rng.integers(0, 4))) * 0.5)[::-1] for _ in range(m)]
    if integral:
        slots = [np.zeros(len(s)) for s in slots]
    return base, slots


@settings(max_examples=80, deadline=None)
@given(problems())
def test_solver_matches_lp(problem: tuple[np.ndarray, list[np.ndarray]]) -> None:
    base, slots = problem
    best = lp_optimum(base, slots)
    col, slot = solve(base.shape[0], slots, lambda rows: base[rows])
    assert check(base, slots, col, slot) == pytest.approx(best, abs=1e-9)
    with tiny_candidates():
        col2, slot2 = solve(base.shape[0], slots, lambda rows: base[rows])
    assert check(base, slots, col2, slot2) == pytest.approx(best, abs=1e-9)


def test_solver_rejects_increasing_slots() -> None:
    with pytest.raises(ValueError, match="non-increasing"):
        solve(1, [np.array([0.1, 0.2])], lambda rows: np.zeros((1, 1)))


def test_solver_larger_random_problem() -> None:
    rng = np.random.default_rng(5)
    base = np.round(rng.random((400, 60)), 3)
    base[rng.random(base.shape) < 0.5] = -np.inf
    slots = [np.arange(5, 0, -1) * 0.06 for _ in range(60)]
    col, slot = solve(400, slots, lambda rows: base[rows])
    assert check(base, slots, col, slot) == pytest.approx(lp_optimum(base, slots), abs=1e-7)


@pytest.mark.parametrize("languages", [None, ALL_LANGUAGES])
def test_dense_scores_equal_pair_scores_exactly(languages: tuple[str, ...] | None) -> None:
    rng = random.Random(11)
    h, p, excluded = random_instance(rng, 60, 40, *([languages] if languages else []))
    weights = Weights(region_subregion=0.65, expertise=1.3, load_balance=0.45)
    for sub in split_by_kind(h, p, weights, excluded):
        n_rows, n_cols = sub.shape
        block = sub.block(slice(0, n_rows))
        assert block.shape == (n_rows, n_cols)
        for r, person in enumerate(sub.hrds.hrds):
            for c, partner in enumerate(sub.partners.partners):
                expected = score(person, partner, weights, excluded)
                if expected is None:
                    assert block[r, c] == -np.inf
                else:
                    assert block[r, c] + sub.slots[c][0] == expected.total  # bit for bit
        in_block = {x.id for x in sub.partners.partners}
        for partner in p:
            if partner.kind == sub.kind and partner.id not in in_block:
                assert not partner.active or partner.free == 0

"""Exact maximum-score assignment of needs (rows) to partners with slots (columns).

Row ``i`` may take one column ``p`` at value ``base[i, p]`` (``-inf`` = infeasible) or stay
unassigned at 0. Column ``p`` takes up to ``len(slots[p])`` rows; its ``j``-th row adds
``slots[p][j]`` (non-increasing in ``j``). This is a transportation problem, whose LP is
totally unimodular; it is solved exactly by *pricing* (column generation):

1. keep a sparse candidate set: each row's best columns and each column's best rows;
2. solve the candidate problem exactly with LAPJVsp (``min_weight_full_bipartite_matching``)
   on slot-expanded columns, plus a zero-value dummy column per row;
3. recover LP dual prices of the columns by shortest paths (Bellman-Ford) over the
   complementary-slackness constraints;
4. check every feasible pair of the dense problem against those prices: if no pair has a
   positive reduced value the duals certify optimality for the whole problem (LP duality);
   otherwise add the violating pairs and go back to 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

__all__ = ["solve"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
BlockFn = Callable[[slice], Floats]

ROW_CANDIDATES = 6  # best columns kept per row up front
COLUMN_FACTOR = 3  # best rows kept per column, times its free slots
ADD_PER_ROW = 4  # columns added per violating row and round
CHUNK_CELLS = 4_000_000  # dense cells scored at once
CACHE_CELLS = 40_000_000  # keep the dense blocks between rounds up to this size
EPS = 1e-12  # Bellman-Ford relaxation threshold, relative to the largest value
TOL = 1e-9  # reduced value that counts as a violation, relative to the largest value


def solve(n_rows: int, slots: list[Floats], block: BlockFn) -> tuple[Ints, Ints]:
    """Optimal assignment: ``(col, slot)`` per row, ``-1`` for an unassigned row.

    ``block(rows)`` returns ``base[rows, :]``: finite values must be non-negative, and so
    must slot values, which must not increase along a column. Slots are used in order.
    """
    n_cols = len(slots)
    unassigned = np.full(n_rows, -1, dtype=np.int64)
    if n_rows == 0 or n_cols == 0:
        return unassigned, unassigned.copy()
    if any(np.any(np.diff(s) > 0) or np.any(s < 0) for s in slots):
        raise ValueError("slot values must be non-negative and non-increasing")
    chunks = _Chunks(n_rows, n_cols, block)
    free = np.array([len(s) for s in slots], dtype=np.int64)
    first = np.array([s[0] if len(s) else 0.0 for s in slots])
    rows, cols, vals = _initial_candidates(chunks, free, first)
    while True:
        col = _solve_candidates(n_rows, slots, rows, cols, vals)
        scale = 1.0 + float(np.abs(vals).max(initial=0.0)) + float(np.abs(first).max())
        prices = _prices(n_cols, slots, rows, cols, vals, col, EPS * scale)
        new_rows, new_cols, new_vals = _violations(
            chunks, prices, rows, cols, vals, col, TOL * scale
        )
        if len(new_rows) == 0:
            break
        rows = np.concatenate([rows, new_rows])
        cols = np.concatenate([cols, new_cols])
        vals = np.concatenate([vals, new_vals])
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
    slot = np.full(n_rows, -1, dtype=np.int64)
    taken = np.zeros(n_cols, dtype=np.int64)
    for i in np.flatnonzero(col >= 0).tolist():  # fill each column's slots in row order
        slot[i] = taken[col[i]]
        taken[col[i]] += 1
    return col, slot


class _Chunks:
    """Row chunks of the dense block, cached when small enough."""

    def __init__(self, n_rows: int, n_cols: int, block: BlockFn) -> None:
        step = max(1, CHUNK_CELLS // max(1, n_cols))
        self.slices = [slice(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]
        self.block = block
        self.cache: list[Floats] | None = [] if n_rows * n_cols <= CACHE_CELLS else None

    def __iter__(self) -> Iterator[tuple[int, Floats]]:
        for k, rows in enumerate(self.slices):
            if self.cache is not None and k < len(self.cache):
                yield rows.start, self.cache[k]
                continue
            values = self.block(rows)
            if self.cache is not None:
                self.cache.append(values)
            yield rows.start, values


def _initial_candidates(chunks: _Chunks, free: Ints, first: Floats) -> tuple[Ints, Ints, Floats]:
    """Each row's best columns and each column's best rows, by value with the first slot."""
    n_cols = len(free)
    keep = int(COLUMN_FACTOR * free.max())
    parts: list[tuple[Ints, Ints, Floats]] = []
    col_vals = np.zeros((n_cols, 0))  # per column: values and rows of its best rows yet
    col_rows = np.zeros((n_cols, 0), dtype=np.int64)
    for start, values in chunks:
        score = values + first
        k = min(ROW_CANDIDATES, n_cols)
        top = np.argpartition(score, n_cols - k, axis=1)[:, n_cols - k :].ravel()
        r = np.repeat(np.arange(len(values)), k)
        parts.append((r + start, top, values[r, top]))
        if keep > 0:
            # within a column the first slot is a constant: rank by the value alone
            chunk_vals, chunk_rows = _top_per_row(np.ascontiguousarray(values.T), keep)
            col_vals, col_rows = _top_per_row(
                np.hstack([col_vals, chunk_vals]), keep, np.hstack([col_rows, chunk_rows + start])
            )
    col_c = np.repeat(np.arange(n_cols), col_vals.shape[1])
    parts.append((col_rows.ravel(), col_c, col_vals.ravel()))
    rows = np.concatenate([part[0] for part in parts])
    cols = np.concatenate([part[1] for part in parts])
    vals = np.concatenate([part[2] for part in parts])
    ok = np.isfinite(vals)
    rows, cols, vals = rows[ok], cols[ok], vals[ok]
    _, unique = np.unique(rows * n_cols + cols, return_index=True)
    return rows[unique], cols[unique], vals[unique]


def _top_per_row(
    values: Floats, keep: int, labels: Ints | None = None
) -> tuple[Floats, Ints]:
    """The ``keep`` largest entries of each row and their labels (column index by default)."""
    width = values.shape[1]
    if width <= keep:
        index = np.broadcast_to(np.arange(width), values.shape)
    else:
        index = np.argpartition(values, width - keep, axis=1)[:, width - keep :]
    top = np.take_along_axis(values, index, axis=1)
    if labels is None:
        return top, np.array(index, dtype=np.int64)
    return top, np.take_along_axis(labels, index, axis=1)


def _solve_candidates(
    n_rows: int, slots: list[Floats], rows: Ints, cols: Ints, vals: Floats
) -> Ints:
    """Optimal column per row (``-1`` unassigned) on the candidate pairs, via LAPJVsp.

    The matching runs from slots to rows: each slot takes one row or its own zero-value
    dummy. Slots are fewer than rows, which makes LAPJVsp several times faster. All values
    are non-negative, so filling a slot never lowers the total.
    """
    free = np.array([len(s) for s in slots], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(free)])
    flat_slots = np.concatenate(slots) if slots else np.zeros(0)
    count = free[cols]
    edge = np.repeat(np.arange(len(rows)), count)
    within = np.arange(len(edge)) - np.repeat(np.cumsum(count) - count, count)
    slot_of = offset[cols[edge]] + within
    value = vals[edge] + flat_slots[slot_of]
    big = (float(value.max()) if len(value) else 0.0) + 1.0
    n_slots = int(offset[-1])
    graph = sp.csr_array(
        (
            np.concatenate([big - value, np.full(n_slots, big)]),
            (
                np.concatenate([slot_of, np.arange(n_slots)]),
                np.concatenate([rows[edge], n_rows + np.arange(n_slots)]),
            ),
        ),
        shape=(n_slots, n_rows + n_slots),
    )
    slot_ind, row_ind = min_weight_full_bipartite_matching(graph)
    col = np.full(n_rows, -1, dtype=np.int64)
    real = row_ind < n_rows
    col[row_ind[real]] = np.searchsorted(offset, slot_ind[real], side="right") - 1
    return col


def _prices(
    n_cols: int,
    slots: list[Floats],
    rows: Ints,
    cols: Ints,
    vals: Floats,
    col: Ints,
    eps: float,
) -> Floats:
    """Column dual prices certifying the candidate solution: the largest that satisfy
    complementary slackness, found as shortest paths from a zero node (index ``n_cols``)."""
    zero = n_cols
    assigned = col[rows]
    mine = assigned == cols
    own_val = np.full(len(col), np.nan)
    own_val[rows[mine]] = vals[mine]
    swap = (assigned >= 0) & ~mine  # price[assigned] <= price[other] + own - other
    out = assigned < 0  # price[c] >= value
    used = np.bincount(col[col >= 0], minlength=n_cols)
    free = np.array([len(s) for s in slots], dtype=np.int64)
    has_used, has_free = np.flatnonzero(used > 0), np.flatnonzero(used < free)
    src = np.concatenate(
        [cols[swap], np.full(int(mine.sum()), zero), cols[out], has_used, np.full(len(has_free), zero)]
    )
    dst = np.concatenate(
        [assigned[swap], cols[mine], np.full(int(out.sum()), zero), np.full(len(has_used), zero),
         has_free]
    )
    weight = np.concatenate(
        [
            own_val[rows[swap]] - vals[swap],
            vals[mine],
            -vals[out],
            np.array([slots[p][used[p] - 1] for p in has_used.tolist()]),
            -np.array([slots[p][used[p]] for p in has_free.tolist()]),
        ]
    )
    return _bellman_ford(n_cols + 1, zero, src, dst, weight, eps)[:n_cols]


def _bellman_ford(
    n: int, source: int, src: Ints, dst: Ints, weight: Floats, eps: float
) -> Floats:
    """Shortest distances from ``source``; relaxes only by more than ``eps``, so that float
    rounding cannot make a zero-weight cycle look negative."""
    order = np.argsort(dst, kind="stable")
    src, dst, weight = src[order], dst[order], weight[order]
    heads, starts = np.unique(dst, return_index=True)
    dist = np.full(n, np.inf)
    dist[source] = 0.0
    for _ in range(n + 1):
        best = np.minimum.reduceat(dist[src] + weight, starts) if len(src) else starts * 0.0
        better = best < dist[heads] - eps
        if not better.any():
            return dist
        dist[heads[better]] = best[better]
    raise RuntimeError("negative cycle: the candidate assignment is not optimal")


def _violations(
    chunks: _Chunks,
    prices: Floats,
    rows: Ints,
    cols: Ints,
    vals: Floats,
    col: Ints,
    tol: float,
) -> tuple[Ints, Ints, Floats]:
    """Pairs whose reduced value beats their row's current one; empty means optimal."""
    current = np.zeros(len(col))
    mine = col[rows] == cols
    current[rows[mine]] = vals[mine] - prices[cols[mine]]
    out_r: list[Ints] = []
    out_c: list[Ints] = []
    out_v: list[Floats] = []
    for start, values in chunks:
        reduced = values - prices
        here = current[start : start + len(values)]
        bad = np.flatnonzero(reduced.max(axis=1) > here + tol)
        if len(bad) == 0:
            continue
        sub = reduced[bad]
        k = min(ADD_PER_ROW, sub.shape[1])
        top = np.argpartition(-sub, k - 1, axis=1)[:, :k]
        r = np.repeat(bad, k)
        c = top.ravel()
        gain = reduced[r, c] > here[r] + tol
        r, c = r[gain], c[gain]
        out_r.append(r + start)
        out_c.append(c)
        out_v.append(values[r, c])
    if not out_r:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    new_r, new_c = np.concatenate(out_r), np.concatenate(out_c)
    known = np.isin(new_r * len(prices) + new_c, rows * len(prices) + cols)
    return new_r[~known], new_c[~known], np.concatenate(out_v)[~known]

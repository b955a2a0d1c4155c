"""Benchmark of the matching engine (not a test): ours (exact) vs networkx min-cost flow
vs greedy on seeded realistic random profiles. Results: benchmarks/README.md, "## Matching".

    .venv/bin/python benchmarks/matching.py [--hrds N] [--partners N] [--capacity N]
                                            [--seed N] [--no-networkx]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.assignment import assign, greedy_assign, total_score  # noqa: E402
from matching.m49 import m49_table  # noqa: E402
from matching.problem import KindProblem, split_by_kind  # noqa: E402
from matching.profiles import HrdProfile, PartnerProfile  # noqa: E402
from matching.scoring import Weights  # noqa: E402
from matching.vocabulary import (  # noqa: E402
    DEFAULT_EXPERTISE,
    GLOBAL,
    PARTNER_KINDS,
    country_region,
    country_subregion,
)

# Languages spoken per geoscheme sub-region, with rough weights.
LANGUAGES: dict[str, list[tuple[str, int]]] = {
    "Eastern Africa": [("sw", 5), ("en", 5), ("fr", 2), ("am", 2), ("so", 1), ("rw", 1)],
    "Middle Africa": [("fr", 6), ("ln", 2), ("pt", 2), ("en", 1), ("sg", 1)],
    "Southern Africa": [("en", 6), ("zu", 2), ("af", 1), ("xh", 1), ("pt", 1), ("st", 1)],
    "Western Africa": [("fr", 5), ("en", 5), ("ha", 2), ("yo", 2), ("wo", 1), ("ig", 1)],
    "Northern Africa": [("ar", 7), ("fr", 3), ("en", 2)],
    "Caribbean": [("es", 4), ("en", 4), ("fr", 2), ("ht", 1)],
    "Central America": [("es", 8), ("en", 2)],
    "South America": [("es", 6), ("pt", 4), ("en", 2), ("qu", 1)],
    "Northern America": [("en", 8), ("es", 2), ("fr", 1)],
    "Central Asia": [("ru", 5), ("kk", 2), ("uz", 2), ("ky", 1), ("tg", 1), ("en", 1)],
    "Eastern Asia": [("zh", 5), ("en", 3), ("ja", 1), ("ko", 1), ("mn", 1)],
    "South-eastern Asia": [
        ("en", 4), ("tl", 2), ("id", 2), ("th", 1), ("vi", 1), ("my", 1), ("km", 1), ("ms", 1),
    ],
    "Southern Asia": [
        ("en", 4), ("hi", 3), ("ur", 2), ("bn", 2), ("ne", 1), ("ta", 1), ("fa", 1), ("ps", 1),
    ],
    "Western Asia": [
        ("ar", 5), ("tr", 2), ("en", 2), ("fa", 1), ("he", 1), ("hy", 1), ("ka", 1), ("az", 1),
    ],
    "Eastern Europe": [("ru", 5), ("uk", 2), ("pl", 1), ("be", 1), ("ro", 1), ("hu", 1), ("en", 2)],
    "Northern Europe": [("en", 6), ("sv", 1), ("da", 1), ("no", 1), ("fi", 1), ("lt", 1)],
    "Southern Europe": [("it", 2), ("es", 2), ("pt", 1), ("el", 1), ("sr", 1), ("en", 3)],
    "Western Europe": [("de", 3), ("fr", 3), ("nl", 2), ("en", 4)],
    "Australia and New Zealand": [("en", 9), ("mi", 1)],
    "Melanesia": [("en", 4), ("fr", 2), ("fj", 1), ("bi", 1)],
    "Micronesia": [("en", 9)],
    "Polynesia": [("en", 5), ("sm", 2), ("to", 1), ("fr", 2)],
}
# Where HRDs at risk are concentrated (weight); every other M49 country has weight 1.
HRD_HOTSPOTS = {
    "CO": 40, "BR": 30, "MX": 30, "PH": 30, "IN": 25, "RU": 20, "CN": 20, "HN": 15, "GT": 15,
    "KE": 15, "UG": 15, "CD": 15, "NG": 15, "BY": 15, "TR": 15, "IR": 15, "EG": 15, "MM": 15,
    "PK": 15, "BD": 15, "VE": 15, "ET": 12, "ID": 12, "ZW": 10, "KH": 10, "VN": 10, "TH": 10,
    "AF": 10, "NI": 10, "PE": 10, "SD": 10, "TZ": 10, "UA": 10, "SA": 8, "AZ": 8, "HK": 8,
    "SY": 8, "IQ": 8, "ZA": 8, "CM": 8, "CU": 8, "SS": 5, "BI": 5, "TJ": 5, "YE": 5, "ML": 5,
    "BF": 5, "GN": 5, "HT": 5, "BO": 5, "EC": 5, "GE": 5, "KZ": 5, "UZ": 5,
}
# Where partners are based, on top of half the HRD weights.
PARTNER_HOMES = {
    "US": 40, "GB": 30, "DE": 25, "FR": 25, "NL": 15, "CA": 15, "SE": 10, "NO": 10, "BE": 10,
    "ES": 10, "IT": 10, "AU": 10, "CH": 10,
}
EXPERTISE_WEIGHTS = [6, 5, 3, 2, 3, 3, 2, 2, 2, 3, 4]


def _languages_of(country: str) -> list[tuple[str, int]]:
    return LANGUAGES.get(country_subregion(country) or "", [("en", 1)])


def _sample(rng: random.Random, pool: Sequence[tuple[str, int]], k: int) -> frozenset[str]:
    """Up to ``k`` distinct weighted picks from ``pool``."""
    items = list(pool)
    picked: set[str] = set()
    while items and len(picked) < k:
        (value, _), = rng.choices([(v, w) for v, w in items], weights=[w for _, w in items])
        picked.add(value)
        items = [(v, w) for v, w in items if v != value]
    return frozenset(picked)


def generate(
    n_hrds: int, n_partners: int, capacity: int, seed: int
) -> tuple[list[HrdProfile], list[PartnerProfile], frozenset[tuple[int, int]]]:
    """Seeded realistic random HRDs, partners and excluded pairs."""
    rng = random.Random(seed)
    countries = sorted(cc for cc, entry in m49_table().items() if entry.region)
    hrd_w = [HRD_HOTSPOTS.get(cc, 1) for cc in countries]
    partner_w = [PARTNER_HOMES.get(cc, 0) + HRD_HOTSPOTS.get(cc, 1) / 2 for cc in countries]
    expertise = list(zip(DEFAULT_EXPERTISE, EXPERTISE_WEIGHTS, strict=True))
    hotspots = sorted(HRD_HOTSPOTS)

    hrds = []
    for i in range(n_hrds):
        country = rng.choices(countries, weights=hrd_w)[0]
        hrds.append(
            HrdProfile(
                id=i + 1,
                country=country,
                languages=_sample(rng, _languages_of(country), rng.randint(1, 3)),
                expertise=_sample(rng, expertise, rng.randint(1, 3)),
                wants=frozenset(rng.sample(PARTNER_KINDS, rng.choice((1, 1, 1, 2, 2)))),
            )
        )
    partners = []
    for j in range(n_partners):
        home = rng.choices(countries, weights=partner_w)[0]
        roll = rng.random()
        if roll < 0.35:
            regions = {home} | set(rng.sample(hotspots, rng.randint(0, 2)))
        elif roll < 0.65:
            picks = [home] + rng.sample(hotspots, rng.randint(0, 1))
            regions = {country_subregion(cc) or GLOBAL for cc in picks}
        elif roll < 0.85:
            regions = {country_region(rng.choice(hotspots)) or GLOBAL}
        else:
            regions = {GLOBAL}
        languages = set(_sample(rng, _languages_of(home), rng.randint(1, 2)))
        if rng.random() < 0.7:
            languages.add("en")
        if rng.random() < 0.2:
            languages.add(rng.choice(("fr", "es", "ar", "ru", "pt")))
        partners.append(
            PartnerProfile(
                id=j + 1,
                kind=rng.choice(PARTNER_KINDS),
                regions=frozenset(regions),
                languages=frozenset(languages),
                expertise=_sample(rng, expertise, rng.randint(1, 4)),
                capacity=capacity,
                load=rng.randint(0, capacity // 2),
                active=rng.random() < 0.95,
            )
        )
    excluded = frozenset(
        (h.id, rng.randint(1, n_partners)) for h in hrds if rng.random() < 0.02
    )
    return hrds, partners, excluded


def integer_scale(hrds: Sequence[HrdProfile], partners: Sequence[PartnerProfile],
                  weights: Weights) -> int:
    """A factor that makes every score part an integer (networkx needs integer weights):
    10^decimals of the weights x lcm of the expertise counts x lcm of the capacities."""
    decimals = max(len(f"{getattr(weights, f.name)!r}".partition(".")[2].rstrip("0"))
                   for f in fields(weights))
    needed = math.lcm(*{max(1, len(h.expertise)) for h in hrds})
    capacity = math.lcm(*{p.capacity for p in partners if p.capacity > 0})
    return 10**decimals * needed * capacity


def networkx_total(problems: Sequence[KindProblem], scale: int) -> tuple[float, float, int]:
    """Optimum by networkx min-cost flow on the full feasible graph of ``problems``.

    Returns (total score, seconds spent in the solver, number of edges). Graph: source ->
    need -> partner -> slot -> sink, plus need -> sink at 0 so that any need may stay open.
    """
    graph = nx.DiGraph()
    needs = 0
    worst = 0.0
    for k, sub in enumerate(problems):
        n_rows, n_cols = sub.shape
        if n_rows == 0:
            continue
        needs += n_rows
        graph.add_edges_from((("s", ("n", k, r)) for r in range(n_rows)), capacity=1, weight=0)
        graph.add_edges_from(((("n", k, r), "t") for r in range(n_rows)), capacity=1, weight=0)
        for c, values in enumerate(sub.slots):
            for j, value in enumerate(values.tolist()):
                worst = max(worst, abs(value * scale - round(value * scale)))
                graph.add_edge(("p", k, c), ("q", k, c, j), capacity=1,
                               weight=-round(value * scale))
                graph.add_edge(("q", k, c, j), "t", capacity=1, weight=0)
        if n_cols == 0:
            continue
        base = sub.block(slice(0, n_rows))
        rows, cols = np.nonzero(np.isfinite(base))
        scaled = base[rows, cols] * scale
        worst = max(worst, float(np.abs(scaled - np.round(scaled)).max(initial=0.0)))
        graph.add_edges_from(
            (("n", k, r), ("p", k, c), {"capacity": 1, "weight": -w})
            for r, c, w in zip(rows.tolist(), cols.tolist(), np.round(scaled).astype(np.int64)
                               .tolist(), strict=True)
        )
    assert worst < 1e-6, f"scale {scale} leaves a rounding error of {worst}"
    graph.add_node("s", demand=-needs)
    graph.add_node("t", demand=needs)
    started = time.perf_counter()
    cost = nx.min_cost_flow_cost(graph)
    return -cost / scale, time.perf_counter() - started, graph.number_of_edges()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hrds", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=2_000)
    parser.add_argument("--capacity", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the best is shown")
    parser.add_argument("--no-networkx", action="store_true", help="skip networkx")
    args = parser.parse_args(argv)

    hrds, partners, excluded = generate(args.hrds, args.partners, args.capacity, args.seed)
    weights = Weights()
    needs = sum(len(h.wants) for h in hrds)
    slots = sum(p.free for p in partners if p.active)
    print(f"{args.hrds} HRDs ({needs} needs), {args.partners} partners of capacity "
          f"{args.capacity} ({slots} free slots), {len(excluded)} excluded pairs, seed {args.seed}")

    ours_s = math.inf
    for _ in range(args.repeat):
        started = time.perf_counter()
        ours = assign(hrds, partners, weights, excluded)
        ours_s = min(ours_s, time.perf_counter() - started)
    ours_total = total_score(ours)
    print(f"ours (exact):   {ours_s:8.3f} s  total {ours_total:.6f}  assigned {len(ours)}")

    started = time.perf_counter()
    greedy = greedy_assign(hrds, partners, weights, excluded)
    greedy_s = time.perf_counter() - started
    greedy_total = total_score(greedy)
    print(f"greedy:         {greedy_s:8.3f} s  total {greedy_total:.6f}  assigned {len(greedy)}"
          f"  quality ours/greedy {ours_total / greedy_total:.4f}")
    assert ours_total >= greedy_total - 1e-6

    if args.no_networkx:
        return
    scale = integer_scale(hrds, partners, weights)
    started = time.perf_counter()
    problems = split_by_kind(hrds, partners, weights, excluded)
    nx_total, nx_s, edges = networkx_total(problems, scale)
    build_s = time.perf_counter() - started - nx_s
    print(f"networkx:       {nx_s:8.3f} s  total {nx_total:.6f}  ({edges} edges, integer "
          f"scale {scale}, graph built in {build_s:.1f} s)  time networkx/ours "
          f"{nx_s / ours_s:.1f}x")
    assert abs(nx_total - ours_total) <= 1e-6, (nx_total, ours_total)
    print("objectives equal within 1e-6")


if __name__ == "__main__":
    main()

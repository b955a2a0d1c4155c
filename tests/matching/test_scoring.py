"""Hard rules, score parts and their plain-words explanation."""

from __future__ import annotations

import pytest

from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import HardRule, RegionLevel, Weights, hard_rule_failure, region_match, score

W = Weights()


def hrd(**changes: object) -> HrdProfile:
    fields: dict[str, object] = {
        "id": 1,
        "country": "KE",
        "languages": frozenset({"sw", "en"}),
        "expertise": frozenset({"land-rights", "environment", "detention"}),
        "wants": frozenset({"lawyer", "mp"}),
    }
    fields.update(changes)
    return HrdProfile(**fields)  # type: ignore[arg-type]


def partner(**changes: object) -> PartnerProfile:
    fields: dict[str, object] = {
        "id": 7,
        "kind": "lawyer",
        "regions": frozenset({"KE"}),
        "languages": frozenset({"sw", "fr"}),
        "expertise": frozenset({"land-rights", "environment", "press-freedom"}),
        "capacity": 5,
        "load": 1,
    }
    fields.update(changes)
    return PartnerProfile(**fields)  # type: ignore[arg-type]


def test_explain_wording() -> None:
    s = score(hrd(), partner(), W)
    assert s is not None
    assert s.explain() == (
        "covers KE; expertise 2 of 3: environment, land-rights; shared language: sw; load 1 of 5"
    )


def test_parts_add_up_and_are_exposed() -> None:
    s = score(hrd(), partner(), W)
    assert s is not None
    assert s.region == W.region_country
    assert s.expertise == pytest.approx(2 / 3)
    assert s.load_balance == pytest.approx(0.3 * 4 / 5)
    assert s.total == s.region + s.expertise + s.load_balance
    assert s.region_level is RegionLevel.COUNTRY and s.region_token == "KE"
    assert s.expertise_matched == ("environment", "land-rights")
    assert s.expertise_needed == ("detention", "environment", "land-rights")
    assert s.languages == ("sw",)
    assert (s.load, s.capacity) == (1, 5)


@pytest.mark.parametrize(
    ("regions", "level", "weight", "words"),
    [
        ({"KE", "Africa"}, RegionLevel.COUNTRY, 1.0, "covers KE"),
        ({"Eastern Africa", "global"}, RegionLevel.SUBREGION, 0.7, "covers Eastern Africa"),
        ({"Sub-Saharan Africa"}, RegionLevel.SUBREGION, 0.7, "covers Sub-Saharan Africa"),
        ({"Africa", "global"}, RegionLevel.REGION, 0.4, "covers Africa"),
        ({"global", "FR"}, RegionLevel.GLOBAL, 0.1, "global coverage"),
        ({"FR", "Europe", "Western Africa"}, RegionLevel.NONE, 0.0, "no regional coverage"),
        (set(), RegionLevel.NONE, 0.0, "no regional coverage"),
    ],
)
def test_region_levels(regions: set[str], level: RegionLevel, weight: float, words: str) -> None:
    s = score(hrd(), partner(regions=frozenset(regions)), W)
    assert s is not None
    assert s.region_level is level and s.region == weight
    assert s.explain().startswith(words + ";")


def test_region_match_without_m49_groupings() -> None:
    assert region_match("TW", frozenset({"Eastern Asia", "global"})) == (RegionLevel.GLOBAL, "global")
    assert region_match("AQ", frozenset({"AQ"})) == (RegionLevel.COUNTRY, "AQ")


def test_expertise_edge_cases() -> None:
    none_needed = score(hrd(expertise=frozenset()), partner(), W)
    assert none_needed is not None and none_needed.expertise == 0.0
    assert "no expertise requested" in none_needed.explain()
    none_matched = score(hrd(expertise=frozenset({"detention"})), partner(), W)
    assert none_matched is not None and none_matched.expertise == 0.0
    assert "; expertise 0 of 1; " in none_matched.explain()
    all_matched = score(hrd(expertise=frozenset({"environment"})), partner(), W)
    assert all_matched is not None and all_matched.expertise == 1.0


def test_languages_and_load_words() -> None:
    s = score(hrd(), partner(languages=frozenset({"sw", "en"}), load=0, capacity=2), W)
    assert s is not None
    assert "shared languages: en, sw" in s.explain()
    assert s.explain().endswith("load 0 of 2")
    assert s.load_balance == pytest.approx(0.3)


def test_more_free_capacity_scores_higher() -> None:
    totals = []
    for load in range(5):
        s = score(hrd(), partner(load=load), W)
        assert s is not None
        totals.append(s.total)
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 5


@pytest.mark.parametrize(
    ("h", "p", "excluded", "rule"),
    [
        (hrd(wants=frozenset({"mp"})), partner(), frozenset(), HardRule.KIND),
        (hrd(languages=frozenset({"en"})), partner(), frozenset(), HardRule.LANGUAGE),
        (hrd(), partner(active=False), frozenset(), HardRule.INACTIVE),
        (hrd(), partner(load=5), frozenset(), HardRule.FULL),
        (hrd(), partner(load=9), frozenset(), HardRule.FULL),
        (hrd(), partner(capacity=0, load=0), frozenset(), HardRule.FULL),
        (hrd(), partner(), frozenset({(1, 7)}), HardRule.EXCLUDED),
    ],
)
def test_hard_rules(
    h: HrdProfile, p: PartnerProfile, excluded: frozenset[tuple[int, int]], rule: HardRule
) -> None:
    assert hard_rule_failure(h, p, excluded) is rule
    assert score(h, p, W, excluded) is None


def test_feasible_pair_breaks_no_rule() -> None:
    assert hard_rule_failure(hrd(), partner(), frozenset({(1, 8), (2, 7)})) is None


def test_weights_are_validated() -> None:
    custom = Weights(region_country=2.0, expertise=0.0, load_balance=0.0)
    s = score(hrd(), partner(), custom)
    assert s is not None and s.total == 2.0
    with pytest.raises(ValueError, match="expertise"):
        Weights(expertise=-1.0)
    with pytest.raises(ValueError, match="load_balance"):
        Weights(load_balance=float("nan"))


def test_profiles_reject_negative_numbers() -> None:
    with pytest.raises(ValueError):
        partner(capacity=-1)
    assert partner(capacity=3, load=5).free == 0

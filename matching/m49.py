"""UN M49 groupings (region, sub-region, intermediate region) read from the shipped CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["M49Entry", "m49_table"]


@dataclass(frozen=True, slots=True)
class M49Entry:
    """One M49 row; an empty string means M49 assigns no grouping at that level."""

    alpha2: str
    m49: str
    region: str
    subregion: str
    intermediate_region: str

    @property
    def groupings(self) -> tuple[str, ...]:
        """The country's groupings below its region, most specific first."""
        return tuple(g for g in (self.intermediate_region, self.subregion) if g)


@cache
def m49_table() -> dict[str, M49Entry]:
    """Map ISO alpha-2 code to its M49 entry (loaded once from ``data/m49.csv``)."""
    text = resources.files("matching").joinpath("data/m49.csv").read_text(encoding="utf-8")
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    table: dict[str, M49Entry] = {}
    for row in csv.DictReader(lines):
        table[row["alpha2"]] = M49Entry(
            alpha2=row["alpha2"],
            m49=row["m49"],
            region=row["region"],
            subregion=row["subregion"],
            intermediate_region=row["intermediate_region"],
        )
    return table

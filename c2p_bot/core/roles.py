"""Roles and partner kinds."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    HRD = "hrd"
    PARTNER = "partner"


PARTNER_KINDS = ("mp", "lawyer", "journalist")
ALL_ROLES = frozenset(Role)

"""What the matching engine is fed (profiles, loads, exclusions) and how its answers are shown.

Read by the matching flow (c2p_bot.core.matching_flow) and the matching commands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from sqlmodel import Session, col, func, select

from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.settings import CoreSettings
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import RegionLevel, Score, Weights
from storage.models import Match, Person, Proposal

OPEN = ("pending", "offered")
EXCLUDING = ("declined", "rejected", "expired")


class HasSettings(Protocol):
    @property
    def config(self) -> CoreSettings: ...


STATE_NAMES = {
    "pending": N_("waiting for a coordinator"),
    "offered": N_("offered to the partner"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "rejected": N_("rejected"),
    "expired": N_("lapsed"),
    "superseded": N_("superseded"),
}


# -- profiles -------------------------------------------------------------------------------------------


def csv_set(value: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in (value or "").split(",") if p.strip())


def weights(core: HasSettings) -> Weights:
    return Weights(**core.config.matching.weights.model_dump())


def hrd_profile(person: Person, wants: Iterable[str]) -> HrdProfile:
    return HrdProfile(id=person.id or 0, country=person.country or "", languages=csv_set(person.languages),
                      expertise=csv_set(person.expertise), wants=frozenset(wants))


def _counts(session: Session, query: Any) -> dict[int, int]:
    return {int(pid): int(n) for pid, n in session.exec(query).all()}


def loads(session: Session, *, pending: bool) -> dict[int, int]:
    """Taken places by partner id: active matches and open offers (and pending proposals if asked)."""
    states = OPEN if pending else ("offered",)
    matches = _counts(session, select(Match.partner_id, func.count()).where(Match.status == "active")
                      .group_by(col(Match.partner_id)))
    offers = _counts(session, select(Proposal.partner_id, func.count()).where(col(Proposal.status).in_(states))
                     .group_by(col(Proposal.partner_id)))
    return {pid: matches.get(pid, 0) + offers.get(pid, 0) for pid in matches.keys() | offers.keys()}


def partner_profile(person: Person, load: int) -> PartnerProfile:
    return PartnerProfile(
        id=person.id or 0, kind=person.kind or "", regions=csv_set(person.regions), languages=csv_set(person.languages),
        expertise=csv_set(person.expertise), capacity=max(0, person.capacity), load=load,
        active=person.status == "active" and person.available)


def partner_profiles(session: Session, *, pending: bool, kinds: Iterable[str] | None = None) -> list[PartnerProfile]:
    taken = loads(session, pending=pending)
    query = select(Person).where(Person.role == "partner", Person.status == "active", col(Person.kind).is_not(None))
    if kinds is not None:
        query = query.where(col(Person.kind).in_(tuple(kinds)))
    return [partner_profile(p, taken.get(p.id or 0, 0)) for p in session.exec(query.order_by(col(Person.id))).all()]


def excluded(session: Session) -> set[tuple[int, int]]:
    """Pairs the engine must not propose: declined, rejected, lapsed, already or formerly matched."""
    pairs = set(session.exec(select(Proposal.hrd_id, Proposal.partner_id).where(
        col(Proposal.status).in_(EXCLUDING))).all())
    pairs |= set(session.exec(select(Match.hrd_id, Match.partner_id).where(
        col(Match.status).in_(("active", "ended")))).all())
    return {(int(h), int(p)) for h, p in pairs}


def open_needs(session: Session, hrd: Person, *, keep_pending: bool) -> set[str]:
    """Kinds the HRD wants that have no active match and no offer (and no pending proposal unless
    ``keep_pending`` is false, i.e. pending ones are being recomputed)."""
    if hrd.role != "hrd" or hrd.status != "active" or not hrd.country:
        return set()
    matched = session.exec(select(Person.kind).join(Match, col(Match.partner_id) == col(Person.id)).where(
        Match.hrd_id == hrd.id, Match.status == "active")).all()
    states = OPEN if keep_pending else ("offered",)
    proposed = session.exec(select(Proposal.kind).where(
        Proposal.hrd_id == hrd.id, col(Proposal.status).in_(states))).all()
    return set(csv_set(hrd.wants)) - {k for k in matched if k} - set(proposed)


def active_hrds(session: Session) -> list[Person]:
    return list(session.exec(select(Person).where(Person.role == "hrd", Person.status == "active")
                             .order_by(col(Person.id))).all())


# -- explanations ---------------------------------------------------------------------------------------


def facts(score: Score) -> str:
    """The raw parts of a score, stored with the proposal and put into words for each reader."""
    text = json.dumps({
        "level": score.region_level.value, "token": score.region_token, "matched": list(score.expertise_matched),
        "needed": list(score.expertise_needed), "languages": list(score.languages), "load": score.load,
        "capacity": score.capacity}, separators=(",", ":"))
    return text if len(text) <= 1000 else score.explain()[:1000]


def explain(_: Translate, stored: str) -> str:
    """E.g. "covers KE; expertise 2 of 3: environment, land-rights; shared language: sw; load 1 of 3"."""
    try:
        data = json.loads(stored)
        level = RegionLevel(data["level"])
        matched, needed, languages = list(data["matched"]), list(data["needed"]), list(data["languages"])
        load, capacity = int(data["load"]), int(data["capacity"])
    except (ValueError, TypeError, KeyError):
        return stored  # written some other way: shown as it is
    if level is RegionLevel.NONE:
        parts = [_("no regional coverage")]
    elif level is RegionLevel.GLOBAL:
        parts = [_("global coverage")]
    else:
        parts = [_("covers {place}").format(place=data["token"])]
    if not needed:
        parts.append(_("no expertise requested"))
    elif not matched:
        parts.append(_("expertise 0 of {needed}").format(needed=len(needed)))
    else:
        parts.append(_("expertise {matched} of {needed}: {tags}").format(
            matched=len(matched), needed=len(needed), tags=", ".join(matched)))
    if not languages:
        parts.append(_("no shared language"))
    elif len(languages) == 1:
        parts.append(_("shared language: {languages}").format(languages=languages[0]))
    else:
        parts.append(_("shared languages: {languages}").format(languages=", ".join(languages)))
    parts.append(_("load {load} of {capacity}").format(load=load, capacity=capacity))
    return "; ".join(parts)


def state_name(_: Translate, status: str) -> str:
    return _(STATE_NAMES[status]) if status in STATE_NAMES else status

"""Emergency plans (issue 14): kept sealed, read by the HRD's partners and the coordinators.

A plan (:mod:`c2p_bot.core.plan_fields`) is never stored in clear. Like a note, it is sealed to
the public key of each reader (the HRD's active partners and the active coordinators:
:func:`c2p_bot.core.notes.readers_of`), bound to (plan, version, reader) — ``plan_copy`` rows; a
reader who holds their own key gets armour only they can open. Unlike a note, a plan lives on and
new readers arrive (a partner matched, a coordinator registered, a new ``/key``): so it is also
kept wrapped by the key-encryption key (``plan.sealed``, bound to plan, HRD and version), the
same protection as the custodial private keys that open every custodial reader's copy. The bot
opens that copy to seal the plan to a new reader (:func:`seal_for_reader`) and, on the alert
path, to show the plan to custodial readers — one decryption per plan instead of one
public-key opening per recipient (the sweeper's batch path raises a thousand alerts at once).

The proof-of-life answer is kept only as an argon2id hash (:func:`c2p_bot.core.crypto.hash_answer`),
wrapped by the key-encryption key like the PINs (:func:`proof_matches` checks an answer).

A plan never travels over a less protected channel than the most protected one it was written on
(``plan.platform``), the rule notes follow (:func:`fit_plan`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from c2p_bot.core.crypto import CryptoError, Kek, armour, seal
from c2p_bot.core.crypto.pins import verify_answer
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.i18n import Translate, gettext_for
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.notes import (
    NOTE_ELSEWHERE,
    NOTE_WITHHELD,
    key_mark,
    protection,
    readers_of,
    report_unusable_keys,
    safer_identity,
    seal_for,
    shown_over,
)
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.plan_fields import PlanData, actions_of, plan_body
from c2p_bot.core.recipients import is_matched
from storage.bulk import one_of
from storage.models import Identity, Match, Person, Plan, PlanCopy

log = logging.getLogger(__name__)

PLAN_TAMPERED = "\x00plan-tampered"  # stand-in: the plan failed its integrity check
PLAN_UNSEALED = "\x00plan-unsealed"  # stand-in: an own-key reader whose key cannot be sealed to


@dataclass(frozen=True)
class Origin:
    """A plan as the channel rules of notes see it (:class:`c2p_bot.core.notes.Written`)."""

    subject_id: int
    platform: str | None


@dataclass(frozen=True)
class PlanView:
    """A plan opened for someone who may read it over the channel at hand."""

    data: PlanData
    reviewed_at: datetime
    proof_set: bool


Shown = PlanView | str  # a plan, its armour (own key), or a stand-in (PLAN_*, NOTE_ELSEWHERE/WITHHELD)


def bot_context(plan_id: int, hrd_id: int, version: int) -> bytes:
    return f"plan:{plan_id}:hrd:{hrd_id}:v{version}".encode()


def copy_context(plan_id: int, version: int, reader_id: int) -> bytes:
    return f"plan:{plan_id}:v{version}:reader:{reader_id}".encode()


def proof_context(hrd_id: int) -> bytes:
    return f"plan-proof:{hrd_id}".encode()


def plan_of(session: Session, hrd_id: int) -> Plan | None:
    return session.exec(select(Plan).where(Plan.hrd_id == hrd_id)).first()


def _ids(plan: Plan) -> int:
    if plan.id is None:
        raise InvariantError("plan.id is missing (a row not flushed yet?)")
    return plan.id


def decode(raw: bytes) -> PlanData:
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise CryptoError("a plan is not a JSON object")
    return data


def open_plan(kek: Kek, plan: Plan) -> PlanData:
    """The plan's contents (the bot's copy); :class:`CryptoError` when it was altered or moved."""
    return decode(kek.unwrap(plan.sealed, bot_context(_ids(plan), plan.hrd_id, plan.version)))


def save_plan(session: Session, keyring: Keyring, hrd_id: int, data: PlanData, *, now: datetime,
              review_every: timedelta, platform: str | None, progress: str | None = None,
              outbox: Outbox | None = None) -> Plan:
    """Store the plan as it is now (a new version), sealed to every current reader; the HRD has
    reviewed it just now. ``platform``: where this change was written (the plan keeps the most
    protected one); ``progress``: the guided ``/plan``'s next question ("" once gone through)."""
    plan = plan_of(session, hrd_id)
    if plan is None:
        plan = Plan(hrd_id=hrd_id, sealed=b"", created_at=now, updated_at=now, reviewed_at=now)
        session.add(plan)
        session.flush()
    plan.version += 1
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    plan.sealed = keyring.kek.wrap(raw, bot_context(_ids(plan), hrd_id, plan.version))
    plan.updated_at = plan.reviewed_at = now
    plan.review_at = now + review_every
    if progress is not None:
        plan.progress = progress
    if platform is not None and (plan.platform is None or protection(platform) > protection(plan.platform)):
        plan.platform = platform  # never lowered: an earlier answer may have come over Matrix
    session.add(plan)
    session.flush()
    session.execute(delete(PlanCopy).where(col(PlanCopy.plan_id) == plan.id))
    skipped = [reader for reader in readers_of(session, hrd_id) if not _add_copy(session, plan, data, reader)]
    if skipped and outbox is not None:
        report_unusable_keys(session, outbox, skipped, now)
    return plan


def set_proof(session: Session, keyring: Keyring, plan: Plan, hashed: bytes | None) -> None:
    """Keep the proof-of-life answer's hash (wrapped by the key-encryption key), or drop it."""
    plan.proof_hash = keyring.kek.wrap(hashed, proof_context(plan.hrd_id)) if hashed else None
    session.add(plan)


def proof_matches(keyring: Keyring, plan: Plan, answer: str) -> bool:
    """Whether ``answer`` is the plan's proof-of-life answer (argon2id: slow, off the event loop)."""
    if not plan.proof_hash:
        return False
    return verify_answer(keyring.kek.unwrap(plan.proof_hash, proof_context(plan.hrd_id)), answer)


def action_count(session: Session, kek: Kek, hrd_id: int) -> int:
    """How many numbered actions the HRD's plan lists (0 without a plan, or one failing its
    integrity check): what a detention's playbook is numbered after (c2p_bot.core.playbook)."""
    plan = plan_of(session, hrd_id)
    if plan is None:
        return 0
    try:
        return len(actions_of(open_plan(kek, plan)))
    except CryptoError:
        return 0


def copy_text(session: Session, plan: Plan, data: PlanData, language: str) -> bytes:
    """What a reader's copy holds: the plan written out in their language, so that a reader who
    holds their own key reads it as it is with ``c2p-bot decrypt``."""
    _ = gettext_for(language)
    hrd = session.get(Person, plan.hrd_id)
    head = _("Emergency plan of {alias}, version {version}:").format(
        alias=(hrd.alias if hrd else None) or "?", version=plan.version)
    return "\n".join([head, *plan_body(_, data, proof_set=bool(plan.proof_hash))]).encode("utf-8")


def _add_copy(session: Session, plan: Plan, data: PlanData, reader: Person) -> bool:
    """Seal the plan to ``reader`` (replacing any copy they had); False when their key is unusable."""
    if reader.id is None:
        raise InvariantError("reader.id is missing (a row not flushed yet?)")
    text = copy_text(session, plan, data, reader.ui_language)
    ciphertext = seal_for(text, reader, copy_context(_ids(plan), plan.version, reader.id))
    if ciphertext is None:
        return False
    session.add(PlanCopy(plan_id=_ids(plan), reader_id=reader.id, ciphertext=ciphertext))
    return True


def seal_for_reader(session: Session, keyring: Keyring, reader: Person, hrd_ids: list[int] | None = None) -> int:
    """Seal to ``reader``'s current key every plan they may read (of ``hrd_ids`` only, when given):
    a partner just matched, a coordinator just registered, anyone who registered a new key.
    Returns how many plans were sealed to them."""
    if reader.id is None:
        raise InvariantError("reader.id is missing (a row not flushed yet?)")
    if reader.status != "active" or reader.role not in ("partner", "coordinator"):
        return 0
    query = select(Plan)
    if reader.role == "partner":
        matched = [m.hrd_id for m in session.exec(select(Match).where(
            Match.partner_id == reader.id, Match.status == "active")).all() if m.status == "active"]
        wanted = [h for h in matched if hrd_ids is None or h in hrd_ids]
        query = query.where(col(Plan.hrd_id).in_(wanted))
    elif hrd_ids is not None:
        query = query.where(col(Plan.hrd_id).in_(hrd_ids))
    sealed = 0
    for plan in session.exec(query).all():
        session.execute(delete(PlanCopy).where(col(PlanCopy.plan_id) == plan.id,
                                               col(PlanCopy.reader_id) == reader.id))
        try:
            data = open_plan(keyring.kek, plan)
        except CryptoError:
            log.error("plan %s failed its integrity check; not sealed to person:%s", plan.id, reader.id)
            continue
        sealed += _add_copy(session, plan, data, reader)
    return sealed


def drop_stale_copies(session: Session, reader: Person) -> int:
    """Delete a partner's copies of plans whose HRD is no longer matched with them."""
    if reader.id is None or reader.role != "partner":
        return 0
    stale = [copy.id for copy, hrd_id in session.exec(
        select(PlanCopy, Plan.hrd_id).join(Plan, col(Plan.id) == col(PlanCopy.plan_id))
        .where(PlanCopy.reader_id == reader.id)).all() if not is_matched(session, hrd_id, reader.id)]
    if stale:
        session.execute(delete(PlanCopy).where(col(PlanCopy.id).in_(stale)))
    return len(stale)


def plan_states(review_every: timedelta) -> Callable[[Session, list[int], datetime], dict[int, str]]:
    """The ``plan_status`` service of the coordinators' overview (c2p_bot.core.overview_data): each
    HRD's plan "current", "review" (unfinished, or not reviewed within ``review_every``) or
    "missing"; one query."""

    def states(session: Session, hrd_ids: list[int], now: datetime) -> dict[int, str]:
        found = {hrd_id: (progress, reviewed_at) for hrd_id, progress, reviewed_at in session.exec(
            select(Plan.hrd_id, Plan.progress, Plan.reviewed_at).where(
                one_of(Plan.hrd_id, hrd_ids, session.get_bind().dialect))).all()} if hrd_ids else {}
        return {hrd_id: "missing" if hrd_id not in found else
                "review" if found[hrd_id][0] or found[hrd_id][1] + review_every <= now else "current"
                for hrd_id in hrd_ids}

    return states


# -- reading a plan for someone ------------------------------------------------------------------


def fit_plan(session: Session, plan: Plan, reader_id: int, key_mode: str,
             platform: str | None) -> tuple[str | None, Identity | None]:
    """None when the plan may go to the reader over ``platform``; else :data:`NOTE_ELSEWHERE`
    with the reader's safer identity, or :data:`NOTE_WITHHELD` (the rules of notes)."""
    origin = Origin(plan.hrd_id, plan.platform)
    if key_mode == "own" or shown_over(session, origin, platform):
        return None, None
    safer = safer_identity(session, origin, reader_id)
    return (NOTE_ELSEWHERE, safer) if safer is not None else (NOTE_WITHHELD, None)


def shown_to(session: Session, plan: Plan, data: PlanData | None, reader_id: int, key_mode: str,
             public_key: bytes | None, language: str, copy: bytes | None) -> Shown:
    """The plan for one reader whatever the channel: the opened plan (custodial readers), armour
    of their copy (own key; sealed afresh when they have none yet), or a stand-in."""
    if data is None:
        return PLAN_TAMPERED
    if key_mode != "own":
        return PlanView(data, plan.reviewed_at, bool(plan.proof_hash))
    context = copy_context(_ids(plan), plan.version, reader_id)
    if copy is None:
        if not public_key:
            return PLAN_UNSEALED
        try:
            copy = seal(copy_text(session, plan, data, language), bytes(public_key), context)
        except (CryptoError, ValueError, TypeError):
            return PLAN_UNSEALED
    headers = [("plan", str(plan.id)), ("version", str(plan.version)), ("kind", "plan"),
               ("written", plan.updated_at.strftime("%Y-%m-%dT%H:%MZ"))]
    if public_key:
        headers.append(("reader-key", key_mark(public_key)))
    return armour(copy, context, headers=headers)


class LoadedPlans:
    """The plans of some HRDs, opened once each (one query, one decryption per plan), and the copies
    of the readers who hold their own key: what the alert paths show each recipient."""

    def __init__(self, session: Session, kek: Kek, hrd_ids: list[int], own_readers: set[int]) -> None:
        self.plans: dict[int, tuple[Plan, PlanData | None]] = {}
        dialect = session.get_bind().dialect
        for plan in session.exec(select(Plan).where(one_of(Plan.hrd_id, hrd_ids, dialect))).all() if hrd_ids else []:
            try:
                data: PlanData | None = open_plan(kek, plan)
            except CryptoError:
                log.error("plan %s failed its integrity check (altered or moved)", plan.id)
                data = None
            self.plans[plan.hrd_id] = (plan, data)
        self.copies: dict[tuple[int, int], bytes] = {}
        if own_readers and self.plans:
            for plan_id, reader_id, ciphertext in session.exec(select(
                    PlanCopy.plan_id, PlanCopy.reader_id, PlanCopy.ciphertext).where(
                    one_of(PlanCopy.plan_id, [_ids(p) for p, _d in self.plans.values()], dialect),
                    col(PlanCopy.reader_id).in_(sorted(own_readers)))).all():
                self.copies[(plan_id, reader_id)] = ciphertext

    def for_reader(self, session: Session, hrd_id: int, reader_id: int, key_mode: str, public_key: bytes | None,
                   language: str, platform: str | None) -> tuple[Shown | None, Shown | None, Identity | None]:
        """(What may go to the reader over ``platform``, the plan itself, the reader's safer
        identity when the plan must wait there); Nones when the HRD has no plan."""
        found = self.plans.get(hrd_id)
        if found is None:
            return None, None, None
        plan, data = found
        full = shown_to(session, plan, data, reader_id, key_mode, public_key, language,
                        self.copies.get((_ids(plan), reader_id)))
        stand_in, safer = fit_plan(session, plan, reader_id, key_mode, platform)
        return (stand_in or full), full, safer


def plan_for(session: Session, keyring: Keyring, hrd_id: int, reader: Person,
             platform: str | None) -> tuple[Shown | None, Shown | None, Identity | None]:
    """The HRD's plan for ``reader`` over ``platform`` (the ORM path): see :meth:`LoadedPlans.for_reader`."""
    if reader.id is None:
        raise InvariantError("reader.id is missing (a row not flushed yet?)")
    loaded = LoadedPlans(session, keyring.kek, [hrd_id], {reader.id} if reader.key_mode == "own" else set())
    return loaded.for_reader(session, hrd_id, reader.id, reader.key_mode, reader.public_key, reader.ui_language,
                             platform)


def carries(note_text: str | None, plan: Shown | None) -> bool:
    """Whether an alert message carries a note's or a plan's text (so it is deleted from the chat
    later, like every note-carrying message), not just a stand-in."""
    return bool((note_text is not None and not note_text.startswith("\x00"))
                or (plan is not None and not (isinstance(plan, str) and plan.startswith("\x00"))))


def plan_section(_: Translate, shown: Shown | None, alias: str, zone: str, alert_id: int | None) -> list[str]:
    """The lines an alert (``alert_id``) shows of the HRD's plan, in the reader's language."""
    if shown is None:
        return []
    if isinstance(shown, PlanView):
        head = _("📋 {alias}'s emergency plan (reviewed {when}):").format(
            alias=alias, when=_.when(shown.reviewed_at, zone))
        return [head, *plan_body(_, shown.data, alert_id=alert_id)]
    if shown == PLAN_TAMPERED:
        return [_("⚠ {alias}'s emergency plan failed its integrity check and is not shown.").format(alias=alias)]
    if shown == PLAN_UNSEALED:
        return [_("📋 {alias} has an emergency plan, but it cannot be sealed to your key. Run c2p-bot keygen "
                  "and send /key with the public key it prints.").format(alias=alias)]
    if shown == NOTE_ELSEWHERE:
        return [_("🔒 {alias}'s emergency plan is waiting — read it on Matrix. It was written on an end-to-end "
                  "encrypted channel and is not shown here.").format(alias=alias)]
    if shown == NOTE_WITHHELD:
        return [_("🔒 {alias} has an emergency plan, written on an end-to-end encrypted channel and not shown "
                  "here: join the bot on Matrix, or register your own key (c2p-bot keygen, then /key), to "
                  "read it.").format(alias=alias)]
    head = _("📋 {alias}'s emergency plan, sealed to your own key: open it with c2p-bot decrypt --key FILE.").format(
        alias=alias)
    if alert_id is not None:
        head += " " + _("Tick each action done with /done {id} N.").format(id=alert_id)
    return [head, shown]

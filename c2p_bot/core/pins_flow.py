"""PINs and duress: checking them on /checkin, and confirming with them whatever weakens
protection (setting them, the guided /pin, is :mod:`c2p_bot.core.pin_setup`).

Both PIN verifiers (argon2id hashes) live in one value sealed by the key-encryption key
(``person.pin_hash``), so a copied database allows no offline guess of a short PIN and does not
show which verifier is the duress one. A duress PIN gets a reply identical to the check-in PIN's
and silently raises a ``duress`` alert to every step at once. Wrong PINs count per person: the
third within an hour raises a ``wrong_pin`` alert, the fifth locks PIN checks for an hour (no
argon2 runs while locked). Messages that carried a PIN are deleted where the platform allows.

With a PIN set, commands that weaken protection (``/pause``, a looser ``/schedule``, ``/forget``,
changing PINs) ask for it first ("Send your check-in PIN to confirm"). The duress PIN carries the
command out as the check-in PIN would, and raises the alarm; a wrong PIN changes nothing.
Argon2 runs in the core thread (see :mod:`c2p_bot.core.runtime`), never on the event loop.
Flow diagram: docs/flows/pin.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from c2p_bot.core.checkin_record import do_checkin, record_and_reply
from c2p_bot.core.checkins import ensure_clock
from c2p_bot.core.context import Context
from c2p_bot.core.conversations import FLOWS, conversation_data, start_conversation
from c2p_bot.core.crypto import DEFAULT_PIN_PARAMS, Kek, PinHashParams, validate_pin
from c2p_bot.core.crypto.pins import PinVerifiers
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.notes import write_note
from c2p_bot.core.recipients import active_partners, coordinators, recipients
from storage.models import Alert, CheckinClock, Conversation, Person

FLOW = "pin"
CONFIRM_FLOW = "confirm"
CHECKIN_FLOW = "checkin-pin"
WRONG_PIN_LIMIT = 3  # wrong PINs within WRONG_PIN_WINDOW that raise the wrong-PIN alarm (once)
WRONG_PIN_WINDOW = timedelta(hours=1)
LOCK_AFTER = 5  # wrong PINs after which PIN checks are refused, without hashing, for LOCK_FOR
LOCK_FOR = WRONG_PIN_WINDOW
CONFIRM_TTL = timedelta(minutes=15)

PinOutcome = Literal["checkin", "duress", "wrong", "locked"]
# Carries out a confirmed command: (ctx, the command's arguments, whether the duress PIN was used).
Action = Callable[[Context, str, bool], None]
ACTIONS: dict[str, Action] = {}
# Actions that raise the duress alarm themselves when confirmed with the duress PIN (to fold their
# own alerts into it): the confirming flow does not raise a second one.
OWN_ALARM: set[str] = {"forget"}


def verifier_context(person: Person | int, which: str) -> bytes:
    person_id = person if isinstance(person, int) else person.id
    return f"pin:{which}:{person_id}".encode()


# The sealed verifiers keep the context the check-in hash had, so `rotate-key` re-wraps them.
SEALED = "checkin"


def pin_params(ctx: Context) -> PinHashParams:
    params = ctx.core.services.get("pin_params", DEFAULT_PIN_PARAMS)
    if not isinstance(params, PinHashParams):
        raise TypeError("params is not a PinHashParams")
    return params


# -- the sealed verifiers -------------------------------------------------------------------

def _open(kek: Kek, person: Person) -> tuple[PinVerifiers | None, bool]:
    """The person's verifiers, and whether the row must be re-sealed (a row from before)."""
    if not person.pin_hash:
        return None, False
    plain = kek.unwrap(person.pin_hash, verifier_context(person, SEALED))
    verifiers = PinVerifiers.decode(plain)
    if person.duress_hash:  # from before: the duress hash in a column of its own
        verifiers = verifiers.with_duress(kek.unwrap(person.duress_hash, verifier_context(person, "duress")))
    return verifiers, bool(person.duress_hash) or verifiers.encode() != plain


def store_verifiers(kek: Kek, person: Person, verifiers: PinVerifiers) -> None:
    person.pin_hash = kek.wrap(verifiers.encode(), verifier_context(person, SEALED))
    person.duress_hash = None


def load_verifiers(ctx: Context, person: Person) -> PinVerifiers | None:
    """The person's PIN verifiers (re-sealed together on the way if the row is from before)."""
    kek = ctx.core.keyring.kek
    verifiers, legacy = _open(kek, person)
    if verifiers is not None and legacy:
        store_verifiers(kek, person, verifiers)
        ctx.session.add(person)
    return verifiers


def seal_legacy_pins(engine: Engine, kek: Kek) -> int:
    """Re-seal every row that still keeps a separate, labelled duress hash (run at start-up)."""
    done = 0
    with Session(engine) as session:
        for person in session.exec(select(Person).where(col(Person.pin_hash).is_not(None))).all():
            verifiers, legacy = _open(kek, person)
            if verifiers is not None and legacy:
                store_verifiers(kek, person, verifiers)
                session.add(person)
                done += 1
        session.commit()
    return done


def needs_pin(ctx: Context) -> bool:
    return ctx.person is not None and bool(ctx.person.pin_hash)


def problem_text(_: Translate, code: str) -> str:
    if code == "too_short":
        return _("A PIN needs at least 4 digits.")
    if code == "too_long":
        return _("A PIN can have at most 12 digits.")
    return _("A PIN is made of digits only.")


# -- checking a PIN: the attempt limit ----------------------------------------------------

def _lock_ends(clock: CheckinClock, now: datetime) -> datetime | None:
    start = clock.wrong_pin_window_start
    if clock.wrong_pins >= LOCK_AFTER and start is not None and now - start < LOCK_FOR:
        return start + LOCK_FOR
    return None


def check_pin(ctx: Context, clock: CheckinClock, candidate: str) -> PinOutcome:
    """Which PIN ``candidate`` is. Counts wrong ones (raising the wrong-PIN alarm once per
    window) and refuses, without hashing, while the person is locked out."""
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if _lock_ends(clock, ctx.now) is not None:
        ctx.audit("pin_refused_locked", f"person:{hrd.id}")
        return "locked"
    verifiers = load_verifiers(ctx, hrd)
    outcome: PinOutcome = "wrong"
    if verifiers is not None and validate_pin(candidate) is None:
        outcome = verifiers.match(candidate)
    if outcome == "wrong":
        _count_wrong(ctx, clock)
    else:
        clock.wrong_pins, clock.wrong_pin_window_start = 0, None
        ctx.session.add(clock)
    return outcome


def _count_wrong(ctx: Context, clock: CheckinClock) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    start = clock.wrong_pin_window_start
    if start is None or ctx.now - start >= WRONG_PIN_WINDOW:
        clock.wrong_pins, clock.wrong_pin_window_start = 0, ctx.now
    clock.wrong_pins += 1
    ctx.audit("wrong_pin", f"person:{hrd.id}", f"count={clock.wrong_pins}")
    if clock.wrong_pins == WRONG_PIN_LIMIT:
        ctx.core.escalation.raise_alert(ctx.session, hrd, "wrong_pin", ctx.now)
    if clock.wrong_pins >= LOCK_AFTER:
        clock.wrong_pin_window_start = ctx.now  # the lock runs from the last wrong PIN
    ctx.session.add(clock)


def refuse(ctx: Context, clock: CheckinClock, outcome: PinOutcome, wrong_text: str) -> None:
    """The answer to a wrong PIN or a locked person (queued first, like a check-in's)."""
    if outcome == "locked":
        ends = _lock_ends(clock, ctx.now)
        if ends is None:
            raise InvariantError("a locked PIN check without the end of its lock")
        ctx.reply(ctx._("Too many wrong PINs. I will not check a PIN again until {when}.").format(
            when=ctx._.when(ends, clock.timezone)), priority=Priority.DURESS)
        return
    ctx.reply(wrong_text, priority=Priority.DURESS)


def raise_duress(ctx: Context, hrd: Person, what: str) -> Alert:
    """The silent alarm of a duress PIN typed to confirm ``what`` (a command)."""
    if hrd.id is None:
        raise InvariantError("hrd.id is missing (a row not flushed yet?)")
    note_row = write_note(ctx.session, subject_id=hrd.id, author_id=hrd.id, kind="duress",
                          text=ctx._("The duress PIN confirmed: {command}").format(command=what),
                          now=ctx.now, outbox=ctx.core.outbox)
    alert = ctx.core.escalation.raise_alert(ctx.session, hrd, "duress", ctx.now)
    note_row.alert_id = alert.id
    ctx.session.add(note_row)
    return alert


def tell_protectors(ctx: Context, hrd: Person, render: Callable[[Translate, str], str]) -> None:
    """Tell the HRD's partners and every coordinator of a change to the HRD's protection;
    ``render(_, zone)`` writes it in the reader's language and time zone."""
    told: dict[int, Person] = {}
    for person in active_partners(ctx.session, hrd.id or 0) + coordinators(ctx.session):
        if person.id is not None and person.id != hrd.id:
            told.setdefault(person.id, person)
    for person in told.values():
        ctx.tell(person, _in_zone(render, person.timezone), priority=Priority.NOTICE)


def _in_zone(render: Callable[[Translate, str], str], zone: str) -> Callable[[Translate], str]:
    return lambda _: render(_, zone)


# -- confirming a command with the PIN ------------------------------------------------------

def ask_pin(ctx: Context, action: str, args: str) -> None:
    """Hold ``/action args`` until the PIN comes in the next message."""
    start_conversation(ctx, CONFIRM_FLOW, action, {"args": args})
    ctx.reply(ctx._("Send your check-in PIN to confirm. Nothing changes until then."))


class ConfirmFlow:
    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None:
        hrd = ctx.person
        if hrd is None:
            raise InvariantError("a command reached its handler without a registered sender")
        ctx.delete_incoming()  # it may hold a PIN
        action, args = conversation.step, str(conversation_data(conversation).get("args", ""))
        ctx.session.delete(conversation)
        ctx.session.flush()
        if ctx.now - conversation.updated_at > CONFIRM_TTL or action not in ACTIONS:
            ctx.reply(ctx._("That request has expired. Nothing was changed: send the command again."))
            return
        candidate = text.strip()
        if validate_pin(candidate) is not None:
            ctx.reply(ctx._("That is not a PIN. Nothing was changed."))
            return
        clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
        outcome = check_pin(ctx, clock, candidate)
        if outcome in ("wrong", "locked"):
            refuse(ctx, clock, outcome, ctx._("That PIN is not right. Nothing was changed."))
            return
        ACTIONS[action](ctx, args, outcome == "duress")
        if outcome == "duress" and action not in OWN_ALARM:  # /forget raises its own, before unlinking
            raise_duress(ctx, hrd, f"/{action} {args}".strip())


FLOWS[CONFIRM_FLOW] = ConfirmFlow()


# -- /checkin with a PIN -------------------------------------------------------------------

def checkin_with_pin(ctx: Context, clock: CheckinClock, args: str) -> None:
    """``/checkin PIN [note]`` for someone who has set a PIN; ``/checkin`` alone (the reminder's
    "I'm safe" button) asks for the PIN, and the next message is the check-in."""
    words = args.split(maxsplit=1)
    candidate = words[0] if words else ""
    note = words[1] if len(words) > 1 else ""
    if not candidate:
        start_conversation(ctx, CHECKIN_FLOW, "pin")
        ctx.reply(ctx._("Your check-ins need your PIN: send it now, with an optional note after it."))
        return
    ctx.delete_incoming()
    if validate_pin(candidate) is not None:
        ctx.reply(ctx._("Your check-ins need your PIN: /checkin PIN, then an optional note."))
        return
    _checkin(ctx, clock, candidate, note)


class CheckinPinFlow:
    """The PIN (and note) sent on its own after ``/checkin`` or the "I'm safe" button."""

    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None:
        hrd = ctx.person
        if hrd is None:
            raise InvariantError("a command reached its handler without a registered sender")
        ctx.delete_incoming()
        ctx.session.delete(conversation)
        ctx.session.flush()
        words = text.split(maxsplit=1)
        candidate = words[0] if words else ""
        if not hrd.pin_hash or validate_pin(candidate) is not None:
            ctx.reply(ctx._("Your check-ins need your PIN: /checkin PIN, then an optional note."))
            return
        clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
        _checkin(ctx, clock, candidate, words[1] if len(words) > 1 else "")


FLOWS[CHECKIN_FLOW] = CheckinPinFlow()


def _checkin(ctx: Context, clock: CheckinClock, candidate: str, note: str) -> None:
    hrd = ctx.person
    if hrd is None or hrd.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    outcome = check_pin(ctx, clock, candidate)
    if outcome in ("wrong", "locked"):
        # The same answer, at the same speed, whether or not this wrong PIN raises the alarm.
        refuse(ctx, clock, outcome, ctx._("That PIN is not right. Please try again: /checkin PIN"))
        return
    if outcome == "checkin":
        do_checkin(ctx, clock, note)
        return
    # Duress: exactly what a normal check-in shows (the same reply, queued first), and a silent alarm.
    recorded = record_and_reply(ctx, clock, "")
    note_row = write_note(ctx.session, subject_id=hrd.id, author_id=hrd.id, kind="duress",
                          text=note or ctx._("(no note)"), now=ctx.now, outbox=ctx.core.outbox)
    alert = ctx.core.escalation.raise_alert(ctx.session, hrd, "duress", ctx.now)
    note_row.alert_id = alert.id
    ctx.session.add(note_row)
    fold_into_duress(ctx, recorded.missed, alert)


def fold_into_duress(ctx: Context, missed: list[Alert], alarm: Alert) -> None:
    """Close the missed alerts a coerced check-in answers, as a free check-in would (so the HRD's
    ``/status`` and everything after it look the same), but not as an all-clear: the escalation
    goes on as the duress alert, which reaches every step at once and repeats until a coordinator
    resolves it. Whoever was alerted about a missed alert is told where it went."""
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    for old in missed:
        told = recipients(ctx.session, old)
        old.status, old.resolved_at, old.resolved_by, old.next_step_at = "resolved", ctx.now, None, None
        ctx.session.add(old)
        ctx.audit("alert_folded", f"alert:{old.id}", f"into=alert:{alarm.id}")
        for person in told:
            if person.id == hrd.id:
                continue

            def render(_: Translate, old_id: int = old.id or 0) -> str:
                return _("Alert #{old} about {alias} continues as duress alert #{new}: their check-in "
                         "was made with the duress PIN, so it is not an all-clear. Acknowledge with "
                         "/ack {new}.").format(old=old_id, alias=hrd.alias or "?", new=alarm.id)

            ctx.tell(person, render, key=f"alert:{old.id}:folded:{person.id}", kind="alert",
                     alert_id=alarm.id, priority=Priority.DURESS)

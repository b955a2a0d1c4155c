"""PINs and duress: setting them (/pin, guided) and checking them on /checkin.

PIN hashes are argon2id hashes, additionally wrapped by the key-encryption key so a copied
database does not allow an offline guess of a short PIN. A duress PIN gets a reply identical
to a normal check-in's and silently raises a ``duress`` alert to every step at once. Several
wrong PINs within a window raise a ``wrong_pin`` alert. Messages that carried a PIN are
deleted where the platform allows. Flow diagram: docs/flows/pin.md.
"""

from __future__ import annotations

from datetime import timedelta

from c2p_bot.core.alerts import recipients
from c2p_bot.core.checkins import ensure_clock
from c2p_bot.core.context import Context
from c2p_bot.core.conversations import FLOWS, conversation_data, start_conversation
from c2p_bot.core.crypto import DEFAULT_PIN_PARAMS, PinHashParams, hash_pin, match_pin, validate_pin, verify_pin
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.notes import write_note
from storage.models import Alert, CheckinClock, Conversation, Person

FLOW = "pin"
WRONG_PIN_LIMIT = 3
WRONG_PIN_WINDOW = timedelta(hours=1)


def _context(person: Person, which: str) -> bytes:
    return f"pin:{which}:{person.id}".encode()


def pin_params(ctx: Context) -> PinHashParams:
    params = ctx.core.services.get("pin_params", DEFAULT_PIN_PARAMS)
    assert isinstance(params, PinHashParams)
    return params


def stored_hashes(ctx: Context, person: Person) -> tuple[bytes | None, bytes | None]:
    kek = ctx.core.keyring.kek
    checkin = kek.unwrap(person.pin_hash, _context(person, "checkin")) if person.pin_hash else None
    duress = kek.unwrap(person.duress_hash, _context(person, "duress")) if person.duress_hash else None
    return checkin, duress


def problem_text(_: Translate, code: str) -> str:
    if code == "too_short":
        return _("A PIN needs at least 4 digits.")
    if code == "too_long":
        return _("A PIN can have at most 12 digits.")
    return _("A PIN is made of digits only.")


# -- /checkin with a PIN -------------------------------------------------------------------

def checkin_with_pin(ctx: Context, clock: CheckinClock, args: str) -> None:
    """``/checkin PIN [note]`` for someone who has set a PIN."""
    from c2p_bot.core.commands.checkin import do_checkin, record_and_reply

    hrd = ctx.person
    assert hrd is not None and hrd.id is not None
    words = args.split(maxsplit=1)
    candidate = words[0] if words else ""
    note = words[1] if len(words) > 1 else ""
    if not candidate or validate_pin(candidate) is not None:
        ctx.reply(ctx._("Your check-ins need your PIN: /checkin PIN, then an optional note."))
        if candidate:
            ctx.delete_incoming()
        return
    ctx.delete_incoming()
    checkin_hash, duress_hash = stored_hashes(ctx, hrd)
    assert checkin_hash is not None
    outcome = match_pin(candidate, checkin_hash, duress_hash)
    if outcome == "wrong":
        _wrong_pin(ctx, clock)
        return
    clock.wrong_pins, clock.wrong_pin_window_start = 0, None
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
    assert hrd is not None
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


def _wrong_pin(ctx: Context, clock: CheckinClock) -> None:
    hrd = ctx.person
    assert hrd is not None
    start = clock.wrong_pin_window_start
    if start is None or ctx.now - start > WRONG_PIN_WINDOW:
        clock.wrong_pins, clock.wrong_pin_window_start = 0, ctx.now
    clock.wrong_pins += 1
    ctx.audit("wrong_pin", f"person:{hrd.id}", f"count={clock.wrong_pins}")
    # The same answer, at the same speed, whether or not this wrong PIN raises the alarm.
    ctx.reply(ctx._("That PIN is not right. Please try again: /checkin PIN"), priority=Priority.DURESS)
    if clock.wrong_pins == WRONG_PIN_LIMIT:
        ctx.core.escalation.raise_alert(ctx.session, hrd, "wrong_pin", ctx.now)
    ctx.session.add(clock)


# -- /pin: setting PINs ----------------------------------------------------------------------

def start_pin_setup(ctx: Context) -> None:
    hrd = ctx.person
    assert hrd is not None
    if hrd.pin_hash:
        start_conversation(ctx, FLOW, "current")
        ctx.reply(ctx._("To change your PINs, first send your current check-in PIN."))
        return
    start_conversation(ctx, FLOW, "checkin")
    ctx.reply(ctx._("Choose a check-in PIN: 4 to 12 digits. You will type it with every /checkin. "
                    "I delete messages with PINs where the platform allows."))


class PinFlow:
    """The guided /pin conversation: current PIN (if any) → check-in PIN → duress PIN."""

    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None:
        hrd = ctx.person
        assert hrd is not None
        pin = text.strip()
        ctx.delete_incoming()
        if conversation.step == "current":
            checkin_hash, duress_hash = stored_hashes(ctx, hrd)
            assert checkin_hash is not None
            outcome = match_pin(pin, checkin_hash, duress_hash) if validate_pin(pin) is None else "wrong"
            clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
            if outcome == "wrong":
                ctx.session.delete(conversation)
                _wrong_pin(ctx, clock)
                return
            conversation.step = "checkin"
            ctx.session.add(conversation)
            # The same answer, queued first, whichever PIN it was.
            ctx.reply(ctx._("Choose a new check-in PIN: 4 to 12 digits."), priority=Priority.DURESS)
            if outcome == "duress":  # coerced into changing the PIN: play along, raise the alarm
                ctx.core.escalation.raise_alert(ctx.session, hrd, "duress", ctx.now)
            return
        problem = validate_pin(pin)
        if problem is not None:
            ctx.reply(problem_text(ctx._, problem) + " " + ctx._("Please try again."))
            return
        params = pin_params(ctx)
        kek = ctx.core.keyring.kek
        if conversation.step == "checkin":
            data = {"checkin": kek.wrap(hash_pin(pin, params), _context(hrd, "pending")).hex()}
            start_conversation(ctx, FLOW, "duress", data)
            ctx.reply(ctx._("Now choose a duress PIN, different from the first. If someone forces you to "
                            "check in, use it: the bot answers exactly as usual and silently alerts your "
                            "partners and the coordinators."))
            return
        pending = bytes.fromhex(str(conversation_data(conversation)["checkin"]))
        checkin_hash = kek.unwrap(pending, _context(hrd, "pending"))
        if verify_pin(checkin_hash, pin):
            ctx.reply(ctx._("The duress PIN must be different from your check-in PIN. Choose another."))
            return
        hrd.pin_hash = kek.wrap(checkin_hash, _context(hrd, "checkin"))
        hrd.duress_hash = kek.wrap(hash_pin(pin, params), _context(hrd, "duress"))
        ctx.session.add(hrd)
        ctx.session.delete(conversation)
        ctx.audit("pins_set", f"person:{hrd.id}")
        ctx.reply(ctx._("Your PINs are set. From now on check in with /checkin PIN [note]."))


FLOWS[FLOW] = PinFlow()

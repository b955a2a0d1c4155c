"""/pin: setting the check-in PIN and the duress PIN, guided (see :mod:`c2p_bot.core.pins_flow`)."""

from __future__ import annotations

from c2p_bot.core.checkins import ensure_clock
from c2p_bot.core.context import Context
from c2p_bot.core.conversations import FLOWS, conversation_data, start_conversation
from c2p_bot.core.crypto import hash_pin, validate_pin, verify_pin
from c2p_bot.core.crypto.pins import PinVerifiers
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.pins_flow import (
    FLOW,
    check_pin,
    load_verifiers,
    pin_params,
    problem_text,
    raise_duress,
    refuse,
    store_verifiers,
    tell_protectors,
    verifier_context,
)
from storage.models import Conversation


def start_pin_setup(ctx: Context) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if hrd.pin_hash:
        start_conversation(ctx, FLOW, "current")
        ctx.reply(ctx._("To change your PINs, first send your current check-in PIN."))
        return
    start_conversation(ctx, FLOW, "checkin")
    ctx.reply(ctx._("Choose a check-in PIN: 4 to 12 digits. You will type it with every /checkin. "
                    "I delete messages with PINs where the platform allows."))


class PinFlow:
    """The guided /pin conversation: current PIN (if any) → check-in PIN → duress PIN.

    Typed at "current PIN", the duress PIN plays along to the end (the same texts) and raises the
    alarm, but the coercer's new PINs never replace the HRD's: they join the duress verifiers, so
    they seem to work on the phone and every use of them raises the alarm again.
    """

    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None:
        hrd = ctx.person
        if hrd is None:
            raise InvariantError("a command reached its handler without a registered sender")
        pin = text.strip()
        ctx.delete_incoming()
        data = conversation_data(conversation)
        if conversation.step == "current":
            clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
            outcome = check_pin(ctx, clock, pin)
            if outcome in ("wrong", "locked"):
                ctx.session.delete(conversation)
                refuse(ctx, clock, outcome, ctx._("That PIN is not right. Nothing was changed."))
                return
            start_conversation(ctx, FLOW, "checkin", {"change": True, "coerced": outcome == "duress"})
            # The same answer, queued first, whichever PIN it was.
            ctx.reply(ctx._("Choose a new check-in PIN: 4 to 12 digits."), priority=Priority.DURESS)
            if outcome == "duress":  # coerced into changing the PIN: play along, raise the alarm
                raise_duress(ctx, hrd, "/pin")
            return
        problem = validate_pin(pin)
        if problem is not None:
            ctx.reply(problem_text(ctx._, problem) + " " + ctx._("Please try again."))
            return
        params = pin_params(ctx)
        kek = ctx.core.keyring.kek
        if conversation.step == "checkin":
            data["checkin"] = kek.wrap(hash_pin(pin, params), verifier_context(hrd, "pending")).hex()
            start_conversation(ctx, FLOW, "duress", data)
            ctx.reply(ctx._("Now choose a duress PIN, different from the first. If someone forces you to "
                            "check in, use it: the bot answers exactly as usual and silently alerts your "
                            "partners and the coordinators."))
            return
        pending = bytes.fromhex(str(data["checkin"]))
        checkin_hash = kek.unwrap(pending, verifier_context(hrd, "pending"))
        if verify_pin(checkin_hash, pin):
            ctx.reply(ctx._("The duress PIN must be different from your check-in PIN. Choose another."))
            return
        duress_hash = hash_pin(pin, params)
        current = load_verifiers(ctx, hrd) if data.get("coerced") else None
        if current is not None:
            store_verifiers(kek, hrd, current.with_duress(checkin_hash, duress_hash))
        else:
            store_verifiers(kek, hrd, PinVerifiers(checkin_hash, (duress_hash,)))
        ctx.session.add(hrd)
        ctx.session.delete(conversation)
        ctx.audit("pins_set", f"person:{hrd.id}")
        ctx.reply(ctx._("Your PINs are set. From now on check in with /checkin PIN [note]."))
        if data.get("change"):
            alias = hrd.alias or "?"
            tell_protectors(ctx, hrd, lambda _, zone: _("{alias} changed their PINs.").format(alias=alias))


FLOWS[FLOW] = PinFlow()

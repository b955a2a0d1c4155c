"""/plan: writing an emergency plan, guided and resumable; editing one part; review reminders.

The guided questions (:data:`c2p_bot.core.plan_fields.STEPS`) are asked one by one. Each answer is
sealed into the plan at once (:func:`c2p_bot.core.plans.save_plan`), with the next question as the
plan's ``progress``: so a restart (the ``Conversation`` row, flow ``plan``, holds only the step
and the mode, never an answer) or another command in between loses nothing, and ``/plan`` goes on
where it stopped. Flow diagram: docs/flows/plan.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select, update

from c2p_bot.core.context import Context
from c2p_bot.core.conversations import FLOWS, conversation_data, start_conversation
from c2p_bot.core.crypto import DEFAULT_PIN_PARAMS, CryptoError, PinHashParams
from c2p_bot.core.crypto.pins import hash_answer
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.notes import shown_over
from c2p_bot.core.plan_fields import (
    PART_LABELS,
    PARTS,
    QUESTIONS,
    REMOVE,
    SKIP,
    STATEMENTS,
    STEPS,
    AnswerError,
    PlanData,
    is_word,
    parse,
    period,
    plan_body,
)
from c2p_bot.core.plans import Origin, open_plan, plan_of, save_plan, set_proof
from storage.models import Conversation, Person, Plan

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

log = logging.getLogger(__name__)

FLOW = "plan"
REMIND_AGAIN = timedelta(days=7)  # an unanswered review reminder comes again after this long
REVIEW_BATCH = 200


def _pin_params(ctx: Context) -> PinHashParams:
    params = ctx.core.services.get("pin_params", DEFAULT_PIN_PARAMS)
    return params if isinstance(params, PinHashParams) else DEFAULT_PIN_PARAMS


def current(ctx: Context) -> tuple[Plan | None, PlanData]:
    """The sender's plan and its contents ({} without a plan, or when it fails to open)."""
    plan = plan_of(ctx.session, ctx.person_id)
    if plan is None:
        return None, {}
    try:
        return plan, open_plan(ctx.core.keyring.kek, plan)
    except CryptoError:
        log.error("plan %s failed its integrity check (altered or moved)", plan.id)
        return plan, {}


def _save(ctx: Context, data: PlanData, progress: str | None = None) -> Plan:
    return save_plan(ctx.session, ctx.core.keyring, ctx.person_id, data, now=ctx.now,
                     review_every=ctx.config.plans.review_every, platform=ctx.incoming.platform,
                     progress=progress, outbox=ctx.core.outbox)


def _buttons(_: Translate, step: str, mode: str) -> list[list[Button]]:
    choices = [Button(_(label), value) for value, label in STATEMENTS.items()] if step == "statement" else []
    if mode == "guided":
        return [[*choices, Button(_("Skip"), SKIP)]]
    keep = [Button(_("Keep as it is"), SKIP), Button(_("Remove this part"), REMOVE)]
    return [choices, keep] if choices else [keep]


def ask(ctx: Context, step: str, mode: str, part: str | None = None, before: str | None = None) -> None:
    """Ask ``step`` (guided: "question N of 9"; edit: the part's name) and remember it."""
    start_conversation(ctx, FLOW, step, {"mode": mode, "part": part})
    if mode == "guided":
        head = ctx._("Emergency plan, question {n} of {total}:").format(n=STEPS.index(step) + 1, total=len(STEPS))
    else:
        head = ctx._("Emergency plan — {part}:").format(part=ctx._(PART_LABELS[part or ""]))
    text = head + "\n" + ctx._(QUESTIONS[step])
    ctx.reply(f"{before}\n\n{text}" if before else text, _buttons(ctx._, step, mode))


def start_guided(ctx: Context) -> None:
    """/plan: the first question, or the next one of an unfinished plan; a finished plan is shown."""
    plan, _data = current(ctx)
    if plan is not None and not plan.progress:
        show(ctx)
        return
    if plan is None:
        ask(ctx, STEPS[0], "guided", before=ctx._(
            "Let's write your emergency plan. Your partners and the coordinators will get it with any alert "
            "about you, sealed like your notes; I delete your answers from this chat where the platform allows. "
            "Answer each question in one message (several lines are fine), or send skip to leave it out. You can "
            "stop at any time and go on later with /plan."))
        return
    ask(ctx, plan.progress, "guided", before=ctx._("Let's go on with your emergency plan where you left off."))


def _after(step: str) -> str:
    later = STEPS[STEPS.index(step) + 1:]
    return later[0] if later else ""


def edit(ctx: Context, part: str, inline: str) -> None:
    """/plan edit PART [answer]: ask the part's question, or take the answer given inline."""
    first = PARTS[part][0]
    if inline and len(PARTS[part]) == 1:
        conversation = start_conversation(ctx, FLOW, first, {"mode": "edit", "part": part})
        ctx.session.flush()
        PlanFlow().answer(ctx, conversation, inline)
        return
    ask(ctx, first, "edit", part)


def show(ctx: Context) -> None:
    plan, data = current(ctx)
    if plan is None:
        ctx.reply(ctx._("You have no emergency plan yet. Send /plan to write one: it takes a few minutes, and "
                        "your partners will know what to do if something happens to you."))
        return
    hrd = ctx.person
    zone = hrd.timezone if hrd else "UTC"
    if not shown_over(ctx.session, Origin(plan.hrd_id, plan.platform), ctx.incoming.platform):
        ctx.reply(ctx._("Your emergency plan was written on an end-to-end encrypted channel, so I do not show it "
                        "here. Read it there with /plan show."))
        return
    lines = [ctx._("Your emergency plan (reviewed {when}):").format(when=ctx._.when(plan.reviewed_at, zone))]
    lines += plan_body(ctx._, data, proof_set=bool(plan.proof_hash), everything=True)
    if plan.progress:
        lines.append(ctx._("It is not finished: send /plan to go on."))
    lines.append(ctx._("Change a part with /plan edit PART ({parts}). If it is still right, send /plan ok.").format(
        parts=", ".join(PARTS)))
    ctx.reply("\n".join(lines), sensitive=True)


def reviewed(ctx: Context) -> None:
    """/plan ok: the HRD confirms the plan is still right."""
    plan = plan_of(ctx.session, ctx.person_id)
    if plan is None:
        show(ctx)
        return
    every = ctx.config.plans.review_every
    plan.reviewed_at, plan.review_at = ctx.now, ctx.now + every
    ctx.session.add(plan)
    ctx.audit("plan_reviewed", f"person:{ctx.person_id}")
    ctx.reply(ctx._("Thank you: your emergency plan is marked as reviewed. I will ask again in {every}.").format(
        every=period(ctx._, every)))


class PlanFlow:
    """The answers of the guided /plan and of /plan edit."""

    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None:
        step, state = conversation.step, conversation_data(conversation)
        mode, part = str(state.get("mode") or "guided"), state.get("part")
        ctx.delete_incoming()  # a seized phone must not show the plan (or the proof answer) in this chat
        plan, data = current(ctx)
        if is_word(ctx._, text, SKIP):
            self._skip(ctx, conversation, step, mode, data)
            return
        if mode == "edit" and is_word(ctx._, text, REMOVE) and part in PARTS:
            for key in PARTS[part]:
                data.pop(key, None)
            plan = _save(ctx, data)
            if part == "proof":
                set_proof(ctx.session, ctx.core.keyring, plan, None)
            ctx.session.delete(conversation)
            ctx.audit("plan_changed", f"person:{ctx.person_id}", f"part={part} removed")
            ctx.reply(ctx._("Removed from your plan: {part}.").format(part=ctx._(PART_LABELS[part])))
            return
        try:
            value: Any = parse(step, text, ctx._)
            hashed = hash_answer(value, _pin_params(ctx)) if step == "proof_answer" else None
        except AnswerError as error:
            ctx.reply(error.message, _buttons(ctx._, step, mode))
            return
        except ValueError:  # an answer with nothing left once normalised (only punctuation)
            ctx.reply(ctx._("That answer has no letters or digits. Please write the answer to your question."),
                      _buttons(ctx._, step, mode))
            return
        if step != "proof_answer":
            data[step] = value
        following = _after(step)
        plan = _save(ctx, data, following if mode == "guided" else None)
        if step in ("proof_question", "proof_answer"):  # a new question voids the old answer
            set_proof(ctx.session, ctx.core.keyring, plan, hashed)
        ctx.audit("plan_changed", f"person:{ctx.person_id}", f"part={step}")
        if step == "proof_question" and following:
            ask(ctx, following, mode, part)
            return
        self._next(ctx, conversation, following, mode, part)

    def _skip(self, ctx: Context, conversation: Conversation, step: str, mode: str, data: PlanData) -> None:
        if mode == "edit":
            ctx.session.delete(conversation)
            if step == "proof_answer":  # the new question stays without an answer: say so
                ctx.reply(ctx._("Your proof-of-life question has no answer now: send /plan edit proof to set one."))
                return
            ctx.reply(ctx._("Nothing changed."))
            return
        before = None
        if step == "proof_question":
            step = "proof_answer"
        elif step == "proof_answer":  # a question nobody can check is no use
            data.pop("proof_question", None)
            before = ctx._("Without an answer the question cannot be checked, so I left both out.")
        following = _after(step)
        plan = _save(ctx, data, following)
        if before:
            set_proof(ctx.session, ctx.core.keyring, plan, None)
        self._next(ctx, conversation, following, "guided", None, before)

    def _next(self, ctx: Context, conversation: Conversation, following: str, mode: str, part: str | None,
              before: str | None = None) -> None:
        if mode == "guided" and following:
            ask(ctx, following, mode, part, before)
            return
        ctx.session.delete(conversation)
        if mode == "edit":
            ctx.reply(ctx._("Saved: {part}. Your partners and the coordinators will see the new version with any "
                            "alert.").format(part=ctx._(PART_LABELS[part or ""])))
            return
        done = ctx._("Your emergency plan is ready. Your partners and the coordinators will get it with any alert "
                     "about you. See it with /plan show and change a part with /plan edit PART. I will ask you "
                     "to review it every {every}.").format(every=period(ctx._, ctx.config.plans.review_every))
        ctx.reply(f"{before}\n\n{done}" if before else done)


FLOWS[FLOW] = PlanFlow()


# -- review reminders (a sweeper job) ------------------------------------------------------------


def plan_reviews(core: Core) -> Callable[[datetime], int]:
    """A sweeper job: remind each HRD whose plan is due for review (``[plans] review_every`` after
    they last wrote or confirmed it; again every week until they do). One indexed query when
    nothing is due."""

    def job(now: datetime) -> int:
        every = core.config.plans.review_every
        sent = 0
        with core.session() as session:
            due = session.exec(select(Plan).where(col(Plan.review_at) <= now)
                               .order_by(col(Plan.review_at)).limit(REVIEW_BATCH)).all()
            for plan in due:
                claimed = session.execute(update(Plan).where(
                    col(Plan.id) == plan.id, col(Plan.review_at) == plan.review_at,
                ).values(review_at=now + min(every, REMIND_AGAIN)))
                hrd = session.get(Person, plan.hrd_id)
                if claimed.rowcount != 1 or hrd is None or hrd.status != "active":  # type: ignore[attr-defined]
                    continue
                unfinished = bool(plan.progress)

                def render(_: Translate, unfinished: bool = unfinished) -> str:
                    if unfinished:
                        return _("Your emergency plan is not finished. Send /plan to go on where you left off: "
                                 "your partners will know what to do if something happens to you.")
                    return _("It is {every} since you last reviewed your emergency plan. Is it still right? See "
                             "it with /plan show and change a part with /plan edit PART. If nothing changed, "
                             "press “Still right”.").format(every=period(_, every))

                core.outbox.to_person(
                    session, hrd, render, now=now, key=f"plan-review:{plan.id}:{now.isoformat()}",
                    buttons=None if unfinished else (lambda _: [[Button(_("Still right"), "/plan ok")]]),
                    priority=Priority.REMINDER, kind="reminder")
                sent += 1
            core.commit(session)
        return sent

    return job

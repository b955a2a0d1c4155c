"""Proof of life (issue 14): ``/prove ALERT`` puts the defender's own proof-of-life question to them.

The question is the one in their emergency plan; its answer exists only as an argon2id hash
(:func:`c2p_bot.core.plans.proof_matches`). The defender's next message is the answer: it is deleted
from their chat (like a PIN), checked, and forgotten. Whoever asked, and everyone alerted, is told
only whether it matches — never the answer. The defender's chat shows the same "Thank you" either
way, so whoever may hold their phone learns nothing; a failed proof raises an alert of kind
``proof`` that, like a duress alert, reaches every step at once and is never shown to the defender.

Questions are bounded like PIN checks: one waits at a time per defender, at most
:data:`ASK_LIMIT` within :data:`ASK_WINDOW` (each answer costs an argon2 run). With no answer
within :data:`ANSWER_WITHIN`, those told are told "no answer"; an answer up to :data:`LATE_FOR`
later is still checked (and deleted). Flow diagram: docs/flows/alert-lifecycle.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, func, select, update

from c2p_bot.core.context import Context
from c2p_bot.core.conversations import FLOWS
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.plans import open_plan, plan_of, proof_matches
from c2p_bot.core.recipients import current_recipients
from storage.models import Alert, Conversation, Person, ProofRequest

if TYPE_CHECKING:
    from c2p_bot.core.service import Core
    from c2p_bot.core.sweeper import Sweeper

FLOW = "proof"
PROOF = "proof"  # the kind of alert a failed proof of life raises
ANSWER_WITHIN = timedelta(minutes=15)
LATE_FOR = timedelta(hours=1)
ASK_LIMIT = 3
ASK_WINDOW = timedelta(hours=1)
BATCH = 200


def ask(ctx: Context, alert: Alert) -> None:
    """Put the defender's proof-of-life question to them for ``alert``; the sender is told why not
    when it cannot be asked (no question, one already waiting, asked too often)."""
    me = ctx.person
    hrd = ctx.session.get(Person, alert.hrd_id)
    if me is None or me.id is None or hrd is None or hrd.id is None:
        raise InvariantError("a proof of life asked without a sender or a defender")
    alias = hrd.alias or "?"
    question = _question(ctx, hrd)
    if question is None:
        return
    waiting = ctx.session.exec(select(ProofRequest).where(
        ProofRequest.hrd_id == hrd.id, ProofRequest.status == "asked")).first()
    if waiting is not None:
        ctx.reply(ctx._("I asked {hrd} their proof-of-life question at {when} and am waiting for the answer until "
                        "{until}. Everyone alerted about alert #{id} will be told whether it matches.").format(
            hrd=alias, when=ctx._.when(waiting.asked_at, me.timezone),
            until=ctx._.when(waiting.expires_at, me.timezone), id=waiting.alert_id))
        return
    since = ctx.now - ASK_WINDOW
    recent = ctx.session.exec(select(func.min(ProofRequest.asked_at), func.count()).where(
        ProofRequest.hrd_id == hrd.id, col(ProofRequest.asked_at) > since)).one()
    if recent[1] >= ASK_LIMIT:
        ctx.reply(ctx._.ngettext(
            "{hrd} was asked their proof-of-life question {n} time in the last hour. To spare them, I will not "
            "ask again before {when}.",
            "{hrd} was asked their proof-of-life question {n} times in the last hour. To spare them, I will not "
            "ask again before {when}.", recent[1]).format(
            hrd=alias, n=recent[1], when=ctx._.when(recent[0] + ASK_WINDOW, me.timezone)))
        return
    request = ProofRequest(alert_id=alert.id or 0, hrd_id=hrd.id, asker_id=me.id, asked_at=ctx.now,
                           expires_at=ctx.now + ANSWER_WITHIN)
    ctx.session.add(request)
    ctx.session.flush()
    conversation = ctx.session.get(Conversation, hrd.id) or Conversation(
        person_id=hrd.id, flow=FLOW, step="", updated_at=ctx.now)
    conversation.flow, conversation.step, conversation.data = FLOW, str(request.id), "{}"
    conversation.updated_at = ctx.now
    ctx.session.add(conversation)
    ctx.audit("proof_asked", f"alert:{alert.id}", f"request={request.id}")
    who = me.alias or "?"
    ctx.tell(hrd, lambda _: _("{who} asks you to answer your proof-of-life question, to be sure it is really you:\n"
                              "{question}\nSend the answer as your next message. I will delete it from this "
                              "chat.").format(who=who, question=question),
             key=f"proof:{request.id}:ask", priority=Priority.PANIC, sensitive=True)
    ctx.reply(ctx._("I asked {hrd} their proof-of-life question. You will be told whether the answer matches — "
                    "never the answer — or that none came within {minutes} minutes.").format(
        hrd=alias, minutes=int(ANSWER_WITHIN.total_seconds() // 60)))


def _question(ctx: Context, hrd: Person) -> str | None:
    """The plan's proof-of-life question, or None (the sender told why)."""
    alias = hrd.alias or "?"
    plan = plan_of(ctx.session, hrd.id or 0)
    if plan is None:
        ctx.reply(ctx._("{hrd} has no emergency plan, so there is no proof-of-life question to ask. Try to "
                        "reach them or their emergency contacts another way.").format(hrd=alias))
        return None
    try:
        question = str(open_plan(ctx.core.keyring.kek, plan).get("proof_question") or "")
    except CryptoError:
        ctx.reply(ctx._("⚠ {hrd}'s emergency plan failed its integrity check, so I cannot ask its proof-of-life "
                        "question. Tell a coordinator.").format(hrd=alias))
        return None
    if not question or not plan.proof_hash:
        ctx.reply(ctx._("{hrd}'s emergency plan has no proof-of-life question with an answer, so I cannot ask "
                        "one. Try to reach them or their emergency contacts another way.").format(hrd=alias))
        return None
    return question


class ProofFlow:
    """The defender's answer: deleted, checked, forgotten; the same reply whether it matches or not."""

    def answer(self, ctx: Context, conversation: Conversation, text: str) -> None:
        hrd = ctx.person
        if hrd is None or hrd.id is None:
            raise InvariantError("a command reached its handler without a registered sender")
        ctx.session.delete(conversation)
        ctx.session.flush()
        request = ctx.session.get(ProofRequest, int(conversation.step)) if conversation.step.isdigit() else None
        if request is None or request.hrd_id != hrd.id or not _answerable(request, ctx.now):
            ctx.reply(ctx._("I didn't understand that. Send /help to see what you can do."))
            return
        ctx.delete_incoming()  # it holds the answer
        plan = plan_of(ctx.session, hrd.id)
        try:
            matched = plan is not None and proof_matches(ctx.core.keyring, plan, text)
        except CryptoError:
            matched = False
        request.status, request.answered_at = ("matched" if matched else "failed"), ctx.now
        ctx.session.add(request)
        ctx.reply(ctx._("Thank you."), priority=Priority.REPLY)  # queued first, the same either way
        ctx.audit("proof_answered", f"alert:{request.alert_id}", f"request={request.id}")
        alert = ctx.session.get(Alert, request.alert_id)
        raised = None if matched else _escalate(ctx, hrd)
        _tell(ctx.session, ctx.core.outbox, request, alert, hrd, ctx.now, "matched" if matched else "failed", raised)


FLOWS[FLOW] = ProofFlow()


def _answerable(request: ProofRequest, now: datetime) -> bool:
    return request.status == "asked" or (request.status == "expired" and now <= request.expires_at + LATE_FOR)


def _escalate(ctx: Context, hrd: Person) -> Alert:
    """A failed proof: a ``proof`` alert to every step at once (one open at a time per defender)."""
    open_one = ctx.session.exec(select(Alert).where(
        Alert.hrd_id == hrd.id, Alert.kind == PROOF, col(Alert.status).in_(("open", "acked")))).first()
    if open_one is not None:
        return open_one
    return ctx.core.escalation.raise_alert(ctx.session, hrd, PROOF, ctx.now)


def _tell(session: Session, outbox: Outbox, request: ProofRequest, alert: Alert | None, hrd: Person,
          now: datetime, result: str, raised: Alert | None = None) -> None:
    """Tell the asker and everyone alerted about ``alert`` the result: matched, failed or expired."""
    told: dict[int, Person] = {p.id or 0: p for p in (current_recipients(session, alert) if alert else [])}
    asker = session.get(Person, request.asker_id) if request.asker_id else None
    if asker is not None and asker.status == "active":
        told.setdefault(asker.id or 0, asker)
    alias, alert_id = hrd.alias or "?", request.alert_id
    for person in told.values():
        if person.id == hrd.id:
            continue
        render = _result_text(result, alias, alert_id, now, person.timezone, raised.id if raised else None)
        outbox.to_person(session, person, render, now=now, key=f"proof:{request.id}:{result}:{person.id}",
                         priority=Priority.DURESS if result == "failed" else Priority.ESCALATION,
                         kind="alert-proof")


def _result_text(result: str, alias: str, alert_id: int, when: datetime, zone: str,
                 raised: int | None) -> Callable[[Translate], str]:
    def render(_: Translate) -> str:
        if result == "matched":
            return _("✅ Proof of life, alert #{id}: {hrd} answered their proof-of-life question at {when}, and the "
                     "answer matches.").format(id=alert_id, hrd=alias, when=_.when(when, zone))
        if result == "failed":
            return _("⚠ Proof of life, alert #{id}: the answer given in {hrd}'s chat at {when} does NOT match. "
                     "Someone else may be answering for them. Everyone who protects them is alerted now "
                     "(alert #{new}): do not contact them in a way that could expose them.").format(
                id=alert_id, hrd=alias, when=_.when(when, zone), new=raised)
        return _("⏳ Proof of life, alert #{id}: {hrd} has not answered their proof-of-life question within {minutes} "
                 "minutes. If an answer still comes, you will be told whether it matches.").format(
            id=alert_id, hrd=alias, minutes=int(ANSWER_WITHIN.total_seconds() // 60))

    return render


def expire_questions(core: Core, now: datetime) -> int:
    """Questions past ``expires_at`` without an answer: claim each once and tell those told."""
    done = 0
    with core.session() as session:
        rows = session.exec(select(ProofRequest).where(
            ProofRequest.status == "asked", col(ProofRequest.expires_at) <= now)
            .order_by(col(ProofRequest.expires_at)).limit(BATCH)).all()
        for request in rows:
            claimed = session.exec(update(ProofRequest).where(  # type: ignore[call-overload]
                col(ProofRequest.id) == request.id, col(ProofRequest.status) == "asked").values(status="expired"))
            hrd = session.get(Person, request.hrd_id)
            if claimed.rowcount != 1 or hrd is None:
                continue
            _tell(session, core.outbox, request, session.get(Alert, request.alert_id), hrd, now, "expired")
            done += 1
        core.commit(session)
    return done


def install_proofs(core: Core, sweeper: Sweeper) -> None:
    """Expire unanswered questions (and wake up for the next one due)."""

    def expire(now: datetime) -> int:
        return expire_questions(core, now)

    def next_expiry(session: Session) -> datetime | None:
        return session.exec(select(func.min(ProofRequest.expires_at)).where(ProofRequest.status == "asked")).one()

    sweeper.extra_jobs.append(expire)
    sweeper.extra_wakeups.append(next_expiry)

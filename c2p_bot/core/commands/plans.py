"""Emergency plans: /plan (HRDs), /plans (coordinators), /done (whoever is alerted).

Flow diagram: docs/flows/plan.md. Storage and sealing: c2p_bot.core.plans; the guided questions:
c2p_bot.core.plan_flow.
"""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.notes import protection, read_note, write_note
from c2p_bot.core.plan_fields import PART_LABELS, PARTS, actions_of, part_named, period
from c2p_bot.core.plan_flow import edit, reviewed, show, start_guided
from c2p_bot.core.plans import fit_plan, open_plan, plan_of
from c2p_bot.core.playbook import DETENTION, step_texts, steps_of
from c2p_bot.core.recipients import current_recipients, may_see
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import Alert, Person, Plan

MAX_NAMES = 30  # names listed per line of /plans


@registry.command("plan", roles={Role.HRD}, usage=N_("[show | edit PART | ok]"),
                  help=N_("Write your emergency plan: what those alerted should do if something happens to you."))
def plan_command(ctx: Context, args: str) -> None:
    words = args.split(maxsplit=2)
    if not words:
        start_guided(ctx)
        return
    sub = words[0].lower()
    if sub in ("show", "see", "view"):
        show(ctx)
    elif sub in ("ok", "confirm", "reviewed"):
        reviewed(ctx)
    elif sub in ("edit", "change"):
        _edit(ctx, words[1:])
    else:
        ctx.reply(ctx._("Send /plan to write your emergency plan or go on with it, /plan show to see it, /plan edit "
                        "PART to change a part, or /plan ok to confirm it is still right."))


def _edit(ctx: Context, words: list[str]) -> None:
    if plan_of(ctx.session, ctx.person_id) is None:
        show(ctx)  # "You have no emergency plan yet"
        return
    part = part_named(words[0]) if words else None
    if part is None:
        which = ctx._("Which part of your plan? Send /plan edit PART, with PART one of: {parts}. For example: "
                      "/plan edit lawyer").format(parts=", ".join(PARTS))
        if words:
            which = ctx._("There is no part of the plan called “{word}”.").format(word=words[0][:40]) + " " + which
        buttons = [Button(ctx._(PART_LABELS[name]), f"/plan edit {name}") for name in PARTS]
        ctx.reply(which, [buttons[:4], buttons[4:]])
        return
    edit(ctx, part, words[1] if len(words) > 1 else "")


@registry.command("plans", roles={Role.COORDINATOR},
                  help=N_("See which defenders have no emergency plan, an unfinished one, or one not reviewed lately."))
def plans_command(ctx: Context, args: str) -> None:
    me = ctx.person
    if me is None:
        raise InvariantError("a command reached its handler without a registered sender")
    every = ctx.config.plans.review_every
    kept = {hrd_id: (progress, reviewed_at) for hrd_id, progress, reviewed_at in ctx.session.exec(
        select(Plan.hrd_id, Plan.progress, Plan.reviewed_at)).all()}
    missing, unfinished, outdated, fresh = [], [], [], 0
    for hrd_id, alias in ctx.session.exec(select(Person.id, Person.alias).where(
            Person.role == Role.HRD.value, Person.status == "active").order_by(col(Person.alias))).all():
        name = alias or "?"
        found = kept.get(hrd_id or 0)
        if found is None:
            missing.append(name)
        elif found[0]:
            unfinished.append(name)
        elif found[1] + every <= ctx.now:
            outdated.append(ctx._("{alias} (last {when})").format(alias=name, when=ctx._.when(found[1], me.timezone)))
        else:
            fresh += 1
    lines = [ctx._("Emergency plans (to be reviewed every {every}):").format(every=period(ctx._, every)),
             ctx._("No plan: {names}").format(names=_names(ctx._, missing)),
             ctx._("Not finished: {names}").format(names=_names(ctx._, unfinished)),
             ctx._("Not reviewed within {every}: {names}").format(every=period(ctx._, every),
                                                                    names=_names(ctx._, outdated)),
             ctx._("Up to date: {n}").format(n=ctx._.number(fresh))]
    ctx.reply("\n".join(lines))


def _names(_: Translate, names: list[str]) -> str:
    if not names:
        return "—"
    shown = ", ".join(names[:MAX_NAMES])
    hidden = len(names) - MAX_NAMES
    return shown if hidden <= 0 else shown + " " + _.ngettext("… and {n} more", "… and {n} more", hidden).format(
        n=hidden)


@registry.command("done", roles={Role.PARTNER, Role.COORDINATOR}, usage=N_("ALERT N [TEXT]"),
                  help=N_("Tick action N of the defender's emergency plan on an alert: it goes in the logbook and "
                          "the others alerted are told."))
def done_command(ctx: Context, args: str) -> None:
    me = ctx.person
    if me is None or me.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    words = args.split(maxsplit=2)
    if not words:
        ctx.reply(ctx._("Usage: /done ALERT N [what you did], for example /done 12 1 called the lawyer."))
        return
    number = words[0].lstrip("#")
    alert = ctx.session.get(Alert, int(number)) if number.isdigit() and len(number) < 12 else None
    if alert is None or not may_see(ctx.session, alert, me):
        ctx.reply(ctx._("There is no alert #{id} that you can act on. Send /alerts to see yours.").format(
            id=number[:12]))
        return
    hrd = ctx.session.get(Person, alert.hrd_id)
    hrd_alias = (hrd.alias if hrd else None) or "?"
    plan = plan_of(ctx.session, alert.hrd_id)
    if alert.kind == DETENTION:  # the plan's actions, then the first-hours playbook's
        _done_on_detention(ctx, me, alert, plan, hrd_alias, words)
        return
    if plan is None:
        ctx.reply(ctx._("{hrd} has no emergency plan, so alert #{id} has no actions to tick. Add to the case "
                        "logbook with /log {id} TEXT.").format(hrd=hrd_alias, id=alert.id))
        return
    try:
        actions = actions_of(open_plan(ctx.core.keyring.kek, plan))
    except CryptoError:
        ctx.reply(ctx._("⚠ {hrd}'s emergency plan failed its integrity check, so its actions cannot be ticked. "
                        "Add to the case logbook with /log {id} TEXT, and tell a coordinator.").format(
            hrd=hrd_alias, id=alert.id))
        return
    count = len(actions)
    if not count:
        ctx.reply(ctx._("{hrd}'s emergency plan lists no actions, so alert #{id} has none to tick. Add to the case "
                        "logbook with /log {id} TEXT.").format(hrd=hrd_alias, id=alert.id))
        return
    how = ctx._("Send /done {id} N with N from 1 to {count}, for example /done {id} 1.").format(
        id=alert.id, count=count)
    if len(words) < 2:
        ctx.reply(ctx._("Which action?") + " " + how)
        return
    raw = words[1].lstrip("#").rstrip(".")
    if not raw.isdigit() or len(raw) > 6:
        ctx.reply(ctx._("“{word}” is not an action number.").format(word=words[1][:20]) + " " + how)
        return
    n = int(raw)
    if not 1 <= n <= count:
        ctx.reply(ctx._.ngettext("{hrd}'s plan has {count} action, so there is no action {n}.",
                                 "{hrd}'s plan has {count} actions, so there is no action {n}.", count).format(
            hrd=hrd_alias, count=count, n=n) + " " + ctx._("Send /done {id} N with N from 1 to {count}.").format(
            id=alert.id, count=count))
        return
    _tick(ctx, me, alert, plan, hrd_alias, n, actions[n - 1], words[2] if len(words) > 2 else "")


def _done_on_detention(ctx: Context, me: Person, alert: Alert, plan: Plan | None, hrd_alias: str,
                       words: list[str]) -> None:
    """``/done`` on a detention alert: the plan's actions are 1 to K, the playbook's steps follow
    (c2p_bot.core.playbook), as the alert numbers them."""
    actions: list[str] = []
    if plan is not None:
        try:
            actions = actions_of(open_plan(ctx.core.keyring.kek, plan))
        except CryptoError:  # the alert numbered the playbook from 1 then too
            actions = []
    from_plan = len(actions)
    actions += step_texts(ctx._, steps_of(ctx.config))
    count = len(actions)
    how = ctx._("Send /done {id} N with N from 1 to {count}, for example /done {id} 1.").format(
        id=alert.id, count=count)
    if len(words) < 2:
        ctx.reply(ctx._("Which action?") + " " + how)
        return
    raw = words[1].lstrip("#").rstrip(".")
    if not raw.isdigit() or len(raw) > 6:
        ctx.reply(ctx._("“{word}” is not an action number.").format(word=words[1][:20]) + " " + how)
        return
    n = int(raw)
    if not 1 <= n <= count:
        ctx.reply(ctx._.ngettext("Alert #{id} lists {count} action, so there is no action {n}.",
                                 "Alert #{id} lists {count} actions, so there is no action {n}.", count).format(
            id=alert.id, count=count, n=n) + " " + how)
        return
    _tick(ctx, me, alert, plan if n <= from_plan else None, hrd_alias, n, actions[n - 1],
          words[2] if len(words) > 2 else "")


def _tick(ctx: Context, me: Person, alert: Alert, plan: Plan | None, hrd_alias: str, n: int, action: str,
          text: str) -> None:
    """Log the tick (a sealed logbook entry, who and when), tell the others alerted, reply. ``plan``:
    the plan the action comes from (None: a detention playbook's step, which is no secret)."""
    # The entry quotes the plan: it is as protected as the plan and the channel it came from.
    written_on = ctx.incoming.platform
    if plan is not None and plan.platform is not None and protection(plan.platform) > protection(written_on):
        written_on = plan.platform
    entry = f"✔ {n}. {action}" + (f"\n{text}" if text else "")
    note = write_note(ctx.session, subject_id=alert.hrd_id, author_id=me.id, kind="done", text=entry, now=ctx.now,
                      alert_id=alert.id, outbox=ctx.core.outbox, platform=written_on)
    ctx.audit("plan_action_done", f"alert:{alert.id}", f"action={n}")
    others = [p for p in current_recipients(ctx.session, alert) if p.id != me.id]
    who = me.alias or "?"
    for person in others:
        try:
            shown = read_note(ctx.session, ctx.core.keyring, note, person)  # as their channel allows
        except CryptoError:
            shown = None

        def render(_: Translate, shown: str | None = shown) -> str:
            told = _("{who} ticked action {n} of alert #{id} about {hrd}.").format(
                who=who, n=n, id=alert.id, hrd=hrd_alias)
            return f"{told}\n{shown}" if shown else told

        ctx.tell(person, render, key=f"alert:{alert.id}:done:{note.id}:{person.id}", kind="alert-done",
                 priority=Priority.ESCALATION, sensitive=shown is not None)
    held_back, _safer = fit_plan(ctx.session, plan, me.id or 0, me.key_mode, ctx.incoming.platform) \
        if plan is not None else (None, None)
    quoted = held_back is None and (me.key_mode != "own" or plan is None)
    if others:
        reply = ctx._("Ticked action {n} of alert #{id} ({action}): it is in the case logbook, and the others "
                      "alerted have been told.") if quoted else ctx._(
            "Ticked action {n} of alert #{id}: it is in the case logbook, and the others alerted have been told.")
    else:
        reply = ctx._("Ticked action {n} of alert #{id} ({action}): it is in the case logbook.") if quoted else ctx._(
            "Ticked action {n} of alert #{id}: it is in the case logbook.")
    ctx.reply(reply.format(n=n, id=alert.id, action=action), sensitive=quoted)

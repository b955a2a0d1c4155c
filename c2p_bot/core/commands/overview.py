"""Coordinator commands on the state of the programme: /overview (what is happening now, in pages)
and /report (what happened over a period). The data: c2p_bot/core/overview_data.py and
c2p_bot/core/report_data.py."""

from __future__ import annotations

from datetime import timedelta

from babel.numbers import format_percent

from c2p_bot.core.alert_kinds import kind_name
from c2p_bot.core.answer_words import kind_noun
from c2p_bot.core.context import Context
from c2p_bot.core.duration_words import SpokenDurationError, parse_spoken_duration
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.overview_data import PLAN_STATUS, HrdLine, Overview, overview
from c2p_bot.core.registry import registry
from c2p_bot.core.report_data import Report, build
from c2p_bot.core.roles import Role

COORDINATOR = {Role.COORDINATOR}
OUTCOMES = {
    "safe": N_("safe"),
    "false-alarm": N_("false alarm"),
    "incident": N_("incident"),
    "detained": N_("detained"),
}
REPORT_DEFAULT, REPORT_LONGEST = timedelta(days=90), timedelta(days=3650)
PLAN_STATES = {
    "current": N_("plan up to date"),
    "review": N_("plan due for review"),
    "missing": N_("no plan"),
}


@registry.command("overview", roles=COORDINATOR, usage=N_("[PAGE]"),
                  help=N_("See every defender, partner, offer and open need at a glance, alerts first."))
def overview_command(ctx: Context, args: str) -> None:
    word = args.strip().lstrip("#")
    if word and not (word.isdigit() and len(word) < 7 and int(word) >= 1):
        ctx.reply(ctx._("Usage: /overview [PAGE], for example /overview 2. “{item}” is not a page number.").format(
            item=args.strip()[:20]))
        return
    plans = ctx.core.services.get(PLAN_STATUS)
    data = overview(ctx.session, ctx.now, int(word or 1), plans if callable(plans) else None)  # type: ignore[arg-type]
    buttons = []
    if data.page > 1:
        buttons.append(Button(ctx._("◀ Previous"), f"/overview {data.page - 1}"))
    if data.page < data.pages:
        buttons.append(Button(ctx._("Next ▶"), f"/overview {data.page + 1}"))
    ctx.reply("\n".join(overview_lines(ctx._, data, ctx.person.timezone if ctx.person else "UTC")),
              [buttons] if buttons else ())


def overview_lines(_: Translate, data: Overview, zone: str) -> list[str]:
    """The page as lines: a summary, then the page's part of each section."""
    lines = [_("Programme overview, page {page} of {pages}").format(page=data.page, pages=data.pages),
             _.ngettext("{n} defender: {alerting} alerting, {overdue} overdue.",
                        "{n} defenders: {alerting} alerting, {overdue} overdue.", data.hrds).format(
                 n=_.number(data.hrds), alerting=_.number(data.alerting), overdue=_.number(data.overdue)),
             _.ngettext("{n} partner, {full} with no free place.", "{n} partners, {full} with no free place.",
                        data.partners).format(n=_.number(data.partners), full=_.number(data.full)),
             _("Proposals waiting for your decision: {pending}. Offers waiting for a partner's answer: "
               "{offered}.").format(pending=_.number(data.pending), offered=_.number(data.offered)),
             _.ngettext("{n} need without a partner.", "{n} needs without a partner.", data.needs).format(
                 n=_.number(data.needs))]
    if data.hrd_lines:
        lines += ["", _("Defenders (alerts and overdue first):")]
        lines += [_hrd(_, line, zone, data.plans) for line in data.hrd_lines]
    if data.partner_lines:
        lines += ["", _("Partners (load against capacity):")]
        for p in data.partner_lines:
            text = _("• {partner} ({kind}): {load} of {capacity}").format(
                partner=p.alias, kind=kind_noun(_, p.kind) if p.kind else "—", load=p.load, capacity=p.capacity)
            if not p.available:
                text += " — " + _("not available")
            elif p.load >= p.capacity:
                text += " — " + _("full")
            lines.append(text)
    if data.waiting_lines:
        lines += ["", _("Proposals and offers waiting:")]
        for w in data.waiting_lines:
            if w.status == "pending":
                lines.append(_("• #{id} {hrd} ↔ {partner} ({kind}): waiting for your decision, /approve {id} "
                               "or /reject {id}").format(id=w.id, hrd=w.hrd, partner=w.partner,
                                                         kind=kind_noun(_, w.kind)))
            else:
                lines.append(_("• #{id} {hrd} ↔ {partner} ({kind}): offered, answer due {when}").format(
                    id=w.id, hrd=w.hrd, partner=w.partner, kind=kind_noun(_, w.kind),
                    when=_.when(w.expires, zone) if w.expires else "—"))
    if data.need_lines:
        lines += ["", _("Needs without a partner:")]
        for n in data.need_lines:
            kind = kind_noun(_, n.kind)
            if n.proposal is None:
                lines.append(_("• {hrd}, {kind}: no proposal yet (/propose or /match)").format(
                    hrd=n.hrd, kind=kind))
            elif n.status == "offered":
                lines.append(_("• {hrd}, {kind}: offer #{id} waits for the partner").format(
                    hrd=n.hrd, kind=kind, id=n.proposal))
            else:
                lines.append(_("• {hrd}, {kind}: proposal #{id} waits for your decision").format(
                    hrd=n.hrd, kind=kind, id=n.proposal))
    if data.hrds + data.partners == 0:
        lines += ["", _("Nobody has joined yet. Invite people with /invite.")]
    return lines


def _hrd(_: Translate, line: HrdLine, zone: str, plans: bool) -> str:
    if line.alerts:
        head = _("• ⚠ {hrd}: ALERT").format(hrd=line.alias) + " " + ", ".join(
            _("#{id} {kind} ({state})").format(id=aid, kind=kind_name(_, kind),
                                               state=_("open") if status == "open" else _("acknowledged"))
            for aid, kind, status in line.alerts)
    elif line.state == "alerting":
        head = _("• ⚠ {hrd}: alerting").format(hrd=line.alias)
    elif line.state == "overdue" and line.due is not None:
        head = _("• ⏰ {hrd}: overdue since {when}").format(hrd=line.alias, when=_.when(line.due, zone))
    elif line.state == "paused":
        head = _("• {hrd}: check-ins paused").format(hrd=line.alias)
    else:
        head = f"• {line.alias}"
    parts = [head]
    if line.partners:
        parts.append(_("partners: {partners}").format(partners=", ".join(
            f"{alias} ({kind_noun(_, kind)})" if kind else alias for alias, kind in line.partners)))
    else:
        parts.append(_("no partner"))
    parts.append(_("last check-in {when}").format(when=_.when(line.last_checkin, zone)) if line.last_checkin
                 else _("no check-in yet"))
    if plans:
        parts.append(_(PLAN_STATES[line.plan]) if line.plan in PLAN_STATES else _("plan status unknown"))
    return "; ".join(parts)



@registry.command("report", roles=COORDINATOR, usage=N_("[PERIOD]"),
                  help=N_("Sum up the programme over a period (90 days unless you say, e.g. /report 30d)."))
def report_command(ctx: Context, args: str) -> None:
    word = args.strip()
    period = REPORT_DEFAULT
    if word:
        try:
            period = parse_spoken_duration(word)  # "30d", "30 days", "3 semanas"…
        except SpokenDurationError:
            ctx.reply(ctx._("“{item}” is not a period I understand. Write a number of days or weeks, for example "
                            "/report 30d or /report 12w.").format(item=word[:20]))
            return
        if period > REPORT_LONGEST:
            ctx.reply(ctx._("“{item}” is too long: a report covers at most 10 years, for example /report 52w.").format(
                item=word[:20]))
            return
        if period < timedelta(days=1):
            ctx.reply(ctx._("“{item}” is too short: a report covers at least 1 day, for example /report 7d.").format(
                item=word[:20]))
            return
    data = build(ctx.session, ctx.now - period, ctx.now, ctx.config.escalation.steps)
    zone = ctx.person.timezone if ctx.person else "UTC"
    ctx.reply("\n".join(report_lines(ctx._, data, zone, f"{period.days}d")))


def report_lines(_: Translate, data: Report, zone: str, since: str) -> list[str]:
    """A short summary of ``data``: aggregates only."""
    def percent(value: float) -> str:
        return format_percent(value, locale=_.locale)

    lines = [_.ngettext("Report for the last {n} day (since {when}):", "Report for the last {n} days (since {when}):",
                        data.days).format(n=_.number(data.days), when=_.when(data.since, zone)),
             _("Defenders protected (with a partner): {protected} of {active}.").format(
                 protected=_.number(data.hrds_protected), active=_.number(data.hrds_active))]
    if data.checkins:
        lines.append(_("Check-ins: {n}, {rate} on time.").format(
            n=_.number(data.checkins), rate=percent(data.on_time_rate or 0)))
    else:
        lines.append(_("Check-ins: 0."))
    if data.alerts:
        kinds = ", ".join(_("{what}: {n}").format(what=kind_name(_, kind), n=_.number(n))
                          for kind, n in data.by_kind.items())
        still = data.by_status.get("open", 0) + data.by_status.get("acked", 0)
        lines.append(_("Alerts: {n} ({kinds}); still open: {open}.").format(
            n=_.number(data.alerts), kinds=kinds, open=_.number(still)))
    else:
        lines.append(_("Alerts: 0."))
    if data.by_outcome is None:
        lines.append(_("Outcomes: not recorded."))
    else:
        outcomes = ", ".join(_("{what}: {n}").format(what=_(OUTCOMES[k]) if k in OUTCOMES else k, n=_.number(n))
                             for k, n in data.by_outcome.items())
        lines.append(_("Outcomes: {outcomes}; false alarms: {rate}.").format(
            outcomes=outcomes, rate=percent(data.false_alarm_rate or 0)))
    if data.ack_all is None:
        lines.append(_("Time to acknowledge: no acknowledgement in this period."))
    else:
        lines.append(_("Time to acknowledge: median {median}; 90% within {p90}.").format(
            median=_.duration(timedelta(seconds=data.ack_all.median)),
            p90=_.duration(timedelta(seconds=data.ack_all.p90))))
    lines.append(_("Drills: none recorded.") if data.drills is None
                 else _("Drills: {n}.").format(n=_.number(data.drills)))
    lines.append(_("Partner actions: none recorded.") if data.actions is None
                 else _("Partner actions: {n} ({kinds}).").format(
                     n=_.number(sum(data.actions.values())),
                     kinds=", ".join(_("{what}: {n}").format(what=k, n=_.number(n)) for k, n in data.actions.items())))
    lines.append(_("For charts and the times per step and per partner, the operator can run: "
                   "c2p-bot report --since {since} --format html --out report.html").format(since=since))
    return lines

"""HRD commands: /checkin (/ok), /status, /schedule, /pause, /resume, /panic.

Flow diagram: docs/flows/checkin.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from c2p_bot.core.alert_kinds import kind_name
from c2p_bot.core.checkin_record import do_checkin
from c2p_bot.core.checkins import arm, ensure_clock, restart_clock, schedule_of
from c2p_bot.core.context import Context
from c2p_bot.core.detention import raise_detention
from c2p_bot.core.durations_text import read_duration, say_duration
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button
from c2p_bot.core.guidance import checkin_button, overdue, overdue_line
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.notes import write_note
from c2p_bot.core.outcomes import detained_word
from c2p_bot.core.pins_flow import ACTIONS, ask_pin, checkin_with_pin, needs_pin, tell_protectors
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from c2p_bot.core.schedule import ScheduleError, parse_times
from c2p_bot.durations import format_duration
from storage.models import Alert, CheckinClock

HRD = {Role.HRD}
MIN_INTERVAL, MAX_INTERVAL = timedelta(minutes=1), timedelta(days=30)
MIN_GRACE, MAX_GRACE = timedelta(minutes=1), timedelta(days=7)


@registry.command("checkin", roles=HRD, aliases=("ok",), usage=N_("[note]"),
                  help=N_("Check in: tell your partners you are safe, with an optional note."))
def checkin_command(ctx: Context, args: str) -> None:
    # Most check-ins never get here: c2p_bot.core.checkin_express writes the same rows for an
    # active HRD without a PIN, a conversation, a missed alert or a session. Change both
    # (tests/core/test_checkin_express.py compares them row by row).
    if ctx.person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    clock = ensure_clock(ctx.session, ctx.person, ctx.config, ctx.now)
    if ctx.person.pin_hash:
        checkin_with_pin(ctx, clock, args)
        return
    do_checkin(ctx, clock, args)


@registry.command("status", roles=HRD, help=N_("Show your next check-in, pause and open alerts."))
def status_command(ctx: Context, args: str) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
    lines = []
    buttons: list[list[Button]] = []
    if clock.state == "paused" and clock.paused_until:
        lines.append(ctx._("Check-ins are paused until {when}.").format(
            when=ctx._.when(clock.paused_until, clock.timezone)))
    elif overdue(clock, ctx.now):
        lines.append(overdue_line(ctx._, clock, ctx.now))
        buttons = checkin_button(ctx._)
    else:
        lines.append(ctx._("Next check-in due: {due}.").format(due=ctx._.when(clock.next_due, clock.timezone)))
    if clock.last_checkin_at:
        lines.append(ctx._("Last check-in: {when}.").format(when=ctx._.when(clock.last_checkin_at, clock.timezone)))
    visible = ctx.session.exec(select(Alert).where(
        Alert.hrd_id == hrd.id, col(Alert.status).in_(("open", "acked")),
        col(Alert.kind).in_(("missed", "panic")))).all()  # duress and PIN alerts stay invisible here
    if visible:
        # By kind and time, never by number: numbers are shared by the programme, so a gap between
        # two the defender saw would tell a coercer that a hidden alert went out (SECURITY.md, 4).
        shown = ", ".join(ctx._("{kind} (raised {when})").format(
            kind=kind_name(ctx._, a.kind), when=ctx._.when(a.raised_at, clock.timezone)) for a in visible)
        lines.append(ctx._("Open alerts: {list}.").format(list=shown))
    else:
        lines.append(ctx._("No open alerts."))
    ctx.reply("\n".join(lines), buttons)


def _describe(ctx: Context, clock: CheckinClock) -> str:
    return describe(ctx._, clock)


def describe(_: Translate, clock: CheckinClock) -> str:
    schedule = schedule_of(clock)
    grace = format_duration(timedelta(seconds=clock.grace_s))
    if schedule.kind == "daily":
        return _("daily at {times} ({zone}), grace {grace}").format(
            times=schedule.describe_times(), zone=clock.timezone, grace=grace)
    return _("every {interval}, grace {grace}").format(
        interval=format_duration(schedule.interval), grace=grace)


def longest_gap(schedule_kind: str, interval_s: int, daily_times: str) -> int:
    """The longest time, in seconds, a schedule lets pass between two check-ins."""
    if schedule_kind != "daily":
        return interval_s
    minutes = sorted(int(t[:2]) * 60 + int(t[3:]) for t in daily_times.split(",") if t)
    if not minutes:
        return 86400
    gaps = [b - a for a, b in zip(minutes, minutes[1:], strict=False)] + [24 * 60 - minutes[-1] + minutes[0]]
    return max(gaps) * 60


@dataclass(frozen=True)
class SchedulePlan:
    schedule_kind: str
    interval_s: int
    daily_times: str
    timezone: str
    grace_s: int

    def looser_than(self, clock: CheckinClock) -> bool:
        """Whether it lets more time pass before an alarm than the clock's schedule does now."""
        return self.grace_s > clock.grace_s or longest_gap(
            self.schedule_kind, self.interval_s, self.daily_times) > longest_gap(
            clock.schedule_kind, clock.interval_s, clock.daily_times)


_OPTION = re.compile(r"(?:^|\s)(grace|tz)(?=\s|$)", re.I)


def _plan_schedule(ctx: Context, clock: CheckinClock, words: list[str]) -> SchedulePlan | str:
    """The schedule ``/schedule WORDS`` asks for, or the text to answer (naming what is wrong)."""
    head, _space, rest = " ".join(words).partition(" ")
    if head.lower() not in ("every", "daily"):
        return ctx._("“{item}” is not a schedule. Start with every or daily, like /schedule every 12 hours "
                     "or /schedule daily 09:00, 21:00.").format(item=head)
    pieces = _OPTION.split(rest)  # value, then option name and value pairs
    value, options = pieces[0].strip(), {}
    for name, given in zip(pieces[1::2], pieces[2::2], strict=True):
        if name.lower() in options:
            return ctx._("“{item}” appears twice; write it once.").format(item=name)
        options[name.lower()] = given.strip()
    grace = clock.grace_s
    if "grace" in options:
        if not options["grace"]:
            return ctx._("Write how long after “grace”, like grace 30 minutes.")
        parsed = read_duration(ctx._, options["grace"], MIN_GRACE, MAX_GRACE, timedelta(minutes=30))
        if isinstance(parsed, str):
            return parsed
        grace = int(parsed.total_seconds())
    if head.lower() == "every":
        if "tz" in options:
            return ctx._("A time zone (tz) goes with daily times only, like /schedule daily 09:00 tz "
                         "Africa/Nairobi.")
        if not value:
            return ctx._("Write how often after “every”, like /schedule every 12 hours.")
        interval = read_duration(ctx._, value, MIN_INTERVAL, MAX_INTERVAL, timedelta(hours=12))
        if isinstance(interval, str):
            return interval
        return SchedulePlan("every", int(interval.total_seconds()), "", clock.timezone, grace)
    try:
        times = parse_times(value)
    except ScheduleError as error:
        return _times_problem(ctx, error)
    zone = clock.timezone
    if "tz" in options:
        if not options["tz"]:
            return ctx._("Write a time zone after “tz”, like tz Africa/Nairobi.")
        from c2p_bot.core.profile_fields import FIELDS, FieldError

        try:
            zone = str(FIELDS["timezone"].parse(options["tz"], ctx.config, ctx._))
        except FieldError as error:
            return error.message
    return SchedulePlan("daily", clock.interval_s, ",".join(t.strftime("%H:%M") for t in times), zone, grace)


def _times_problem(ctx: Context, error: ScheduleError) -> str:
    if error.code == "bad_time":
        return ctx._("“{item}” is not a time of day; write times like 09:00 or 21:30.").format(item=error.item)
    if error.code == "too_many":
        return ctx._("That is more than {n} times a day; choose at most {n}.").format(n=error.item)
    return ctx._("Write one or more times of day after “daily”, like /schedule daily 09:00, 21:00.")


@registry.command("schedule", roles=HRD,
                  usage=N_("[every DURATION | daily HH:MM[,HH:MM…] [tz ZONE]] [grace DURATION]"),
                  help=N_("Show or set when you check in, e.g. /schedule daily 09:00,21:00"))
def schedule_command(ctx: Context, args: str) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
    words = args.split()
    if not words:
        ctx.reply(ctx._("Your schedule: {schedule}.\nNext check-in due: {due} — {utc}.").format(
            schedule=_describe(ctx, clock), due=ctx._.when(clock.next_due, clock.timezone),
            utc=clock.next_due.strftime("%Y-%m-%d %H:%M UTC")))
        return
    plan = _plan_schedule(ctx, clock, words)
    if isinstance(plan, str):
        ctx.reply(plan)
        return
    if needs_pin(ctx) and plan.looser_than(clock):
        ask_pin(ctx, "schedule", args)
        return
    # Without the PIN, a change never moves the deadline later (it would postpone the alarm).
    _apply_schedule(ctx, clock, plan, keep_earlier=needs_pin(ctx))


def _confirmed_schedule(ctx: Context, args: str, duress: bool) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
    plan = _plan_schedule(ctx, clock, args.split())
    if isinstance(plan, str):
        ctx.reply(plan)
        return
    _apply_schedule(ctx, clock, plan, keep_earlier=False)


def _apply_schedule(ctx: Context, clock: CheckinClock, plan: SchedulePlan, *, keep_earlier: bool) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    before = clock.next_due
    clock.schedule_kind, clock.interval_s, clock.daily_times = plan.schedule_kind, plan.interval_s, plan.daily_times
    clock.timezone, clock.grace_s = plan.timezone, plan.grace_s
    if clock.state == "ok":
        restart_clock(clock, ctx.now, ctx.config)
        if keep_earlier and before < clock.next_due:
            arm(clock, before, ctx.config, ctx.now)
    ctx.session.add(clock)
    ctx.audit("schedule_changed", f"person:{hrd.id}", clock.schedule_kind)
    ctx.reply(ctx._("Schedule saved: {schedule}.\nNext check-in due: {due}.").format(
        schedule=_describe(ctx, clock), due=ctx._.when(clock.next_due, clock.timezone)))
    alias = hrd.alias or "?"

    def render(_: Translate, zone: str) -> str:
        return _("{alias} changed their check-in schedule: {schedule}. Next check-in due {due}.").format(
            alias=alias, schedule=describe(_, clock), due=_.when(clock.next_due, zone))

    tell_protectors(ctx, hrd, render)


ACTIONS["schedule"] = _confirmed_schedule


def _pause_for(ctx: Context, args: str) -> timedelta | None:
    longest = ctx.config.checkins.max_pause
    if not args.strip():
        ctx.reply(ctx._("Write how long to pause, like /pause 2 days or /pause 8 hours. The longest pause "
                        "is {max}.").format(max=say_duration(ctx._, longest)))
        return None
    duration = read_duration(ctx._, args, timedelta(minutes=1), longest, timedelta(days=2))
    if isinstance(duration, str):
        ctx.reply(duration)
        return None
    return duration


@registry.command("pause", roles=HRD, usage=N_("DURATION"),
                  help=N_("Pause check-ins for a while, e.g. /pause 2d (they resume by themselves)."))
def pause_command(ctx: Context, args: str) -> None:
    if _pause_for(ctx, args) is None:
        return
    if needs_pin(ctx):
        ask_pin(ctx, "pause", args.strip())
        return
    _pause(ctx, args, False)


def _pause(ctx: Context, args: str, duress: bool) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    duration = _pause_for(ctx, args)
    if duration is None:
        return
    clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
    until = ctx.now + duration
    clock.state, clock.paused_until, clock.remind_at = "paused", until, None
    remind = until - ctx.config.checkins.pause_reminder_before
    clock.pause_remind_at = remind if remind > ctx.now else None
    ctx.session.add(clock)
    ctx.audit("paused", f"person:{hrd.id}", f"for {format_duration(duration)}")
    ctx.reply(ctx._("Check-ins are paused until {when}. They start again by themselves; "
                    "send /resume to end the pause earlier.").format(when=ctx._.when(until, clock.timezone)))
    alias = hrd.alias or "?"
    tell_protectors(ctx, hrd, lambda _, zone: _("{alias} paused their check-ins until {when}.").format(
        alias=alias, when=_.when(until, zone)))


ACTIONS["pause"] = _pause


@registry.command("resume", roles=HRD, help=N_("End a pause now."))
def resume_command(ctx: Context, args: str) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
    if clock.state != "paused":
        ctx.reply(ctx._("Your check-ins are not paused. Next check-in due: {due}.").format(
            due=ctx._.when(clock.next_due, clock.timezone)))
        return
    restart_clock(clock, ctx.now, ctx.config)
    ctx.session.add(clock)
    ctx.audit("resumed", f"person:{hrd.id}")
    ctx.reply(ctx._("Check-ins are back on. Your next check-in is due {due}.").format(
        due=ctx._.when(clock.next_due, clock.timezone)))
    alias, due = hrd.alias or "?", clock.next_due
    tell_protectors(ctx, hrd, lambda _, zone: _("{alias} resumed their check-ins. Next check-in due {due}.")
                    .format(alias=alias, due=_.when(due, zone)))


@registry.command("panic", roles=HRD, usage=N_("[detained] [note]"),
                  help=N_("Raise the alarm now with everyone who protects you; /panic detained if you are "
                          "being detained."))
def panic_command(ctx: Context, args: str) -> None:
    hrd = ctx.person
    if hrd is None or hrd.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    detained, words = detained_word(args)
    if detained:  # /panic detained [text]: a detention alert (c2p_bot.core.detention)
        _alert, _new = raise_detention(ctx, hrd, words)
        ctx.reply(ctx._("Alarm raised: everyone who protects you is being told now that you are being "
                        "detained, with your emergency plan."), priority=5)
        return
    if args:
        write_note(ctx.session, subject_id=hrd.id, author_id=hrd.id, kind="panic", text=args, now=ctx.now,
                   outbox=ctx.core.outbox)
    ctx.core.escalation.raise_alert(ctx.session, hrd, "panic", ctx.now)
    ctx.reply(ctx._("Alarm raised. Your partners and the coordinators are being alerted now."), priority=5)

"""Guidance for someone unsure what to send: what "ok" or a mistyped command probably meant, what
``/start`` says to someone already registered, and an HRD's next step (when the check-in is due,
whether it is overdue, what a missed one sets off).

Nothing here checks anyone in: "ok" or ``/check-in`` only get "Did you mean /checkin?" with a
button, and the check-in is the press (or ``/checkin`` typed), with the PIN if one is set.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import datetime, timedelta

from c2p_bot.core.checkins import ensure_clock
from c2p_bot.core.context import Context
from c2p_bot.core.durations_text import say_duration
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import Translate
from c2p_bot.core.parsing import ParsedCommand
from c2p_bot.core.recipients import active_partners
from c2p_bot.core.roles import Role
from c2p_bot.core.settings import CoreSettings
from storage.models import CheckinClock

CHECKIN = "checkin"
# What people write when they mean "I am safe", in the bot's languages (compared after folding).
SAFE_PHRASES = (
    "ok", "okay", "okey", "safe", "i am safe", "i'm safe", "im safe", "i am ok", "i'm ok", "i am okay",
    "i'm okay", "fine", "i am fine", "i'm fine", "all good", "all fine", "all ok", "all okay", "good", "all is well",
    "all well", "checkin", "check in", "checking in", "checked in",
    "ça va", "ca va", "ça va bien", "bien", "très bien", "tout va bien", "je vais bien", "je suis en sécurité",
    "en sécurité", "d'accord", "tout est ok", "rien à signaler",
    "estoy bien", "todo bien", "estoy a salvo", "a salvo", "estoy segura", "estoy seguro", "todo en orden", "vale",
    "bien gracias",
    "в порядке", "я в порядке", "всё в порядке", "все в порядке", "всё хорошо", "все хорошо", "хорошо",
    "нормально", "всё нормально", "ок", "я в безопасности",
    "أنا بخير", "بخير", "كل شيء بخير", "أنا آمن", "أنا آمنة", "تمام", "كله تمام", "الحمد لله", "أنا بأمان",
)
PIN_LIKE = re.compile(r"\d{4,}")


def folded(text: str) -> str:
    """``text`` lower-cased, without accents, marks or punctuation, single-spaced: "I’m safe!" →
    "i m safe", "Ça va" → "ca va", "أنا" → "انا"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(kept.split())


SAFE = frozenset(folded(phrase) for phrase in SAFE_PHRASES)


def means_safe(text: str) -> bool:
    """Whether a plain message says "I am safe" (alone, or opening a short message)."""
    words = folded(text).split()
    if " ".join(words) in SAFE:
        return True
    return len(words) <= 8 and any(" ".join(words[:n]) in SAFE for n in (2, 3, 4) if len(words) > n)


def _typed_name(text: str, command: ParsedCommand | None) -> str:
    if command is not None:
        return command.name
    first = text.split(maxsplit=1)[0] if text.split() else ""
    return "".join(ch for ch in folded(first) if ch.isalnum())


def suggestion(ctx: Context, text: str, command: ParsedCommand | None) -> str | None:
    """The command of the sender's role that ``text`` most likely meant, or ``None``."""
    role = ctx.role
    if role is None:
        return None
    names = {key: spec.name for spec in ctx.core.commands.for_role(role) for key in (spec.name, *spec.aliases)}
    if command is None and not text.startswith("/"):
        if CHECKIN in names.values() and means_safe(text):
            return CHECKIN
        word = folded(text)
        return names.get(word) if " " not in word else None  # "status" for /status
    typed = _typed_name(text, command)
    if not typed:
        return None
    if typed in names:
        return names[typed]
    close = difflib.get_close_matches(typed, list(names), n=1, cutoff=0.6)
    return names[close[0]] if close else None


def suggest(ctx: Context, text: str, command: ParsedCommand | None) -> bool:
    """Answer "Did you mean /X?" with a button for X, if ``text`` looks like X; whether it did.
    A message from a PIN holder that may hold a PIN is deleted, and is never repeated."""
    meant = suggestion(ctx, text, command)
    if meant is None:
        return False
    forget_pin_like(ctx, text)
    if meant == CHECKIN:
        reply = ctx._("Did you mean /checkin? A message like this does not count as a check-in: "
                      "press the button, or send /checkin.")
    else:
        reply = ctx._("Did you mean {command}? Press the button to send it.").format(command=f"/{meant}")
    ctx.reply(reply, [[Button(f"/{meant}", f"/{meant}")]])
    return True


def forget_pin_like(ctx: Context, text: str) -> None:
    """Delete a not-understood message of a PIN holder that may hold their PIN."""
    if ctx.person is not None and ctx.person.pin_hash and PIN_LIKE.search(text):
        ctx.delete_incoming()


# -- durations and an HRD's next step --------------------------------------------------------

def ago(_: Translate, delta: timedelta) -> str:
    """How long ago, to the minute (to the second within the first minute): "2 hours 10 minutes"."""
    seconds = max(0, int(delta.total_seconds()))
    return say_duration(_, timedelta(seconds=seconds if seconds < 60 else seconds - seconds % 60))


def overdue(clock: CheckinClock, now: datetime) -> bool:
    """Whether the check-in was due by now (and check-ins are not paused)."""
    return clock.state != "paused" and clock.next_due <= now


def overdue_line(_: Translate, clock: CheckinClock, now: datetime) -> str:
    """"Your check-in is overdue: it was due …, … ago", for /status and /start."""
    return _("Your check-in is overdue: it was due {due}, {ago} ago. Send /checkin now.").format(
        due=_.when(clock.next_due, clock.timezone), ago=ago(_, now - clock.next_due))


def checkin_button(_: Translate) -> list[list[Button]]:
    """The "I'm safe" button: ``/checkin``, which asks a PIN holder for their PIN."""
    return [[Button(_("I'm safe"), "/checkin")]]


def first_checkin_text(_: Translate, config: CoreSettings, clock: CheckinClock, has_partners: bool) -> str:
    """When a new HRD's first check-in is due, and who is told, when, if it is missed."""
    lines = [_("Your first check-in is due {due}. Send /checkin by then; I will remind you {before} before.").format(
        due=_.when(clock.next_due, clock.timezone), before=say_duration(_, config.checkins.remind_before))]
    # The chat steps (email steps only follow them up), each audience once, and how long after the
    # previous one each is reached.
    chain = config.escalation.chain
    reached: dict[str, timedelta] = {}
    previous = None
    for index, each in enumerate(chain):
        if each.email or each.audience in reached:
            continue
        reached[each.audience] = timedelta(0) if previous is None else sum(
            (config.wait_after_step(k) for k in range(previous, index)), timedelta(0))
        previous = index
    steps = list(reached)
    grace = say_duration(_, timedelta(seconds=clock.grace_s))
    if steps[0] == "partners":
        lines.append(_("If you have not checked in {grace} after that, your partners are alerted.").format(grace=grace))
    else:
        lines.append(_("If you have not checked in {grace} after that, the coordinators are alerted.").format(
            grace=grace))
    for step in steps[1:]:
        wait = say_duration(_, reached[step])
        if step == "partners":
            lines.append(_("If nobody acknowledges within {wait}, your partners are alerted too.").format(wait=wait))
        else:
            lines.append(_("If nobody acknowledges within {wait}, the coordinators are alerted too.").format(
                wait=wait))
    if "partners" in steps and not has_partners:
        if "coordinators" in steps:
            lines.append(_("Until you are matched with partners, the coordinators are alerted in their place."))
        else:
            lines.append(_("Until you are matched with partners, nobody can be alerted: a coordinator will "
                           "match you soon."))
    return "\n".join(lines)


def tell_first_checkin(ctx: Context) -> None:
    """The end of an HRD's onboarding: when the first check-in is due and what a miss sets off."""
    hrd = ctx.person
    if hrd is None or hrd.role != Role.HRD.value:
        return
    clock = ensure_clock(ctx.session, hrd, ctx.config, ctx.now)
    ctx.reply(first_checkin_text(ctx._, ctx.config, clock, bool(active_partners(ctx.session, hrd.id or 0))))


# -- /start from someone registered ----------------------------------------------------------

def welcome_back(ctx: Context) -> None:
    """``/start`` (a chat reopened, an old invite link) from someone registered: their next step."""
    person, role = ctx.person, ctx.role
    if person is None or role is None:
        return
    greeting = ctx._("Welcome back, {alias}.").format(alias=person.alias or "?")
    buttons: list[list[Button]] = []
    if role == Role.HRD:
        clock = ensure_clock(ctx.session, person, ctx.config, ctx.now)
        if clock.state == "paused" and clock.paused_until:
            step = ctx._("Check-ins are paused until {when}; send /resume to end the pause earlier.").format(
                when=ctx._.when(clock.paused_until, clock.timezone))
        elif overdue(clock, ctx.now):
            step, buttons = overdue_line(ctx._, clock, ctx.now), checkin_button(ctx._)
        else:
            step = ctx._("Your next check-in is due {due}: send /checkin by then.").format(
                due=ctx._.when(clock.next_due, clock.timezone))
    elif role == Role.PARTNER:
        step = ctx._("I will write to you here when someone you support needs help; /alerts shows the open "
                     "alerts. Send /help to see what you can do.")
    else:
        step = ctx._("/alerts shows the open alerts and /invite adds people. Send /help to see what you can do.")
    ctx.reply(greeting + " " + step, buttons)

"""The first hours of a detention: the playbook every ``detention`` alert carries (issue 14).

Its steps are ``[detention] steps`` (the defaults below, shown in each reader's language; steps
an organisation writes are shown as written). They are numbered after the emergency plan's own
actions, so one number names one thing to do on the alert: with a plan of 3 actions, the
playbook's steps are 4, 5, 6… and ``/done ALERT 4`` ticks the first of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.settings import CoreSettings

DETENTION = "detention"
DEFAULT_STEPS = (
    N_("Find out where they are held and by whom."),
    N_("Get a lawyer to them."),
    N_("Alert the embassy or the EU mission."),
    N_("Tell their family."),
    N_("Prepare an urgent appeal."),
    N_("Lock their accounts and devices."),
)


@dataclass(frozen=True)
class Playbook:
    """What a detention alert adds for one reader: who reported it (None: the defender themself)
    and the first number of its steps (after the plan's actions)."""

    reporter: str | None
    first: int
    steps: tuple[str, ...]
    plan_hidden: bool = False  # the reader does not see the plan's actions here


def steps_of(config: CoreSettings) -> tuple[str, ...]:
    steps = config.detention.steps
    return tuple(steps) if steps else DEFAULT_STEPS


def step_texts(_: Translate, steps: tuple[str, ...]) -> list[str]:
    """The steps in the reader's language (an organisation's own steps as written)."""
    return [_(step) for step in steps]


def playbook_lines(_: Translate, playbook: Playbook, alias: str, alert_id: int | None) -> list[str]:
    """The lines a detention alert shows after the plan: the steps, numbered for ``/done``."""
    lines = [_("⏱ The first hours of a detention decide a lot. Do these now — tick each one done with "
               "/done {id} N:").format(id=alert_id)]
    if playbook.plan_hidden and playbook.first > 1:
        lines.append(_("(Numbers 1 to {last} are the actions of {alias}'s emergency plan.)").format(
            last=playbook.first - 1, alias=alias))
    lines += [f"{n}. {text}" for n, text in enumerate(step_texts(_, playbook.steps), playbook.first)]
    return lines

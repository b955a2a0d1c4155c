"""Assembling the core with its features; shared by the command line and the tests."""

from __future__ import annotations

from sqlalchemy.engine import Engine

import c2p_bot.core.commands  # noqa: F401  (registers every chat command)
from c2p_bot.core.alarm import AlarmClock
from c2p_bot.core.checkin_express import ExpressCheckins
from c2p_bot.core.checkins import ensure_clock
from c2p_bot.core.clock import Clock
from c2p_bot.core.commands.checkin import checkin_command
from c2p_bot.core.commands.coordinator import announce_new_coordinator
from c2p_bot.core.commands.general import tell_notes_over_telegram
from c2p_bot.core.context import Context
from c2p_bot.core.forgetting import forget_traces, scrub_sent
from c2p_bot.core.handover import handover_refused
from c2p_bot.core.housekeeping import Housekeeping
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.matching_flow import install_matching
from c2p_bot.core.notes import issue_keys
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.partnerships import install_partnerships
from c2p_bot.core.plan_flow import plan_reviews
from c2p_bot.core.plans import drop_stale_copies, plan_states, seal_for_reader
from c2p_bot.core.proof_flow import install_proofs
from c2p_bot.core.runtime import Runtime
from c2p_bot.core.service import Core
from c2p_bot.core.session_watch import install_sessions
from c2p_bot.core.settings import CoreSettings
from c2p_bot.core.sweeper import Sweeper
from storage.checkpoint import WalCheckpointer
from storage.models import Person


def build_runtime(config: CoreSettings, engine: Engine, clock: Clock, keyring: Keyring) -> Runtime:
    """The core with every feature wired in, and a runtime without transports yet."""
    core = Core(engine, config, clock, Outbox(keyring), keyring)
    core.express = ExpressCheckins(core, {checkin_command})  # /checkin in a dozen statements, grouped

    def give_keys(ctx: Context, person: Person) -> None:
        issue_keys(keyring, person)
        ctx.session.add(person)

    def start_clock(ctx: Context, person: Person) -> None:
        if person.role == "hrd":
            ensure_clock(ctx.session, person, config, ctx.now)

    def plans_readable(ctx: Context, person: Person) -> None:
        seal_for_reader(ctx.session, keyring, person)  # a new coordinator: every emergency plan

    def plans_dropped(ctx: Context, person: Person) -> None:
        drop_stale_copies(ctx.session, person)  # a partner unmatched: not their ex-HRDs' plans

    core.registration_hooks.append(give_keys)
    core.activation_hooks.append(start_clock)
    core.activation_hooks.append(announce_new_coordinator)
    # Emergency plans: a new coordinator can read every plan, an ex-partner none of theirs.
    core.activation_hooks.append(plans_readable)
    core.capacity_hooks.append(plans_dropped)
    core.unreachable_hooks.append(core.escalation.on_unreachable)
    core.profile_hooks.append(tell_notes_over_telegram)
    core.forget_hooks.append(forget_traces)
    runtime = Runtime(core)
    sweeper = Sweeper(core, core.escalation)
    core.services["sweeper"] = sweeper
    install_matching(core, sweeper)
    install_partnerships(core, sweeper)  # terms, renewals, contact nudges (issue 16)
    install_sessions(core, sweeper)  # risky-event sessions past their deadline (issue 14)
    core.services["handover_refused"] = handover_refused
    housekeeping = Housekeeping(core)
    sweeper.extra_jobs += [housekeeping.retention, housekeeping.delete_old_messages, scrub_sent(core)]
    sweeper.extra_jobs.append(plan_reviews(core))
    install_proofs(core, sweeper)  # proof-of-life questions not answered in time
    core.services["plan_status"] = plan_states(config.plans.review_every)  # /overview's plan column

    async def sweep() -> None:
        await runtime.on_clock(sweeper.sweep)

    runtime.jobs.append(sweep)
    alarm = AlarmClock(runtime, sweeper, config.checkins.sweep_interval)
    runtime.on_start.append(alarm.start)
    runtime.on_stop.append(alarm.stop)
    runtime.after_message.append(alarm.after_message)  # re-reads, or arms for an express check-in's deadline
    checkpointer = WalCheckpointer(engine)  # SQLite only: keeps WAL checkpoints out of commits
    runtime.on_start.append(checkpointer.start)
    runtime.on_stop.append(checkpointer.stop)
    return runtime

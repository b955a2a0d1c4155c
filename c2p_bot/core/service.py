"""The core: resolve the sender, check permission, run the command in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from c2p_bot.core import guidance, onboarding
from c2p_bot.core.alerts import Escalation
from c2p_bot.core.clock import Clock
from c2p_bot.core.contention import WriterGate
from c2p_bot.core.context import ActivationHook, Context
from c2p_bot.core.conversations import FLOWS
from c2p_bot.core.events import Incoming, Priority
from c2p_bot.core.failover import UnreachableHook
from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.integrity import refused
from c2p_bot.core.invites import redeem_invite
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.parsing import ParsedCommand, clean_text, parse_command
from c2p_bot.core.registry import CommandRegistry, registry
from c2p_bot.core.roles import Role
from c2p_bot.core.settings import CoreSettings
from storage.models import Conversation, Identity, Person, SeenEvent

log = logging.getLogger(__name__)

STRANGER_REPLY = N_(
    "This is a private service. If you were given an invite code, send /start CODE."
)
UNKNOWN_COMMAND = N_("Sorry, I don't know that command. Send /help to see what you can do.")
NOT_UNDERSTOOD = N_("I didn't understand that. Send /help to see what you can do.")
GROUP_NOTICE = N_("I only work in private chats. Please write to me directly.")
TOO_FAST = N_("You are sending messages faster than I can read them, so I am ignoring some. "
               "Please wait a minute. If you are in danger, send /panic once.")
INTERNAL_ERROR = N_("Sorry, something went wrong and nothing was changed. Please try again.")

class ExpressPath(Protocol):
    """A faster way for some messages (c2p_bot.core.checkin_express): :meth:`run` handles and
    commits those at the head of ``incomings`` and returns, for each, the earliest deadline it set
    (the only change the sweeper watches; None: re-read them); empty: the general path takes the
    first one."""

    def run(self, incomings: Sequence[Incoming], now: Callable[[], datetime]) -> list[datetime | None]: ...


def _close(work: Coroutine[Any, Any, Any]) -> None:
    """No event loop to run it on (a core without a runtime): drop the coroutine quietly."""
    work.close()


class Core:
    """Transport-neutral bot logic; transports call :meth:`handle` with each incoming message."""

    def __init__(
        self,
        engine: Engine,
        config: CoreSettings,
        clock: Clock,
        outbox: Outbox,
        keyring: Keyring,
        commands: CommandRegistry = registry,
    ) -> None:
        self.keyring = keyring
        self.engine = engine
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.commands = commands
        self.bot_names: set[str] = set()
        self.invite_links: dict[str, Callable[[str], str]] = {}
        self.registration_hooks: list[ActivationHook] = []
        self.activation_hooks: list[ActivationHook] = []
        self.role_change_hooks: list[Callable[[int], None]] = []
        self.profile_hooks: list[ActivationHook] = []
        self.forget_hooks: list[ActivationHook] = []
        self.unreachable_hooks: list[UnreachableHook] = []
        self.capacity_hooks: list[ActivationHook] = []
        self.people_hooks: list[Callable[[Context, Person], str]] = []
        self.services: dict[str, object] = {}
        # Starts a coroutine on the event loop from any thread (the runtime sets it).
        self.spawn: Callable[[Coroutine[Any, Any, Any]], None] = _close
        # The express path of plain check-ins (c2p_bot.core.checkin_express), set by the app.
        self.express: ExpressPath | None = None
        # Other threads' database work (sweeps, dispatchers): runs of express check-ins make way for it.
        self.gate = WriterGate()
        self.escalation = Escalation(self)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def commit(self, session: Session) -> None:
        """Commit and wake the dispatchers of every platform that got new outbox rows."""
        platforms = set(session.info.pop("wake_platforms", set()))
        session.commit()
        for platform in platforms:
            self.outbox.wake(platform)

    # -- entry point -------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> None:
        """Handle one message exactly once (de-duplicated by ``event_id``)."""
        self.handle_many([incoming])

    def handle_many(self, incomings: Sequence[Incoming]) -> list[datetime | None]:
        """Handle messages in order, each exactly once: the express path takes runs of plain
        check-ins (a run in one transaction), the general path each other one in its own.

        Returns, for each message, the earliest deadline it set when that is all it changed that
        the sweeper watches (an express check-in), else None (anything may have changed)."""
        moments: list[datetime | None] = []
        while len(moments) < len(incomings):
            done = self.express.run(incomings[len(moments):], self.clock.now) if self.express is not None else []
            if done:
                moments += done
                continue
            self._handle(incomings[len(moments)])
            moments.append(None)
        return moments

    def _handle(self, incoming: Incoming) -> None:
        """The general path: resolve the sender, route, one transaction."""
        now = self.clock.now()
        try:
            with self.session() as session:
                if not self._first_time(session, incoming, now):
                    return
                ctx = self._context(session, incoming, now)
                self._route(ctx, clean_text(incoming.text))
                self.commit(session)
        except IntegrityError:
            # Another worker handled the same event concurrently, or a unique rule was hit.
            log.warning("message from %s not applied: conflicting write", incoming.platform)
            self._apologise(incoming, now)
        except Exception:
            log.exception("error while handling a message on %s", incoming.platform)
            self._apologise(incoming, now)

    def _first_time(self, session: Session, incoming: Incoming, now: datetime) -> bool:
        if not incoming.event_id:
            return True
        seen = session.exec(
            select(SeenEvent.id).where(
                SeenEvent.platform == incoming.platform, SeenEvent.event_key == incoming.event_id
            )
        ).first()
        if seen is not None:
            return False
        session.add(SeenEvent(platform=incoming.platform, event_key=incoming.event_id, seen_at=now))
        return True

    def _context(self, session: Session, incoming: Incoming, now: datetime) -> Context:
        identity = session.exec(
            select(Identity).where(
                Identity.platform == incoming.platform,
                Identity.platform_user_id == incoming.sender_id,
            )
        ).first()
        person = session.get(Person, identity.person_id) if identity else None
        if identity is not None and incoming.is_private:
            identity.last_seen_at = now
            identity.unreachable_at = None
            identity.chat_id = incoming.chat_id
            session.add(identity)
        return Context(self, session, incoming, now, identity, person)

    def too_fast(self, incoming: Incoming) -> None:
        """Tell a flooding sender, once per episode, that messages are being ignored."""
        now = self.clock.now()
        with self.session() as session:
            ctx = self._context(session, incoming, now)
            if ctx.person is None:
                return  # strangers are not told anything new
            ctx.reply(ctx._(TOO_FAST), priority=Priority.REPLY)
            self.commit(session)

    def _apologise(self, incoming: Incoming, now: datetime) -> None:
        try:
            with self.session() as session:
                ctx = self._context(session, incoming, now)
                text = INTERNAL_ERROR if ctx.person else STRANGER_REPLY
                ctx.reply(ctx._(text))
                self.commit(session)
        except Exception:
            log.exception("could not send the error reply")

    # -- routing -----------------------------------------------------------------------

    def _route(self, ctx: Context, text: str) -> None:
        if not ctx.incoming.is_private:
            self._group_notice(ctx)
            return
        command = parse_command(text)
        if command is not None and command.addressed_to and not self._addressed_to_me(command):
            command = ParsedCommand("", "", None)  # /cmd@otherbot: not ours
        if ctx.person is None or refused(ctx.person):  # a row changed behind our back: a stranger
            self._stranger(ctx, command)
            return
        if ctx.person.status == "onboarding":
            onboarding.handle(ctx, command, text)
            return
        conversation = ctx.session.get(Conversation, ctx.person_id)
        if command is None:
            if conversation is not None and conversation.flow in FLOWS:
                FLOWS[conversation.flow].answer(ctx, conversation, text)
            elif not guidance.suggest(ctx, text, None):  # "ok", "/check-in": did you mean /checkin?
                guidance.forget_pin_like(ctx, text)
                ctx.reply(ctx._(NOT_UNDERSTOOD))
            return
        spec = self.commands.lookup(command.name) if command.name else None
        role = Role(ctx.person.role)
        if spec is None and command.name == "start":  # a chat reopened, an old invite link
            guidance.welcome_back(ctx)
            return
        if spec is None or role not in spec.roles:
            if spec is not None:
                ctx.audit("command_refused", f"person:{ctx.person_id}", f"/{spec.name}")
            elif guidance.suggest(ctx, text, command):  # /chekin, /stauts
                return
            guidance.forget_pin_like(ctx, text)
            ctx.reply(ctx._(UNKNOWN_COMMAND))
            return
        if conversation is not None:
            ctx.session.delete(conversation)  # a new command abandons a guided conversation
            ctx.session.flush()
        spec.handler(ctx, command.args)

    def _addressed_to_me(self, command: ParsedCommand) -> bool:
        names = {name.lower() for name in self.bot_names}
        return not names or (command.addressed_to or "").lower() in names

    def _group_notice(self, ctx: Context) -> None:
        key = f"group-notice:{ctx.incoming.chat_id}"
        done = ctx.session.exec(
            select(SeenEvent.id).where(
                SeenEvent.platform == ctx.incoming.platform, SeenEvent.event_key == key
            )
        ).first()
        if done is None:
            ctx.session.add(SeenEvent(platform=ctx.incoming.platform, event_key=key, seen_at=ctx.now))
            ctx.reply(ctx._(GROUP_NOTICE))

    def _stranger(self, ctx: Context, command: ParsedCommand | None) -> None:
        if command is not None and command.name == "start" and command.args:
            invite = redeem_invite(ctx.session, command.args.split()[0], ctx.now)
            if invite is not None:
                onboarding.register(ctx, invite)
                return
        ctx.reply(gettext_for(None)(STRANGER_REPLY))

    # -- for transports ------------------------------------------------------------------

    def identity_moved(self, platform: str, platform_user_id: str, chat_id: str) -> None:
        """A transport opened a new private chat with a user (e.g. a Matrix DM): use it from now on."""
        with self.session() as session:
            identity = session.exec(
                select(Identity).where(
                    Identity.platform == platform, Identity.platform_user_id == platform_user_id
                )
            ).first()
            if identity is not None and identity.chat_id != chat_id:
                identity.chat_id = chat_id
                session.add(identity)
                session.commit()

    def is_known(self, platform: str, platform_user_id: str) -> bool:
        """Whether a platform user is registered (for transports deciding whether to keep a room)."""
        with self.session() as session:
            return session.exec(
                select(Identity.id).where(
                    Identity.platform == platform, Identity.platform_user_id == platform_user_id
                )
            ).first() is not None

    def person_role(self, platform: str, platform_user_id: str) -> tuple[int, str, str] | None:
        """(person id, role, UI language) of a platform user, for command menus."""
        with self.session() as session:
            row = session.exec(
                select(Person.id, Person.role, Person.ui_language, Person.status)
                .join(Identity, Identity.person_id == Person.id)  # type: ignore[arg-type]
                .where(Identity.platform == platform, Identity.platform_user_id == platform_user_id)
            ).first()
            if row is None or row[3] != "active":
                return None
            return int(row[0] or 0), str(row[1]), str(row[2])

    def identities_of(self, person_id: int) -> list[tuple[str, str, str]]:
        """(platform, platform user id, chat id) of a person's identities."""
        with self.session() as session:
            rows = session.exec(
                select(Identity.platform, Identity.platform_user_id, Identity.chat_id).where(
                    Identity.person_id == person_id)
            ).all()
            return [(str(a), str(b), str(c)) for a, b, c in rows]

    # -- hooks -------------------------------------------------------------------------

    def person_activated(self, ctx: Context, person: Person) -> None:
        for hook in self.activation_hooks:
            hook(ctx, person)

"""What a command handler gets: the sender, a transaction, and ways to reply, notify and audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from c2p_bot.core.alerts import Escalation
from c2p_bot.core.audit import audit
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import DELETE_MESSAGE, Incoming, Priority
from c2p_bot.core.i18n import Translate, gettext_for
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.outbox import Buttons, Outbox, new_key
from c2p_bot.core.registry import CommandRegistry
from c2p_bot.core.roles import Role
from c2p_bot.core.settings import CoreSettings
from storage.models import Identity, OutboxMessage, Person

ActivationHook = Callable[["Context", Person], None]


class CoreServices(Protocol):
    """What a command handler may use of the core (:class:`c2p_bot.core.service.Core`, which sits
    above this module: it builds each :class:`Context`)."""

    @property
    def config(self) -> CoreSettings: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def escalation(self) -> Escalation: ...

    @property
    def commands(self) -> CommandRegistry: ...

    @property
    def invite_links(self) -> dict[str, Callable[[str], str]]: ...

    @property
    def services(self) -> dict[str, object]: ...

    @property
    def registration_hooks(self) -> list[ActivationHook]: ...

    @property
    def role_change_hooks(self) -> list[Callable[[int], None]]: ...

    @property
    def profile_hooks(self) -> list[ActivationHook]: ...

    @property
    def forget_hooks(self) -> list[ActivationHook]: ...

    @property
    def capacity_hooks(self) -> list[ActivationHook]: ...

    @property
    def people_hooks(self) -> list[Callable[[Context, Person], str]]: ...

    def person_activated(self, ctx: Context, person: Person) -> None: ...


class Context:
    """One incoming message being handled inside one database transaction."""

    def __init__(
        self,
        core: CoreServices,
        session: Session,
        incoming: Incoming,
        now: datetime,
        identity: Identity | None = None,
        person: Person | None = None,
    ) -> None:
        self.core = core
        self.config = core.config
        self.session = session
        self.incoming = incoming
        self.now = now
        self.identity = identity
        self.person = person
        self._replies = 0
        self._: Translate = gettext_for(person.ui_language if person else None)

    @property
    def role(self) -> Role | None:
        return Role(self.person.role) if self.person else None

    @property
    def person_id(self) -> int:
        if self.person is None or self.person.id is None:
            raise InvariantError("a command reached its handler without a registered sender")
        return self.person.id

    def set_language(self, language: str) -> None:
        self._ = gettext_for(language)

    def _reply_key(self) -> str:
        self._replies += 1
        if self.incoming.event_id:
            return f"in:{self.incoming.platform}:{self.incoming.event_id}:{self._replies}"
        return new_key("reply")

    def reply(
        self,
        text: str,
        buttons: Buttons = (),
        *,
        priority: int = Priority.REPLY,
        sensitive: bool = False,
        kind: str = "reply",
    ) -> OutboxMessage | None:
        """Answer in the chat the message came from."""
        return self.core.outbox.to_chat(
            self.session,
            platform=self.incoming.platform,
            chat_id=self.incoming.chat_id,
            text=text,
            buttons=buttons,
            now=self.now,
            key=self._reply_key(),
            priority=priority,
            kind=kind,
            person_id=self.person.id if self.person else None,
            identity_id=self.identity.id if self.identity else None,
            sensitive=sensitive,
        )

    def delete_incoming(self) -> None:
        """Ask the transport to delete the message being handled (e.g. it held a PIN)."""
        if not self.incoming.message_id:
            return
        self.core.outbox.to_chat(
            self.session,
            platform=self.incoming.platform,
            chat_id=self.incoming.chat_id,
            text=self.incoming.message_id,
            now=self.now,
            key=f"delete:{self.incoming.platform}:{self.incoming.chat_id}:{self.incoming.message_id}",
            priority=Priority.REPLY,
            kind=DELETE_MESSAGE,
        )

    def tell(
        self,
        person: Person,
        render: Callable[[Translate], str],
        *,
        key: str | None = None,
        buttons: Callable[[Translate], Buttons] | None = None,
        priority: int = Priority.NOTICE,
        kind: str = "notice",
        alert_id: int | None = None,
        sensitive: bool = False,
    ) -> OutboxMessage | None:
        """Send a message to another person, in their language, on their best identity."""
        return self.core.outbox.to_person(
            self.session,
            person,
            render,
            now=self.now,
            key=key or new_key("notice"),
            buttons=buttons,
            priority=priority,
            kind=kind,
            alert_id=alert_id,
            sensitive=sensitive,
        )

    def audit(self, action: str, subject: str | None = None, detail: str | None = None) -> None:
        audit(
            self.session,
            self.now,
            action,
            actor_id=self.person.id if self.person else None,
            subject=subject,
            detail=detail,
        )

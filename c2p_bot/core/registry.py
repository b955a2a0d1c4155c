"""The command registry: each command declares its roles, arguments and help beside its handler."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from c2p_bot.core.roles import Role

if TYPE_CHECKING:
    from c2p_bot.core.context import Context

Handler = Callable[["Context", str], None]


@dataclass(frozen=True)
class Command:
    """A chat command. ``help`` and ``usage`` are catalog msgids (marked with ``N_``)."""

    name: str
    roles: frozenset[Role]
    usage: str
    help: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    menu: bool = True  # shown in platform command menus
    during_onboarding: bool = False


class CommandRegistry:
    """Commands by name and alias."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._names: dict[str, Command] = {}

    def command(
        self,
        name: str,
        *,
        roles: Iterable[Role],
        usage: str = "",
        help: str,
        aliases: tuple[str, ...] = (),
        menu: bool = True,
        during_onboarding: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Decorator registering ``handler`` as ``/name``."""

        def register(handler: Handler) -> Handler:
            spec = Command(
                name, frozenset(roles), usage, help, handler, aliases, menu, during_onboarding
            )
            for key in (name, *aliases):
                if key in self._names:
                    raise ValueError(f"command /{key} registered twice")
                self._names[key] = spec
            self._commands[name] = spec
            return handler

        return register

    def lookup(self, name: str) -> Command | None:
        return self._names.get(name.lower())

    def for_role(self, role: Role) -> list[Command]:
        """Commands a role may use, in registration order."""
        return [c for c in self._commands.values() if role in c.roles]

    def all(self) -> list[Command]:
        return list(self._commands.values())


registry = CommandRegistry()

"""The command registry: each command declares its roles, arguments and help beside its handler."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from c2p_bot.core.roles import Role

# A handler takes the command's context (c2p_bot.core.context.Context, which sits above this
# module) and the text after the command's name.
Handler = Callable[[Any, str], None]
H = TypeVar("H", bound=Handler)


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
    ) -> Callable[[H], H]:
        """Decorator registering ``handler`` as ``/name``."""

        def register(handler: H) -> H:
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

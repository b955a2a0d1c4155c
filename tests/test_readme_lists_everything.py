"""README lists every CLI command and every chat command; every sub-command explains itself."""

from __future__ import annotations

import argparse
from pathlib import Path

import c2p_bot.core.commands  # noqa: F401 - registers the chat commands
from c2p_bot.cli import _parser
from c2p_bot.core.registry import registry

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_help_starts_with_a_description() -> None:
    for name, parser in _subcommands().items():
        assert parser.description and parser.description.endswith("."), f"c2p-bot {name} --help has no description"
        assert parser.description in " ".join(parser.format_help().split())


def test_readme_lists_every_cli_command() -> None:
    missing = [name for name in _subcommands() if f"c2p-bot {name}" not in README]
    assert not missing, f"README does not list: {missing}"


def test_readme_lists_every_chat_command() -> None:
    missing = [f"/{spec.name}" for spec in registry.all() if f"`/{spec.name}" not in README]
    assert not missing, f"README does not list: {missing}"

"""The ``c2p-bot`` command: the composition root wiring config, storage, core and transports."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlmodel import Session, select

from c2p_bot import __version__
from c2p_bot.config import Config, ConfigError, load_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import KekError
from c2p_bot.core.invites import create_invite
from c2p_bot.core.keyring import open_keyring
from c2p_bot.core.roles import PARTNER_KINDS, Role
from storage.engine import StorageError, make_engine
from storage.migrate import upgrade
from storage.models import Person

log = logging.getLogger("c2p_bot")


class CliError(Exception):
    """An error shown as one line, with a non-zero exit."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="c2p-bot", description="Connect2Protect check-in bot")
    parser.add_argument("--version", action="version", version=f"c2p-bot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="FILE", help="TOML config file (default: none)")
        return p

    with_config(sub.add_parser("run", help="run every transport enabled in the config"))
    with_config(sub.add_parser("migrate", help="bring the database schema up to date"))
    invite = with_config(sub.add_parser("invite", help="print a one-time invite code"))
    invite.add_argument("--role", required=True, choices=[r.value for r in Role])
    invite.add_argument("--kind", choices=PARTNER_KINDS, help="partner kind (partners only)")
    return parser


def _open_database(config: Config):  # type: ignore[no-untyped-def]
    try:
        engine = make_engine(config.database.url)
        upgrade(engine)
    except StorageError as error:
        raise CliError(str(error)) from None
    return engine


def cmd_migrate(config: Config) -> int:
    _open_database(config)
    print("database is up to date")
    return 0


def cmd_invite(config: Config, role: str, kind: str | None) -> int:
    if kind and role != Role.PARTNER.value:
        raise CliError("--kind is only for --role partner")
    engine = _open_database(config)
    now = SystemClock().now()
    with Session(engine) as session:
        code = create_invite(
            session, role=Role(role), kind=kind, now=now, ttl=config.invites.ttl, issued_by=None
        )
        session.commit()
    expires = (now + config.invites.ttl).strftime("%Y-%m-%d %H:%M UTC")
    print(f"One-time invite for a {role}{' (' + kind + ')' if kind else ''}, valid until {expires}.")
    print("Send it to the bot as: /start CODE")
    print(code)
    return 0


def cmd_run(config: Config) -> int:
    engine = _open_database(config)
    from c2p_bot.app import build_runtime

    try:
        keyring = open_keyring(config, engine, SystemClock().now())
    except KekError as error:
        raise CliError(str(error)) from None
    runtime = build_runtime(config, engine, SystemClock(), keyring)
    if config.telegram.enabled or config.matrix.enabled:
        raise CliError("the Telegram and Matrix transports are not available in this build yet")
    return asyncio.run(_run_console(runtime, config))


async def _run_console(runtime, config: Config) -> int:  # type: ignore[no-untyped-def]
    from c2p_bot.transports.console import ConsoleTransport, run_console

    transport = ConsoleTransport()
    runtime.add_transport(transport)
    with Session(runtime.core.engine) as session:
        empty = session.exec(select(Person.id)).first() is None
        if empty:
            code = create_invite(session, role=Role.COORDINATOR, kind=None,
                                 now=runtime.core.clock.now(), ttl=config.invites.ttl, issued_by=None)
            session.commit()
            print("No one is registered yet. Become the first coordinator by typing:")
            print(f"  /start {code}")
    await runtime.start()
    try:
        await run_console(runtime, transport)
    finally:
        await runtime.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        config = load_config(getattr(args, "config", None))
        logging.basicConfig(
            level=config.logging.level if args.command != "run" else "WARNING",
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        if args.command == "migrate":
            return cmd_migrate(config)
        if args.command == "invite":
            return cmd_invite(config, args.role, args.kind)
        return cmd_run(config)
    except (ConfigError, CliError) as error:
        print(f"c2p-bot: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

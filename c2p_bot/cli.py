"""The ``c2p-bot`` command: the composition root wiring config, storage, core and transports."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from c2p_bot import __version__
from c2p_bot.config import Config, ConfigError, load_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import KekError, kek_from_passphrase, load_or_create_key_file
from c2p_bot.core.integrity import seal_existing
from c2p_bot.core.invites import create_invite
from c2p_bot.core.keyring import Keyring, default_key_file, open_keyring
from c2p_bot.core.pins_flow import seal_legacy_pins
from c2p_bot.core.roles import PARTNER_KINDS, Role
from c2p_bot.core.runtime import Runtime
from c2p_bot.ops import OpsError, keys
from c2p_bot.rotation import BotLease, BotRunning, refuse_if_running, rotate
from storage.engine import StorageError, make_engine
from storage.migrate import upgrade
from storage.models import Person

log = logging.getLogger("c2p_bot")


CATCH_UP_WAIT = 20.0  # seconds; an unreachable platform must not hold back escalations for long


class CliError(Exception):
    """An error shown as one line, with a non-zero exit."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="c2p-bot", description="Connect2Protect check-in bot")
    parser.add_argument("--version", action="version", version=f"c2p-bot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="FILE", help="TOML config file (default: none)")
        return p

    def command(name: str, summary: str, more: str = "") -> argparse.ArgumentParser:
        """A sub-command whose ``--help`` starts with its one-line description."""
        description = f"{summary[0].upper()}{summary[1:]}." + (f" {more}" if more else "")
        return sub.add_parser(name, help=summary, description=description)

    run = with_config(command("run", "run every transport enabled in the config",
                              "With no config: the console transport on a local SQLite database."))
    ask = "type the key-encryption passphrase (terminal, or systemd-ask-password) instead of C2P_PASSPHRASE"
    run.add_argument("--ask-passphrase", action="store_true", help=ask)
    with_config(command("migrate", "bring the database schema up to date"))
    invite = with_config(command("invite", "print a one-time invite code",
                                 "The person sends /start CODE to the bot to join."))
    invite.add_argument("--role", required=True, choices=[r.value for r in Role], help="who the invite is for")
    invite.add_argument("--kind", choices=PARTNER_KINDS,
                        help="partner kind (partners only; without it the partner chooses when joining)")
    rotate = with_config(command(
        "rotate-key", "re-wrap every secret under a new key-encryption key",
        "New key: a new key file (replacing the configured one, or --new-key-file), "
        "or a passphrase given in C2P_NEW_PASSPHRASE."))
    rotate.add_argument("--new-key-file", metavar="FILE", help="where to write the new key file")
    keygen = command("keygen", "make your own key pair (for /key); prints the public key last")
    keygen.add_argument("--out", metavar="FILE", default="c2p-private.key",
                        help="private key file to create (mode 0600; default: %(default)s)")
    decrypt = command("decrypt", "open a sealed message sent to your own key")
    decrypt.add_argument("--key", metavar="FILE", required=True, help="your private key file (from keygen)")
    decrypt.add_argument("input", nargs="?", metavar="FILE", help="text with the sealed message (default: stdin)")
    check = with_config(command("check", "check the config, the database, the key and the chat accounts",
                                "One line per check; exits 0 only when every check passes."))
    check.add_argument("--ask-passphrase", action="store_true", help=ask)
    backup = with_config(command("backup", "write an encrypted snapshot of the database",
                                 "Sealed to [backup] public_key; it never holds the key-encryption key."))
    backup.add_argument("--out", metavar="FILE", required=True, help="the backup file to create")
    restore = with_config(command("restore", "restore a backup into an empty database"))
    restore.add_argument("input", metavar="FILE", help="the backup file")
    restore.add_argument("--key", metavar="FILE", required=True, help="the backup private key (from keygen)")
    from c2p_bot.reports.cli import add_commands  # report, export-case

    add_commands(command, with_config)
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
    if role == Role.PARTNER.value and not kind:
        print("They choose whether they are an mp, lawyer or journalist when they join.")
    print("Send it to the bot as: /start CODE")
    print(code)
    return 0


def cmd_rotate_key(config: Config, new_key_file: str | None) -> int:
    engine = _open_database(config)
    now = SystemClock().now()
    try:
        refuse_if_running(engine, now)
    except BotRunning as error:
        raise CliError(str(error)) from None
    try:
        keyring = open_keyring(config, engine, now)
        new_passphrase = os.environ.get("C2P_NEW_PASSPHRASE")
        target: Path | None = None
        if new_passphrase:
            new_kek, params = kek_from_passphrase(new_passphrase)
        else:
            params = None
            target = Path(new_key_file or config.crypto.key_file or default_key_file(config.database.url))
            staging = target.with_name(target.name + ".new")
            if staging.exists():
                raise CliError(f"{staging} exists from an interrupted rotation; move it away first")
            new_kek = load_or_create_key_file(staging, create=True)
    except KekError as error:
        raise CliError(str(error)) from None
    counts = rotate(engine, keyring.kek, new_kek, now, params)
    if target is not None:
        os.replace(target.with_name(target.name + ".new"), target)
        where = f"the new key file {target}"
    else:
        where = "the new passphrase (set C2P_PASSPHRASE to it from now on)"
    print(f"Re-wrapped {counts['keys']} private keys, {counts['pins']} PIN hashes, {counts['secrets']} "
          f"secrets and {counts['queued']} queued messages under {where}.")
    return 0


def cmd_run(config: Config, ask_passphrase: bool = False) -> int:
    engine = _open_database(config)
    from c2p_bot.app import build_runtime
    from c2p_bot.ops.passphrase import open_keyring_asking

    try:
        keyring = (open_keyring_asking(config, engine, SystemClock().now()) if ask_passphrase
                   else open_keyring(config, engine, SystemClock().now()))
    except KekError as error:
        raise CliError(str(error)) from None
    seal_existing(engine, SystemClock().now())  # rows from before row MACs: trusted once, then sealed
    seal_legacy_pins(engine, keyring.kek)  # one sealed value for both PIN verifiers
    # The lease keeps `rotate-key` away while we run; a key rotated anyway stops us (SIGTERM).
    lease = BotLease(engine, keyring, lambda reason: os.kill(os.getpid(), signal.SIGTERM))
    lease.start()
    try:
        runtime = build_runtime(config, engine, SystemClock(), keyring)
        if config.telegram.enabled or config.matrix.enabled:
            code = asyncio.run(_run_networks(runtime, config, keyring))
        else:
            code = asyncio.run(_run_console(runtime, config))
    finally:
        lease.stop()
    if keyring.retired:
        raise CliError(keyring.retired)
    return code


async def _run_networks(runtime: Runtime, config: Config, keyring: Keyring) -> int:
    """Run the configured chat networks until SIGTERM or SIGINT.

    The clock and every sender start at once; each transport starts, fails and recovers on its
    own in the background, so one unreachable platform never stops the others or the alarm.
    The missed deadlines of HRDs reachable on a platform that is still handing over the messages
    that queued while the bot was down wait for it (at most ``CATCH_UP_WAIT``); everyone else's
    go on at once.
    """
    transports: list[Any] = []
    if config.telegram.enabled:
        from c2p_bot.transports.telegram import attach_telegram

        transports.append(attach_telegram(runtime, config.telegram))
    if config.matrix.enabled:
        from c2p_bot.transports.matrix import attach_matrix

        transports.append(attach_matrix(runtime, config.matrix, keyring))
    if config.email.enabled:  # sends only: alert emails and confirmation codes
        from c2p_bot.transports.email import attach_email

        transports.append(attach_email(runtime, config.email))
    _print_first_invite(runtime, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    started: dict[str, bool] = {t.platform: False for t in transports}
    began = time.monotonic()

    def catching_up() -> frozenset[str]:
        if time.monotonic() - began > CATCH_UP_WAIT:
            return frozenset()
        return frozenset(t.platform for t in transports if _catching_up(t, started[t.platform]))

    sweeper = runtime.core.services.get("sweeper")
    if sweeper is not None:
        sweeper.catching_up = catching_up  # type: ignore[attr-defined]

    async def bring_up(transport: Any) -> None:
        try:
            await transport.start()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # one clear line; the other transports and the clock go on
            log.error("%s: could not start (%s); the other transports keep running",
                      transport.platform, _one_line(error))
            log.debug("%s: start failure", transport.platform, exc_info=True)
        finally:
            started[transport.platform] = True

    await runtime.start()
    from c2p_bot.ops.watchman import Watchman

    watchman = Watchman(runtime, config.monitoring)  # READY=1, heartbeats, watchdog, metrics
    watchman.start()
    starting = [asyncio.create_task(bring_up(t), name=f"start-{t.platform}") for t in transports]
    log.warning("c2p-bot is running (%s); stop with Ctrl-C", ", ".join(t.platform for t in transports))
    try:
        await stop.wait()
    finally:
        log.warning("c2p-bot is stopping")
        watchman.stop()  # STOPPING=1 first; no heartbeat from a bot that is going away
        for task in starting:
            task.cancel()
        await _bounded(runtime.stop(), "the clock and senders")
        for transport in reversed(transports):
            await _bounded(transport.stop(), transport.platform)
    return 0


def _catching_up(transport: Any, started: bool) -> bool:
    """Whether a transport may still hold messages that queued while the bot was down (not
    caught up yet, reachable or not: a check-in may be waiting there); one without a
    ``caught_up`` event is catching up until its start returns."""
    caught_up = getattr(transport, "caught_up", None)
    if caught_up is not None:
        return not caught_up.is_set()
    return not started


STOP_WAIT = 4.0  # seconds each part may take to stop: the whole bot stops within 10 s


async def _bounded(work: Coroutine[Any, Any, Any], what: str) -> None:
    """Await a shutdown step, giving up (with one line) after ``STOP_WAIT``."""
    try:
        await asyncio.wait_for(work, STOP_WAIT)
    except TimeoutError:
        log.warning("%s did not stop within %.0fs; leaving it", what, STOP_WAIT)
    except Exception as error:
        log.warning("%s failed while stopping (%s)", what, _one_line(error))


def _one_line(error: BaseException) -> str:
    """An exception as a short line without secrets: its type, and its text only for our own
    errors (a library's text can hold a URL with the bot token)."""
    name = type(error).__name__
    if type(error).__module__.startswith("c2p_bot"):
        return f"{name}: {str(error).splitlines()[0][:200]}" if str(error) else name
    return name


def _print_first_invite(runtime: Runtime, config: Config) -> None:
    """On an empty database, print a coordinator invite so someone can take charge."""
    with Session(runtime.core.engine) as session:
        if session.exec(select(Person.id)).first() is not None:
            return
        code = create_invite(session, role=Role.COORDINATOR, kind=None,
                             now=runtime.core.clock.now(), ttl=config.invites.ttl, issued_by=None)
        session.commit()
    print("No one is registered yet. Become the first coordinator by sending the bot:")
    print(f"  /start {code}", flush=True)


async def _run_console(runtime, config: Config) -> int:  # type: ignore[no-untyped-def]
    from c2p_bot.transports.console import ConsoleTransport, run_console

    transport = ConsoleTransport()
    runtime.add_transport(transport)
    email = None
    if config.email.enabled:
        from c2p_bot.transports.email import attach_email

        email = attach_email(runtime, config.email)
        await email.start()
    _print_first_invite(runtime, config)
    await runtime.start()
    try:
        await run_console(runtime, transport)
    finally:
        await runtime.stop()
        if email is not None:
            await email.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "keygen":
            return keys.keygen(args.out)
        if args.command == "decrypt":
            return keys.decrypt(args.key, args.input)
        if args.command == "check":
            from c2p_bot.ops.check import run_checks

            return run_checks(args.config, ask=args.ask_passphrase)
        config = load_config(getattr(args, "config", None))
        logging.basicConfig(
            level="WARNING" if args.command == "run" and not (config.telegram.enabled or config.matrix.enabled)
            else config.logging.level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        if args.command == "run":
            from c2p_bot.transports.redaction import install_library_log_redaction

            install_library_log_redaction()  # before any chat library logs a word
        if args.command in ("report", "export-case"):
            from c2p_bot.reports.cli import run_command

            return run_command(args, config)
        if args.command == "migrate":
            return cmd_migrate(config)
        if args.command == "invite":
            return cmd_invite(config, args.role, args.kind)
        if args.command == "rotate-key":
            return cmd_rotate_key(config, args.new_key_file)
        if args.command in ("backup", "restore"):
            from c2p_bot.ops import backup

            print(backup.write_backup(config, args.out) if args.command == "backup"
                  else backup.restore_backup(config, args.input, args.key))
            return 0
        return cmd_run(config, args.ask_passphrase)
    except (ConfigError, CliError, OpsError) as error:
        print(f"c2p-bot: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one clear line, never a traceback (it could hold secrets)
        log.debug("unexpected failure", exc_info=True)
        print(f"c2p-bot: error: stopped on an unexpected {_one_line(error)} "
              "(set [logging] level = \"DEBUG\" for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``c2p-bot report`` and ``c2p-bot export-case``: their arguments and what they do.

:func:`add_commands` is called by c2p_bot.cli's parser; :func:`run_command` runs one of them and
prints its own one-line error (exit 1), so the composition root only forwards to it.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from c2p_bot.config import Config
from c2p_bot.core.case_file import CaseNotFound, case_file
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import CryptoError, KekError, armour, decode_public_key, seal
from c2p_bot.core.keyring import open_keyring
from c2p_bot.core.notes import key_mark
from c2p_bot.core.report_data import build, metrics
from c2p_bot.durations import DurationError, parse_duration
from c2p_bot.reports.html import render
from storage.engine import StorageError, make_engine
from storage.migrate import upgrade

COMMANDS = ("report", "export-case")
LONGEST = timedelta(days=3650)
Command = Callable[..., argparse.ArgumentParser]


class ReportError(Exception):
    """One line for the operator."""


def add_commands(command: Command, with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    """Add ``report`` and ``export-case`` with c2p_bot.cli's ``command`` helper."""
    report = with_config(command(
        "report", "write the programme's figures over a period as HTML or CSV",
        "HTML is one page holding its charts (nothing to fetch); CSV has one row per metric. Aggregates only unless "
        "--names."))
    report.add_argument("--since", metavar="PERIOD", default="90d", help="how far back, e.g. 30d or 12w (default 90d)")
    report.add_argument("--format", choices=("html", "csv"), default="html", help="html (default) or csv")
    report.add_argument("--out", metavar="FILE", required=True, help="the file to write (mode 0600)")
    report.add_argument("--names", action="store_true", help="include per-partner and per-defender figures by alias")
    export = with_config(command(
        "export-case", "seal one alert's case to a partner organisation's public key",
        "The alert, its timeline, its logbook, partner actions and outcome; the organisation opens it with "
        "the decrypt command and its own private key."))
    export.add_argument("alert", metavar="ALERT_ID", help="the alert's number, e.g. 12")
    export.add_argument("--to-key", metavar="PUBLIC_KEY_FILE", required=True,
                        help="a file with the organisation's public key (the /key line c2p-bot keygen printed)")
    export.add_argument("--out", metavar="FILE", required=True, help="the sealed case file to write")


def run_command(args: argparse.Namespace, config: Config) -> int:
    """Run ``report`` or ``export-case``; errors are printed as one line with exit code 1."""
    try:
        if args.command == "report":
            return report(config, args.since, args.format, args.out, args.names)
        return export_case(config, args.alert, args.to_key, args.out)
    except ReportError as error:
        print(f"c2p-bot: error: {error}", file=sys.stderr)
        return 1


def _engine(config: Config):  # type: ignore[no-untyped-def]
    try:
        engine = make_engine(config.database.url)
        upgrade(engine)
    except StorageError as error:
        raise ReportError(str(error)) from None
    return engine


def _write(path: str, text: str) -> None:
    """A new file only its owner may read (a report with names, a case file)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(text)
    except OSError as error:
        raise ReportError(f"cannot write {path}: {error.strerror}") from None


def report(config: Config, since: str, fmt: str, out: str, names: bool) -> int:
    try:
        period = parse_duration(since)
    except DurationError:
        raise ReportError(f"--since {since!r} is not a period such as 90d, 30d or 12w") from None
    if period > LONGEST:
        raise ReportError(f"--since {since!r} is longer than 10 years (3650d)")
    engine = _engine(config)
    now = SystemClock().now()
    with Session(engine) as session:
        data = build(session, now - period, now, config.escalation.steps, names=names)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["metric", "value"])
        writer.writerows(metrics(data))
        _write(out, buffer.getvalue())
    else:
        _write(out, render(data))
    engine.dispose()
    print(f"wrote {out}: {fmt} report over {data.days} days ({data.alerts} alerts, {data.checkins} check-ins)"
          + (", with names" if names else ", aggregates only"))
    return 0


def _public_key(path: str) -> bytes:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ReportError(f"cannot read {path}: {error.strerror}") from None
    if "c2p-sk1:" in text:
        raise ReportError(f"{path} holds a private key: give the organisation's public key instead (the /key "
                          "line c2p-bot keygen printed), and keep the private key with them")
    try:
        return decode_public_key(text)
    except CryptoError as error:
        raise ReportError(f"{path}: {error}") from None


def export_case(config: Config, alert: str, to_key: str, out: str) -> int:
    number = alert.strip().lstrip("#")
    if not number.isdigit() or len(number) > 12:
        raise ReportError(f"{alert!r} is not an alert number such as 12")
    public = _public_key(to_key)
    engine = _engine(config)
    now = SystemClock().now()
    try:
        keyring = open_keyring(config, engine, now)
    except KekError as error:
        raise ReportError(str(error)) from None
    try:
        with Session(engine) as session:
            case = case_file(session, keyring, int(number), now)
    except CaseNotFound:
        raise ReportError(f"there is no alert #{number} in this database") from None
    context = f"case:{case.alert_id}:export".encode()
    headers = [("kind", "case-export"), ("alert", str(case.alert_id)),
               ("written", now.strftime("%Y-%m-%dT%H:%MZ")), ("reader-key", key_mark(public))]
    _write(out, armour(seal(case.text.encode("utf-8"), public, context), context, headers))
    engine.dispose()
    print(f"wrote {out}: the case of alert #{case.alert_id} sealed to key {key_mark(public)}.")
    if case.unopened:
        print(f"{case.unopened} of {case.entries} logbook entries could not be opened (sealed only to readers who "
              "hold their own keys): they are listed without their text.")
    print(f"The organisation opens it with: c2p-bot decrypt --key THEIR_PRIVATE_KEY_FILE {out}")
    return 0

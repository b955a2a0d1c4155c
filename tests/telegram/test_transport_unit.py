"""The transport's pure parts: splitting, keyboards, error mapping, menus, wiring."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import Kek
from c2p_bot.core.events import Button
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from c2p_bot.transports.telegram import TELEGRAM_PACING, TelegramTransport, attach_telegram
from c2p_bot.transports.telegram.connection import quiet_http_logging
from c2p_bot.transports.telegram.errors import to_delivery_error
from c2p_bot.transports.telegram.formatting import MAX_TEXT, build_keyboard, split_text, utf16_len
from c2p_bot.transports.telegram.menus import commands_for_role, stranger_commands
from storage.engine import make_engine

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
TOKEN = "7000000001:AAFakeTelegramBotApiForTests_012345"


def test_short_texts_are_one_part_and_empty_texts_none() -> None:
    assert split_text("hello") == ["hello"]
    assert split_text("x" * MAX_TEXT) == ["x" * MAX_TEXT]
    assert split_text("   \n ") == []


def test_long_texts_split_at_lines_then_words_within_the_utf16_limit() -> None:
    paragraphs = "\n".join(f"line {n} " + "lorem ipsum " * 30 for n in range(100))
    parts = split_text(paragraphs)
    assert len(parts) > 1
    assert all(0 < utf16_len(p) <= MAX_TEXT for p in parts)
    assert "\n".join(parts) == paragraphs  # cut at line breaks only
    one_line = "🙂word " * 2000  # astral characters count twice in UTF-16
    parts = split_text(one_line)
    assert all(utf16_len(p) <= MAX_TEXT for p in parts)
    assert " ".join(parts).split() == one_line.split()
    blob = "🙂" * 5000  # no space at all: cut between characters, never inside one
    parts = split_text(blob)
    assert all(utf16_len(p) <= MAX_TEXT for p in parts) and "".join(parts) == blob


def test_keyboard_uses_payloads_and_drops_what_telegram_refuses() -> None:
    markup = build_keyboard([
        [Button("I'm safe", "/checkin"), Button("Too long", "/log 1 " + "x" * 80)],
        [Button("", "/help")],
        [Button("Ack", "/ack 12")],
    ])
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("I'm safe", "/checkin")], [("Ack", "/ack 12")]]
    assert build_keyboard([]) is None
    assert build_keyboard([[Button("x", "y" * 65)]]) is None


@pytest.mark.parametrize(("make", "permanent", "retry_after"), [
    (lambda: RetryAfter(7), False, 7.0),
    (lambda: Forbidden("Forbidden: bot was blocked by the user"), True, None),
    (lambda: Forbidden("Forbidden: user is deactivated"), True, None),
    (lambda: Forbidden("Forbidden: bot can't initiate conversation with a user"), True, None),
    (lambda: BadRequest("Bad Request: chat not found"), True, None),
    (lambda: BadRequest("Bad Request: message is too long"), False, None),
    (lambda: ChatMigrated(-100123), True, None),
    (lambda: TimedOut(), False, None),
    (lambda: NetworkError("Bad Gateway"), False, None),
    (lambda: NetworkError("Internal Server Error (500)"), False, None),
])
def test_errors_map_to_delivery_errors(make: Callable[[], TelegramError], permanent: bool,
                                       retry_after: float | None) -> None:
    mapped = to_delivery_error(make())
    assert mapped.permanent is permanent
    assert mapped.retry_after == retry_after


def test_menus_follow_the_registry_and_telegram_rules() -> None:
    stranger = stranger_commands(registry)
    assert [c.command for c in stranger] == ["start", "help"]
    for role in Role:
        commands = commands_for_role(registry, role, "en")
        names = [c.command for c in commands]
        expected = [c.name for c in registry.for_role(role) if c.menu]
        assert names == expected
        assert all(1 <= len(c.description) <= 256 for c in commands)
    assert "invite" in [c.command for c in commands_for_role(registry, Role.COORDINATOR, "en")]
    assert "invite" not in [c.command for c in commands_for_role(registry, Role.HRD, "en")]


def test_attach_wires_pacing_hooks_and_invite_links(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    upgrade(make_engine(url))
    engine = make_engine(url)
    config = parse_config({"telegram": {"token": TOKEN, "delete_after": "2h"}}, env={})
    runtime = build_runtime(config, engine, FakeClock(), Keyring(engine, Kek.generate()))
    transport = attach_telegram(runtime, config.telegram)
    assert isinstance(transport, TelegramTransport) and transport.platform == "telegram"
    dispatcher = runtime.dispatchers["telegram"]
    assert dispatcher.pacing == TELEGRAM_PACING
    assert (TELEGRAM_PACING.per_second, TELEGRAM_PACING.per_chat_interval) == (30, 1.0)
    assert dispatcher.delete_after == timedelta(hours=2)
    core = runtime.core
    assert transport.on_role_change in core.role_change_hooks
    assert transport.on_registration in core.registration_hooks
    transport.username = "c2p_bot"
    assert transport.invite_link("k7qm-2xpa-9dtr") == "https://t.me/c2p_bot?start=K7QM2XPA9DTR"
    with pytest.raises(ValueError, match="token"):
        TelegramTransport(runtime, parse_config({}, env={}).telegram)
    engine.dispose()


def test_http_loggers_never_show_the_token() -> None:
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    quiet_http_logging()
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("telegram").isEnabledFor(logging.DEBUG)


def test_delete_after_is_clamped_inside_telegrams_48_hours(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    from c2p_bot.config import TelegramConfig
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    upgrade(make_engine(url))
    engine = make_engine(url)
    config = parse_config({"telegram": {"token": TOKEN}}, env={})
    runtime = build_runtime(config, engine, FakeClock(), Keyring(engine, Kek.generate()))
    too_late = TelegramConfig.model_construct(token=TOKEN, delete_after=timedelta(days=3))
    with caplog.at_level(logging.WARNING):
        attach_telegram(runtime, too_late)
    assert runtime.dispatchers["telegram"].delete_after == timedelta(hours=47)
    warnings = [r for r in caplog.records if r.name.startswith("c2p_bot.transports.telegram")]
    assert len(warnings) == 1 and "delete_after" in warnings[0].getMessage()
    engine.dispose()


def test_refused_and_gone_deletions_are_told_apart() -> None:
    from c2p_bot.transports.telegram.errors import is_gone_on_delete, is_refused_delete

    too_old = BadRequest("Bad Request: message can't be deleted for everyone")
    assert is_refused_delete(too_old) and not is_gone_on_delete(too_old)
    gone = BadRequest("Bad Request: message to delete not found")
    assert is_gone_on_delete(gone) and not is_refused_delete(gone)

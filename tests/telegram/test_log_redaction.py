"""No log record from the chat libraries carries message text, at any level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from c2p_bot.transports.redaction import install_library_log_redaction
from tests.telegram.support import TelegramBot, eventually

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
CANARY = "canary-8f3e-hiding-at-the-market"
LIBRARIES = ("telegram", "httpx", "httpcore", "nio", "tornado")


class Everything(logging.Handler):
    """Keeps every record that reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)  # fills exc_text from exc_info, as a real handler would
        self.records.append(record)


@pytest.fixture
def everything() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *LIBRARIES)}
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def debug_everywhere() -> None:
    for name in ("", *LIBRARIES):
        logging.getLogger(name).setLevel(logging.DEBUG)


def leaks(handler: Everything) -> list[str]:
    return [f"{r.name} {r.levelname}: {r.getMessage()[:120]}" for r in handler.records
            if CANARY in r.getMessage() or CANARY in (r.exc_text or "") or CANARY in str(r.msg)]


async def test_an_unparseable_update_leaks_no_text_at_any_level(
        bot: TelegramBot, everything: Everything) -> None:
    api = bot.api
    amina = bot.user("amina")
    await bot.say(amina, "hello", r"private service")
    debug_everywhere()  # after start(), which raises the HTTP loggers' floor
    # A date PTB cannot read: python-telegram-bot's get_updates logs the raw batch at CRITICAL.
    broken = api.inject_raw({"message": {"message_id": 77, "date": "yesterday",
                                         "text": f"/checkin {CANARY}", "chat": amina.chat_dict(),
                                         "from": amina.to_dict()}})
    await bot.say(amina, f"fine {CANARY}", r"private service")  # the next update gets through
    await api.wait_until_fetched(broken)
    assert any(r.levelno == logging.CRITICAL and r.name.startswith("telegram")
               for r in everything.records), "PTB's parse failure was not logged at all"
    assert any(r.levelno == logging.DEBUG and r.name.startswith("telegram")
               for r in everything.records)
    await eventually(lambda: any("skipped update" in r.getMessage() for r in everything.records),
                     what="the unreadable update skipped")
    assert leaks(everything) == []


def test_records_of_loggers_created_later_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    install_library_log_redaction()
    install_library_log_redaction()  # idempotent
    logger = logging.getLogger("nio.some.module.created.after.install")
    with caplog.at_level(logging.DEBUG):
        logger.setLevel(logging.DEBUG)
        logger.warning(f"Error validating event: '{CANARY}' is not of type 'object'")
        logger.debug("Received data was %r", {"text": CANARY})
        logger.info("Failed run number %s of %s", 3, 5)
        try:
            raise ValueError(CANARY)
        except ValueError:
            logger.exception("could not parse")
        logging.getLogger("c2p_bot.mine").info("ours %s", CANARY)  # our own loggers are ours
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Error validating event: [details withheld]"
    assert messages[1] == "Received data was <withheld>"
    assert messages[2] == "Failed run number 3 of 5"
    assert messages[3] == "could not parse (ValueError; details withheld)"
    assert caplog.records[3].exc_info is None and not caplog.records[3].exc_text
    assert caplog.records[3].levelno == logging.ERROR
    assert CANARY in messages[4]

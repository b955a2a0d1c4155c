"""The email transport against a real SMTP server on 127.0.0.1 (aiosmtpd) that refuses a login,
refuses a recipient or is down: what is logged, retried or given up, and that the chat alert and
its escalation never depend on email (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from c2p_bot.config import Config
from c2p_bot.core.delivery_failures import MAX_ATTEMPTS
from storage.models import OutboxMessage
from tests.support.people import trio
from tests.support.smtp import PASSWORD, SmtpServer, confirm_email, email_config
from tests.support.transcript import Chat

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
PAUL = "paul@example.org"
LOGGER = "c2p_bot.transports.email.transport"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # 127.0.0.1 only


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(auth=True).start()
    yield server
    server.stop()


@pytest.fixture
def config(smtp: SmtpServer) -> Config:
    return email_config(smtp, username="c2p-bot")


async def alert_paul(chat: Chat, smtp: SmtpServer) -> None:
    """Cora, Amina and Paul; Paul's address confirmed; Amina misses a check-in: alert #1 in the chat."""
    await trio(chat)
    await confirm_email(chat, smtp, "paul", PAUL)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")
    chat.skip("amina")


def email_rows(chat: Chat) -> list[OutboxMessage]:
    with Session(chat.core.engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "alert_email")).all())


def transport(chat: Chat):  # type: ignore[no-untyped-def]
    return chat.runtime.dispatchers["email"].transport


async def test_a_refused_login_is_logged_once_retried_and_the_chat_escalation_goes_on(
        chat: Chat, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    await alert_paul(chat, smtp)
    smtp.refuse_login = True
    chat.clock.advance(10 * MINUTE)  # the email step
    await chat.tick()
    errors = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert errors == ["email: the server refused the login as 'c2p-bot' (535); check [email] username and "
                      "C2P_SMTP_PASSWORD; emails wait and are retried"]
    assert transport(chat).connected is False
    [row] = email_rows(chat)
    assert row.delivered_at is None and row.failed_at is None and "refused the login" in (row.last_error or "")
    chat.expect_nothing("paul")
    for _ in range(3):  # retried with backoff; failing for [escalation] failover_after: the chain moves on
        chat.clock.advance(MINUTE)
        await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed a check-in")
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1  # once, not per try
    smtp.refuse_login = False  # the operator fixes the password
    chat.clock.advance(5 * MINUTE)
    await chat.tick()
    smtp.expect(PAUL, r"^Alert #1 about Amina")
    smtp.expect_nothing(PAUL)
    assert transport(chat).connected is True
    assert "sending again" in caplog.text and PASSWORD not in caplog.text


async def test_a_server_that_is_down_is_retried_until_it_is_back(
        chat: Chat, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    await alert_paul(chat, smtp)
    smtp.stop()
    chat.clock.advance(10 * MINUTE)
    await chat.tick()
    assert f"email: cannot reach the server 127.0.0.1:{smtp.port} (ConnectionRefusedError)" in caplog.text
    chat.clock.advance(MINUTE)
    await chat.tick()
    [row] = email_rows(chat)
    assert row.attempts == 2 and row.failed_at is None
    smtp.start()
    chat.clock.advance(5 * MINUTE)
    await chat.tick()
    smtp.expect(PAUL, r"^Alert #1 about Amina", r"/ack 1")
    smtp.expect_nothing(PAUL)
    chat.clock.advance(HOUR)
    await chat.tick()
    smtp.expect_nothing(PAUL)  # delivered once


async def test_a_server_down_for_good_is_given_up_and_the_partner_told_in_the_chat(
        chat: Chat, smtp: SmtpServer) -> None:
    await alert_paul(chat, smtp)
    smtp.stop()
    for _ in range(MAX_ATTEMPTS + 2):
        chat.clock.advance(6 * MINUTE)
        await chat.tick()
    [row] = email_rows(chat)
    assert row.failed_at is not None and row.attempts == MAX_ATTEMPTS
    chat.expect("paul", rf"An alert email to {PAUL} could not be delivered \(alert #1\); the chat alert was not "
                        r"affected", skipping=True)
    chat.expect("cora", r"ALERT #1: Amina missed a check-in", skipping=True)


async def test_a_refused_recipient_fails_at_once_and_the_chain_moves_on(chat: Chat, smtp: SmtpServer) -> None:
    await trio(chat)
    smtp.handler.refuse.add("typo@example.org")
    await chat.say("paul", "/profile email=typo@example.org")
    chat.expect("paul", r"I sent a code to typo@example\.org")
    chat.expect("paul", r"I could not deliver the code to typo@example\.org\. Check the address")
    await confirm_email(chat, smtp, "paul", PAUL)
    smtp.handler.refuse.add(PAUL)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.skip("paul")
    chat.clock.advance(10 * MINUTE)
    await chat.tick()
    [row] = email_rows(chat)
    assert row.failed_at is not None and row.attempts == 1
    chat.expect("paul", rf"An alert email to {PAUL} could not be delivered \(alert #1\)")
    chat.expect("cora", r"ALERT #1: Amina missed a check-in")  # at once, not ack_timeout later

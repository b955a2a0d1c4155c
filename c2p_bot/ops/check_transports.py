"""The transports' part of ``c2p-bot check``: does each platform accept the bot's credentials?

Telegram: getMe with the token, through python-telegram-bot. Matrix: whoami with the access token
the bot stored at its first login, through matrix-nio — never a new login (that would make a new
device); before the first login, only that the homeserver offers password login. Short timeouts;
a refused or unreachable platform is one line, without the token in it.
"""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginInfoResponse, WhoamiResponse
from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from c2p_bot.transports.matrix.errors import REQUEST_ERRORS
from c2p_bot.transports.redaction import install_library_log_redaction
from c2p_bot.transports.settings import EmailConfig, MatrixConfig, TelegramConfig
from c2p_bot.transports.telegram.connection import quiet_http_logging
from c2p_bot.transports.telegram.plumbing import describe_error

Result = tuple[str, str, str]


async def check_telegram(config: TelegramConfig, timeout: float) -> Result:
    """getMe: ``ok`` with the bot's username, or why not."""
    install_library_log_redaction()
    quiet_http_logging()  # httpx logs request URLs, which hold the token
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
                           pool_timeout=timeout)
    bot = Bot(str(config.token), base_url=config.base_url or "https://api.telegram.org/bot", request=request)
    try:
        me = await bot.get_me()
    except InvalidToken as error:
        code = "401" if "unauthorized" in str(error).lower() else "404: not a bot token"
        return "FAIL", "telegram", f"the token was refused ({code})"
    except (TelegramError, OSError, ValueError) as error:
        return "FAIL", "telegram", f"cannot reach the Bot API ({describe_error(error, config.token)})"
    finally:
        await request.shutdown()
    return "ok", "telegram", f"the Bot API accepts the token (@{me.username})"


async def check_matrix(config: MatrixConfig, token: str | None, device: str | None, timeout: float) -> Result:
    """whoami with the stored login, or (none yet) whether the homeserver offers password login."""
    install_library_log_redaction()
    client = AsyncClient(str(config.homeserver), str(config.user_id),
                         config=AsyncClientConfig(encryption_enabled=False, request_timeout=int(timeout),
                                                  max_timeouts=1, max_limit_exceeded=0))
    try:
        if token:
            client.access_token = token
            answer = await client.whoami()
        else:
            answer = await client.login_info()
    except REQUEST_ERRORS as error:
        return "FAIL", "matrix", f"cannot reach the homeserver ({type(error).__name__})"
    finally:
        await client.close()
    if not token:
        if not isinstance(answer, LoginInfoResponse):
            return "FAIL", "matrix", f"the homeserver does not answer as Matrix ({_code(answer)})"
        if not config.password:
            return "FAIL", "matrix", "no stored login and no password (set C2P_MATRIX_PASSWORD)"
        if "m.login.password" not in answer.flows:
            return "FAIL", "matrix", "the homeserver does not offer password login"
        return "ok", "matrix", (f"not logged in yet; the homeserver offers password login (the first run "
                                f"logs in as {config.user_id})")
    if not isinstance(answer, WhoamiResponse):
        then = ("it logs in again as a new device with the password" if config.password
                else "the bot would log in again as a new device, but no password is set")
        return "FAIL", "matrix", f"the homeserver refused the stored login ({_code(answer)}); {then}"
    if answer.user_id != config.user_id:
        return "FAIL", "matrix", f"the stored login belongs to {answer.user_id}, not {config.user_id}"
    store = Path(config.store_path) / f"{config.user_id}_{device}.db"
    if not store.exists():
        return "FAIL", "matrix", (f"the olm store {store} is missing: the bot would log in as a new device "
                                  "(restore the store folder with the database)")
    return "ok", "matrix", f"the homeserver accepts the stored login ({answer.user_id}, device {device})"


def check_email(config: EmailConfig) -> Result:
    """Connect, STARTTLS when configured, log in when a username is set, then NOOP; nothing is sent."""
    where = f"{config.host}:{config.port}"
    try:
        with smtplib.SMTP(config.host or "", config.port, timeout=config.timeout.total_seconds()) as smtp:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.noop()
    except smtplib.SMTPAuthenticationError as error:
        return "FAIL", "email", f"{where} refused the login as {config.username!r} ({error.smtp_code})"
    except smtplib.SMTPNotSupportedError:
        return "FAIL", "email", f"{where} does not offer STARTTLS or login (check [email] starttls and username)"
    except (OSError, smtplib.SMTPException) as error:
        return "FAIL", "email", f"cannot reach the SMTP server {where} ({type(error).__name__})"
    login = f" and accepts the login as {config.username!r}" if config.username else ""
    return "ok", "email", f"the SMTP server {where} answers{login}"


def _code(answer: object) -> str:
    return str(getattr(answer, "status_code", None) or type(answer).__name__)

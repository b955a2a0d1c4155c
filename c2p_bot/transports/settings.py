"""The transports' settings sections (``[telegram]``, ``[matrix]``, ``[email]``), beside the transports.

A module of its own so that reading the configuration loads no chat SDK.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, ValidationInfo, field_validator

from c2p_bot.core.email_field import EMAIL_ADDRESS
from c2p_bot.core.settings import Duration, Section


class TelegramConfig(Section):
    token: str | None = None
    base_url: str | None = None
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    secret_token: str | None = None
    delete_after: Duration = timedelta(hours=24)
    poll_timeout: int = 30

    @field_validator("delete_after")
    @classmethod
    def _within_telegram_limit(cls, value: timedelta) -> timedelta:
        if value > timedelta(hours=47):
            raise ValueError("must be at most 47h (Telegram allows deleting for 48h)")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class MatrixConfig(Section):
    homeserver: str | None = None
    user_id: str | None = None
    password: str | None = None
    device_name: str = "c2p-bot"
    store_path: str = "matrix-store"
    stranger_timeout: Duration = timedelta(hours=1)
    undecryptable_timeout: Duration = timedelta(minutes=2)
    require_verified_devices: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.homeserver and self.user_id)


class EmailConfig(Section):
    """``[email]``: the SMTP server that sends alert emails and confirmation codes
    (c2p_bot.transports.email). Off until ``host`` and ``from_address`` are set."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True  # upgrade the connection with STARTTLS (certificate checked) before logging in
    username: str | None = None
    password: str | None = Field(default=None, validate_default=True)  # better: C2P_SMTP_PASSWORD
    from_address: str | None = Field(default=None, validate_default=True)
    timeout: Duration = timedelta(seconds=10)  # for each step of talking to the server

    @field_validator("password")
    @classmethod
    def _a_password_for_the_username(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("username") and not value:
            raise ValueError(f"set C2P_SMTP_PASSWORD to the password of {info.data['username']!r}")
        return value or None

    @field_validator("from_address")
    @classmethod
    def _an_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not EMAIL_ADDRESS.fullmatch(value):
            raise ValueError('must be an email address, e.g. "alerts@example.org"')
        if info.data.get("host") and not value:
            raise ValueError('set the address emails come from, e.g. "alerts@example.org"')
        return value or None

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.from_address)

"""The transports' settings sections (``[telegram]``, ``[matrix]``), beside the transports.

A module of its own so that reading the configuration loads no chat SDK.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import field_validator

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

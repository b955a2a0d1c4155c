"""Configuration: a TOML file validated at start, with secrets from the environment.

Every key is documented in ``config.example.toml``. A bad file stops the bot with
one line naming the key (see :class:`ConfigError`).
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from c2p_bot.durations import DurationError, parse_duration
from matching.vocabulary import DEFAULT_EXPERTISE

DEFAULT_DATABASE_URL = "sqlite:///c2p.db"


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a duration such as \"45s\", \"15m\", \"2h\" or \"1d\"")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return timedelta(seconds=value)
    try:
        return parse_duration(value)
    except DurationError:
        raise ValueError(
            f"invalid duration {value!r}: use e.g. \"45s\", \"15m\", \"2h\" or \"1d\""
        ) from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    url: str = DEFAULT_DATABASE_URL


class TelegramConfig(_Section):
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


class MatrixConfig(_Section):
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


class CheckinsConfig(_Section):
    interval: Duration = timedelta(days=1)
    grace: Duration = timedelta(hours=1)
    remind_before: Duration = timedelta(minutes=30)
    ack_timeout: Duration = timedelta(minutes=15)
    sweep_interval: Duration = timedelta(seconds=30)
    max_pause: Duration = timedelta(days=14)
    pause_reminder_before: Duration = timedelta(hours=1)


StepName = Literal["partners", "coordinators"]
DEFAULT_STEPS: tuple[StepName, ...] = ("partners", "coordinators")


class EscalationConfig(_Section):
    steps: list[StepName] = Field(default_factory=lambda: list(DEFAULT_STEPS), min_length=1)
    repeat_every: Duration = timedelta(minutes=30)
    failover_after: Duration = timedelta(minutes=2)
    ack_expiry: Duration = timedelta(hours=2)


class CryptoConfig(_Section):
    key_file: str | None = None


class RetentionConfig(_Section):
    notes: Duration = timedelta(days=30)
    closed_alerts: Duration = timedelta(days=90)


class InvitesConfig(_Section):
    ttl: Duration = timedelta(days=7)


class MatchingWeights(_Section):
    region_country: float = 1.0
    region_subregion: float = 0.7
    region_region: float = 0.4
    region_global: float = 0.1
    expertise: float = 1.0
    load_balance: float = 0.3


class MatchingConfig(_Section):
    expertise: list[str] = Field(default_factory=lambda: list(DEFAULT_EXPERTISE), min_length=1)
    offer_timeout: Duration = timedelta(days=3)
    candidates: int = Field(default=3, ge=1, le=20)
    weights: MatchingWeights = MatchingWeights()


class SecurityConfig(_Section):
    coordinator_invites: Literal["open", "two-person"] = "open"


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    """The whole configuration; every section has defaults, so an empty file is valid."""

    database: DatabaseConfig = DatabaseConfig()
    telegram: TelegramConfig = TelegramConfig()
    matrix: MatrixConfig = MatrixConfig()
    checkins: CheckinsConfig = CheckinsConfig()
    escalation: EscalationConfig = EscalationConfig()
    crypto: CryptoConfig = CryptoConfig()
    retention: RetentionConfig = RetentionConfig()
    invites: InvitesConfig = InvitesConfig()
    matching: MatchingConfig = MatchingConfig()
    security: SecurityConfig = SecurityConfig()
    logging: LoggingConfig = LoggingConfig()


# Environment variables that may carry secrets (or override the file), by config key.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "C2P_DATABASE_URL": ("database", "url"),
    "C2P_TELEGRAM_TOKEN": ("telegram", "token"),
    "C2P_TELEGRAM_SECRET_TOKEN": ("telegram", "secret_token"),
    "C2P_MATRIX_PASSWORD": ("matrix", "password"),
    "C2P_KEY_FILE": ("crypto", "key_file"),
}


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"unknown key {key}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}"


# Of those, the ones removed from the process environment once read (child processes and
# anything that dumps the environment later do not see them).
SECRET_ENV = ("C2P_DATABASE_URL", "C2P_TELEGRAM_TOKEN", "C2P_TELEGRAM_SECRET_TOKEN", "C2P_MATRIX_PASSWORD")


def parse_config(raw: dict[str, Any], env: dict[str, str] | None = None) -> Config:
    """Validate a parsed TOML document, applying environment overrides. With the process
    environment (``env`` None), secrets are taken out of it once the config is valid."""
    from_process = env is None
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            target = data.setdefault(section, {})
            if isinstance(target, dict):
                target[key] = env[var]
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_error(error)) from None
    if from_process:
        for var in SECRET_ENV:
            os.environ.pop(var, None)
    return config


def load_config(path: str | os.PathLike[str] | None, env: dict[str, str] | None = None) -> Config:
    """Read and validate a config file; ``None`` means defaults (console on SQLite)."""
    if path is None:
        return parse_config({}, env)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {file}: {error.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file} is not valid TOML: {error}") from None
    return parse_config(raw, env)

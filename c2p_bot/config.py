"""Configuration: a TOML file validated at start, with secrets from the environment.

Every key is documented in ``config.example.toml``. A bad file stops the bot with
one line naming the key (see :class:`ConfigError`).
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError, field_validator, model_validator

from c2p_bot.core.crypto import CryptoError, check_public_key, decode_public_key
from c2p_bot.core.settings import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL
from c2p_bot.core.settings import CoreSettings, Duration, Section
from c2p_bot.transports.settings import EmailConfig as EmailConfig
from c2p_bot.transports.settings import MatrixConfig as MatrixConfig
from c2p_bot.transports.settings import TelegramConfig as TelegramConfig


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MonitoringConfig(Section):
    """``[monitoring]``: heartbeat pings, Prometheus metrics and the health rule behind them and
    the systemd watchdog (c2p_bot.ops.watchman). Everything is off until a key turns it on."""

    heartbeat_url: str | None = None
    heartbeat_every: Duration = timedelta(minutes=1)
    metrics_listen: str | None = None
    sweep_stale_after: Duration | None = None  # None: twice [checkins] sweep_interval
    outbox_stuck_after: Duration = timedelta(minutes=15)

    @field_validator("heartbeat_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError('must be an http:// or https:// URL, e.g. "https://hc-ping.com/your-check-id"')
        return value or None

    @field_validator("metrics_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value and listen_address(value) is None:
            raise ValueError('must be an address and port, e.g. "127.0.0.1:9464"')
        return value or None

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        return listen_address(self.metrics_listen) if self.metrics_listen else None


def listen_address(text: str) -> tuple[str, int] | None:
    """``"127.0.0.1:9464"``, ``"[::1]:9464"`` or ``"localhost:9464"`` as (host, port); None if not one."""
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d{1,5})|([A-Za-z0-9.-]+):(\d{1,5})", text.strip())
    if match is None:
        return None
    host, port = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return (host, int(port)) if int(port) <= 65535 else None


class BackupConfig(Section):
    """``[backup]``: ``c2p-bot backup`` seals every backup to ``public_key`` (from ``c2p-bot keygen``)."""

    public_key: str | None = None

    @field_validator("public_key")
    @classmethod
    def _a_public_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_public_key(decode_public_key(value))
        except CryptoError as error:
            raise ValueError(f"not a public key printed by c2p-bot keygen ({error})") from None
        return value

    @property
    def public(self) -> bytes | None:
        """The public key's 32 bytes, or None when no key is set."""
        return decode_public_key(self.public_key) if self.public_key else None


class Config(CoreSettings):
    """The whole configuration: the core's sections (c2p_bot.core.settings), the transports'
    (c2p_bot.transports.settings), logging and backups. Every section has defaults, so an empty file is valid."""

    telegram: TelegramConfig = TelegramConfig()
    matrix: MatrixConfig = MatrixConfig()
    email: EmailConfig = EmailConfig()
    logging: LoggingConfig = LoggingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    backup: BackupConfig = BackupConfig()

    @model_validator(mode="after")
    def _email_for_email_steps(self) -> Config:
        if self.escalation.by_email and not self.email.enabled:
            step = next(str(step) for step in self.escalation.chain if step.email)
            raise ValueError(f'escalation.steps: "{step}" sends email, but [email] is not set up: set '
                             'email.host and email.from_address')
        return self


# Environment variables that may carry secrets (or override the file), by config key.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "C2P_DATABASE_URL": ("database", "url"),
    "C2P_TELEGRAM_TOKEN": ("telegram", "token"),
    "C2P_TELEGRAM_SECRET_TOKEN": ("telegram", "secret_token"),
    "C2P_MATRIX_PASSWORD": ("matrix", "password"),
    "C2P_SMTP_PASSWORD": ("email", "password"),
    "C2P_KEY_FILE": ("crypto", "key_file"),
}


# Secrets as systemd credentials (``LoadCredential=NAME:/etc/c2p-bot/FILE`` in the unit):
# files named so in $CREDENTIALS_DIRECTORY, by config key. They override the config file; the
# environment variables above override them. The ``kek`` credential is the key file itself.
CREDENTIALS: dict[str, tuple[str, str]] = {
    "database-url": ("database", "url"),
    "telegram-token": ("telegram", "token"),
    "telegram-secret-token": ("telegram", "secret_token"),
    "matrix-password": ("matrix", "password"),
    "smtp-password": ("email", "password"),
    "heartbeat-url": ("monitoring", "heartbeat_url"),
}
KEK_CREDENTIAL = "kek"


def credentials(env: dict[str, str]) -> dict[tuple[str, str], str]:
    """The config values found in $CREDENTIALS_DIRECTORY (set by systemd), by (section, key)."""
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder:
        return {}
    found: dict[tuple[str, str], str] = {}
    for name, where in CREDENTIALS.items():
        file = Path(folder) / name
        try:
            value = file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read the credential {name} ({type(error).__name__})") from None
        if not value:
            raise ConfigError(f"the credential {name} is empty: put the {'.'.join(where)} value in its file")
        found[where] = value
    if (Path(folder) / KEK_CREDENTIAL).is_file():
        found[("crypto", "key_file")] = str(Path(folder) / KEK_CREDENTIAL)
    return found


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"unknown key {key}"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}" if first["loc"] else message  # a rule across sections names its keys


# Of those, the ones removed from the process environment once read (child processes and
# anything that dumps the environment later do not see them).
SECRET_ENV = ("C2P_DATABASE_URL", "C2P_TELEGRAM_TOKEN", "C2P_TELEGRAM_SECRET_TOKEN", "C2P_MATRIX_PASSWORD",
              "C2P_SMTP_PASSWORD")


def parse_config(raw: dict[str, Any], env: dict[str, str] | None = None) -> Config:
    """Validate a parsed TOML document, applying environment overrides. With the process
    environment (``env`` None), secrets are taken out of it once the config is valid."""
    from_process = env is None
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for (section, key), value in credentials(env).items():
        target = data.setdefault(section, {})
        if isinstance(target, dict):
            target[key] = value
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

"""Config validation: one clear line naming the key; secrets from the environment."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from c2p_bot.config import Config, ConfigError, load_config, parse_config
from c2p_bot.core.settings import CoreSettings, MatchingWeights
from c2p_bot.durations import DurationError, format_duration, parse_duration
from matching.scoring import Weights

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


@pytest.mark.parametrize(("text", "seconds"), [("45s", 45), ("15m", 900), ("2h", 7200),
                                               ("1d", 86400), ("1h30m", 5400), (" 2H ", 7200)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "-5m", "0s", "1.5h", "15 minutes", "1y", "9999999s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1h1h", "30m1h30m", "1d 1d", "5s5s"])
def test_a_repeated_unit_is_refused(text: str) -> None:
    with pytest.raises(DurationError, match="appears more than once"):
        parse_duration(text)


def test_a_repeated_unit_in_the_config_names_the_key_and_the_unit() -> None:
    with pytest.raises(ConfigError, match=r"^checkins\.grace: invalid duration '1h1h': the unit 'h' appears more"):
        parse_config({"checkins": {"grace": "1h1h"}}, env={})


def test_defaults_need_no_file() -> None:
    config = load_config(None, env={})
    assert config.database.url == "sqlite:///c2p.db"
    assert not config.telegram.enabled and not config.matrix.enabled


def test_example_config_documents_every_key_with_its_default() -> None:
    config = load_config(EXAMPLE, env={})
    assert config == parse_config({}, env={})


def test_example_config_names_every_key() -> None:
    """Every key of the core's sections (c2p_bot.core.settings) and the transports'
    (c2p_bot.transports.settings) is in the example: set, or commented out when unset by default."""
    text = EXAMPLE.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    for name, field in Config.model_fields.items():
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel)
        for key in section.model_fields:
            assert key in raw.get(name, {}) or re.search(rf"^# {key} = ", text, re.MULTILINE), f"{name}.{key}"


def test_core_settings_are_the_core_sections_of_the_config() -> None:
    core = set(CoreSettings.model_fields)
    assert not core & {"telegram", "matrix", "email", "logging", "backup", "monitoring"}
    assert set(Config.model_fields) == core | {"telegram", "matrix", "email", "logging", "backup", "monitoring"}
    assert issubclass(Config, CoreSettings)


@pytest.mark.parametrize(("raw", "message"), [
    ({"checkins": {"grace": "soon"}}, r"^checkins\.grace: invalid duration 'soon'"),
    ({"checkins": {"graze": "1h"}}, r"^unknown key checkins\.graze$"),
    ({"nonsense": {}}, r"^unknown key nonsense$"),
    ({"telegram": {"delete_after": "3d"}}, r"^telegram\.delete_after: must be at most 47h"),
    ({"escalation": {"steps": ["partners", "police"]}}, r"^escalation\.steps\.1:"),
    ({"escalation": {"steps": ["partners", "partners by fax"]}},
     r'^escalation\.steps\.1: "partners by fax" is not a step: write "partners" or "coordinators", optionally '
     r'followed by "by email" and "after" a duration, e\.g\. "partners by email after 10m"$'),
    ({"escalation": {"steps": ["partners", "coordinators after soon"]}},
     r'^escalation\.steps\.1: "coordinators after soon": "soon" is not a duration'),
    ({"escalation": {"steps": ["partners after 5m"]}},
     r'^escalation\.steps: the first step runs as soon as the alert is raised: write "partners" without "after"$'),
    ({"escalation": {"steps": ["partners", "coordinators by email after 5m", "coordinators"]}},
     r'^escalation\.steps: "coordinators by email after 5m" needs a "coordinators" step before it: email only '
     r"follows up an alert already sent to them in the chat$"),
    ({"escalation": {"steps": ["partners", "partners by email after 10m"]}},
     r'^escalation\.steps: "partners by email after 10m" sends email, but \[email\] is not set up: set '
     r"email\.host and email\.from_address$"),
    ({"email": {"host": "smtp.example.org"}}, r"^email\.from_address: set the address emails come from"),
    ({"email": {"host": "smtp.example.org", "from_address": "alerts"}}, r"^email\.from_address: must be an email"),
    ({"email": {"host": "smtp.example.org", "from_address": "a@example.org", "username": "bot"}},
     r"^email\.password: set C2P_SMTP_PASSWORD to the password of 'bot'$"),
    ({"database": {"url": 5}}, r"^database\.url:"),
])
def test_bad_config_names_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw, env={})


def test_secrets_from_environment(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[telegram]\nbase_url = "http://127.0.0.1:1/bot"\n')
    config = load_config(file, env={"C2P_TELEGRAM_TOKEN": "123:abc", "C2P_MATRIX_PASSWORD": "pw"})
    assert config.telegram.token == "123:abc" and config.telegram.enabled
    assert config.matrix.password == "pw"


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\nurl=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})


def test_secrets_are_taken_out_of_the_environment_once_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from c2p_bot.config import load_config

    monkeypatch.setenv("C2P_TELEGRAM_TOKEN", "123:secret-token")
    monkeypatch.setenv("C2P_MATRIX_PASSWORD", "hunter2")
    config = load_config(None)
    assert config.telegram.token == "123:secret-token" and config.matrix.password == "hunter2"
    assert "C2P_TELEGRAM_TOKEN" not in os.environ and "C2P_MATRIX_PASSWORD" not in os.environ


def test_matching_weights_default_to_the_scoring_defaults() -> None:
    """One home for the default weights: matching.scoring.Weights; the config reads them there."""
    assert Weights(**parse_config({}, env={}).matching.weights.model_dump()) == Weights()
    assert set(MatchingWeights.model_fields) == {f.name for f in fields(Weights)}


def test_escalation_steps_read_email_and_delays() -> None:
    """``AUDIENCE [by email] [after DURATION]``, any case and spacing; the chain waits the step's own delay."""
    config = parse_config({"escalation": {"steps": ["partners", " Partners  BY email after 10m", "coordinators"]},
                           "email": {"host": "smtp.example.org", "from_address": "alerts@example.org"}},
                          env={"C2P_SMTP_PASSWORD": "pw"})
    assert config.escalation.steps == ["partners", "partners by email after 10m", "coordinators"]
    assert [(s.audience, s.email, s.after) for s in config.escalation.chain] == [
        ("partners", False, None), ("partners", True, timedelta(minutes=10)), ("coordinators", False, None)]
    assert [config.wait_after_step(i) for i in range(3)] == [
        timedelta(minutes=10), timedelta(minutes=15), timedelta(minutes=30)]
    assert config.email.enabled and config.email.port == 587 and config.email.starttls


def test_the_smtp_password_comes_from_the_environment_and_leaves_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    monkeypatch.setenv("C2P_SMTP_PASSWORD", "smtp-secret")
    config = parse_config({"email": {"host": "smtp.example.org", "from_address": "a@example.org",
                                     "username": "bot"}})
    assert config.email.password == "smtp-secret" and "C2P_SMTP_PASSWORD" not in os.environ

"""Core's own settings: the sections of the configuration the core reads.

Each section is a frozen pydantic model with defaults, validated once at start. The composition
root's :mod:`c2p_bot.config` adds the transports' sections (c2p_bot.transports.settings) and
loads the TOML file; the core never imports it. Durations are written like ``"90s"``, ``"15m"``,
``"2h"`` or ``"1d"`` (:mod:`c2p_bot.durations`).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from c2p_bot.core.escalation_steps import EXAMPLE as EXAMPLE_STEP
from c2p_bot.core.escalation_steps import Step, check_chain, parse_step
from c2p_bot.durations import DurationError, parse_duration
from matching.scoring import Weights
from matching.vocabulary import DEFAULT_EXPERTISE

DEFAULT_DATABASE_URL = "sqlite:///c2p.db"


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
    except DurationError as error:
        raise ValueError(
            f"invalid duration {value!r}: {error.reason}" if error.reason
            else f"invalid duration {value!r}: use e.g. \"45s\", \"15m\", \"2h\" or \"1d\""
        ) from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Section(BaseModel):
    """A configuration section: unknown keys are refused, values never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Section):
    url: str = DEFAULT_DATABASE_URL


class CheckinsConfig(Section):
    interval: Duration = timedelta(days=1)
    grace: Duration = timedelta(hours=1)
    remind_before: Duration = timedelta(minutes=30)
    ack_timeout: Duration = timedelta(minutes=15)
    sweep_interval: Duration = timedelta(seconds=30)
    max_pause: Duration = timedelta(days=14)
    pause_reminder_before: Duration = timedelta(hours=1)


StepName = Literal["partners", "coordinators"]  # a step's audience (c2p_bot.core.escalation_steps)
DEFAULT_STEPS: tuple[str, ...] = ("partners", "coordinators")


def _step(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a text such as {EXAMPLE_STEP}")
    return str(parse_step(value))


class EscalationConfig(Section):
    # Each step: "partners" or "coordinators", optionally "by email" and "after 10m" (escalation_steps).
    steps: list[Annotated[str, BeforeValidator(_step)]] = Field(
        default_factory=lambda: list(DEFAULT_STEPS), min_length=1)
    repeat_every: Duration = timedelta(minutes=30)
    failover_after: Duration = timedelta(minutes=2)
    ack_expiry: Duration = timedelta(hours=2)

    @field_validator("steps")
    @classmethod
    def _a_chain(cls, steps: list[str]) -> list[str]:
        check_chain([parse_step(step) for step in steps])
        return steps

    @cached_property
    def chain(self) -> tuple[Step, ...]:
        """The steps, read (c2p_bot.core.escalation_steps)."""
        return tuple(parse_step(step) for step in self.steps)

    @property
    def by_email(self) -> bool:
        """Whether any step sends email."""
        return any(step.email for step in self.chain)


class CryptoConfig(Section):
    key_file: str | None = None


class RetentionConfig(Section):
    notes: Duration = timedelta(days=30)
    closed_alerts: Duration = timedelta(days=90)


class InvitesConfig(Section):
    ttl: Duration = timedelta(days=7)


_WEIGHTS = Weights()  # the defaults live with the scoring (matching.scoring.Weights)


class MatchingWeights(Section):
    """``[matching.weights]``: :class:`matching.scoring.Weights`, validated as configuration."""

    region_country: float = _WEIGHTS.region_country
    region_subregion: float = _WEIGHTS.region_subregion
    region_region: float = _WEIGHTS.region_region
    region_global: float = _WEIGHTS.region_global
    expertise: float = _WEIGHTS.expertise
    load_balance: float = _WEIGHTS.load_balance


class MatchingConfig(Section):
    expertise: list[str] = Field(default_factory=lambda: list(DEFAULT_EXPERTISE), min_length=1)
    offer_timeout: Duration = timedelta(days=3)
    candidates: int = Field(default=3, ge=1, le=20)
    weights: MatchingWeights = MatchingWeights()
    term: Duration = timedelta(days=365)  # a match's term; both sides are asked whether to renew
    renew_before: Duration = timedelta(days=30)  # ... this long before it ends
    contact_nudge: Duration = timedelta(days=30)  # both are nudged after this long without contact


class SecurityConfig(Section):
    coordinator_invites: Literal["open", "two-person"] = "open"


class PlansConfig(Section):
    """``[plans]``: emergency plans (c2p_bot.core.plans)."""

    review_every: Duration = timedelta(days=90)  # the HRD is asked to review their plan this often


class DetentionConfig(Section):
    """``[detention]``: the first-hours playbook every detention alert carries (c2p_bot.core.playbook);
    unset, the defaults, shown in each reader's language."""

    steps: list[Annotated[str, Field(min_length=1, max_length=300)]] | None = Field(default=None, max_length=15)


class DrillsConfig(Section):
    """``[drills]``: ``/drill`` (c2p_bot.core.drills)."""

    announce: bool = False  # tell the defender first that their alert chain is being tested
    ends_after: Duration = timedelta(hours=2)  # a drill ends by itself this long after it started


class ShutdownConfig(Section):
    """``[shutdown]``: coordinators are told of a possible connectivity shutdown when ``min_hrds``
    defenders of one country miss within ``window`` (c2p_bot.core.shutdown)."""

    min_hrds: int = Field(default=3, ge=1)
    window: Duration = timedelta(minutes=30)


class CoreSettings(Section):
    """Every section the core reads; :class:`c2p_bot.config.Config` extends it."""

    database: DatabaseConfig = DatabaseConfig()
    checkins: CheckinsConfig = CheckinsConfig()
    escalation: EscalationConfig = EscalationConfig()
    crypto: CryptoConfig = CryptoConfig()
    retention: RetentionConfig = RetentionConfig()
    invites: InvitesConfig = InvitesConfig()
    matching: MatchingConfig = MatchingConfig()
    security: SecurityConfig = SecurityConfig()
    plans: PlansConfig = PlansConfig()
    detention: DetentionConfig = DetentionConfig()
    drills: DrillsConfig = DrillsConfig()
    shutdown: ShutdownConfig = ShutdownConfig()

    def wait_after_step(self, index: int) -> timedelta:
        """How long the chain waits after step ``index`` before the next: that step's ``after``
        (``[checkins] ack_timeout`` when not said); after the last step, ``repeat_every``."""
        chain = self.escalation.chain
        if index + 1 >= len(chain):
            return self.escalation.repeat_every
        return chain[index + 1].after or self.checkins.ack_timeout

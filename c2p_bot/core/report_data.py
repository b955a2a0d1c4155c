"""The programme's figures over a period, for ``/report`` and ``c2p-bot report``.

Every figure is an aggregate; names appear only when asked for (``names=True``: per partner and
per defender). Definitions:

* *protected*: active defenders with at least one active partner now;
* *check-in adherence*: check-ins received in the period, and the share of them on time (before the
  deadline's grace ran out); *missed deadlines*: ``missed`` alerts raised in the period;
* *alerts*: raised in the period, by kind, by state and — when alerts record an outcome (a column
  ``outcome`` on ``alert``, issue 14) — by outcome, with the *false-alarm rate* (``false-alarm``
  among the alerts with an outcome); until then outcomes are "not recorded";
* *time to acknowledge*: overall, from the alert being raised to its (latest) acknowledgement; per
  step and per partner, from the moment the acknowledger was alerted (their step) to it — median
  and 90th percentile (nearest rank), in seconds;
* *drills*: alerts that are drills (kind or outcome ``drill``), kept out of the other alert figures;
* *partner actions*: audit entries ``partner_action`` (``detail`` holds ``kind=KIND``), by kind.

Sections whose feature records nothing yet are ``None`` ("none recorded"): they fill in by
themselves once drills, outcomes or partner actions exist.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from storage.models import Alert, AlertRecipient, AuditEntry, Checkin, Match, Person

DRILL = "drill"
FALSE_ALARM = "false-alarm"
ACTION = "partner_action"
_KIND = re.compile(r"\bkind=([a-z][a-z-]{0,40})\b")


@dataclass(frozen=True)
class Timing:
    """Seconds: how many, their median and 90th percentile."""

    count: int
    median: float
    p90: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing | None:
        if not seconds:
            return None
        ordered = sorted(seconds)
        return cls(len(ordered), statistics.median(ordered), ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)])


@dataclass
class Report:
    since: datetime
    until: datetime
    names: bool
    hrds_active: int = 0
    hrds_protected: int = 0
    partners_active: int = 0
    checkins: int = 0
    on_time: int = 0
    missed: int = 0
    alerts: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] | None = None  # None: this version records no outcomes
    ack_all: Timing | None = None
    ack_by_step: dict[str, Timing] = field(default_factory=dict)  # "1 partners"
    ack_by_kind: dict[str, Timing] = field(default_factory=dict)  # partner kind
    ack_by_partner: dict[str, Timing] = field(default_factory=dict)  # alias (names only)
    adherence_by_hrd: dict[str, tuple[int, int]] = field(default_factory=dict)  # alias: (on time, all)
    drills: int | None = None
    drill_ack: Timing | None = None
    actions: dict[str, int] | None = None

    @property
    def days(self) -> int:
        return max(round((self.until - self.since) / timedelta(days=1)), 0)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.checkins if self.checkins else None

    @property
    def false_alarm_rate(self) -> float | None:
        if not self.by_outcome:
            return None
        return self.by_outcome.get(FALSE_ALARM, 0) / sum(self.by_outcome.values())


def _outcome_column():  # type: ignore[no-untyped-def]
    """The alert's outcome column, once the schema has one (issue 14)."""
    return Alert.__table__.columns.get("outcome")  # type: ignore[attr-defined]


def build(session: Session, since: datetime, until: datetime, steps: Sequence[str], *, names: bool = False) -> Report:
    """The figures for alerts and check-ins in [since, until)."""
    report = Report(since, until, names)
    report.hrds_active = session.exec(select(func.count()).select_from(Person).where(
        Person.role == "hrd", Person.status == "active")).one()
    report.hrds_protected = session.exec(select(func.count(func.distinct(Match.hrd_id))).select_from(Match).join(
        Person, col(Person.id) == col(Match.hrd_id)).where(Match.status == "active", Person.status == "active")).one()
    report.partners_active = session.exec(select(func.count()).select_from(Person).where(
        Person.role == "partner", Person.status == "active")).one()
    _checkins(session, report)
    _alerts(session, report, steps)
    _actions(session, report)
    return report


def _aliases(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(pid): alias or f"#{pid}" for pid, alias in session.exec(
        select(Person.id, Person.alias).where(col(Person.id).in_(sorted(ids)))).all() if pid is not None}


def _checkins(session: Session, report: Report) -> None:
    window = and_(col(Checkin.received_at) >= report.since, col(Checkin.received_at) < report.until)
    rows = session.exec(select(Checkin.hrd_id, Checkin.on_time, func.count()).where(window).group_by(
        col(Checkin.hrd_id), col(Checkin.on_time))).all()
    per_hrd: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for hrd_id, on_time, count in rows:
        per_hrd[hrd_id][1] += count
        if on_time:
            per_hrd[hrd_id][0] += count
    report.checkins = sum(total for _on, total in per_hrd.values())
    report.on_time = sum(on for on, _total in per_hrd.values())
    if report.names:
        names = _aliases(session, set(per_hrd))
        report.adherence_by_hrd = {names.get(h, f"#{h}"): (v[0], v[1]) for h, v in sorted(
            per_hrd.items(), key=lambda item: names.get(item[0], "").casefold())}


def _alerts(session: Session, report: Report, steps: Sequence[str]) -> None:
    outcome = _outcome_column()
    table = Alert.__table__  # type: ignore[attr-defined]
    columns = [table.c[name] for name in ("id", "kind", "status", "raised_at", "acked_by", "acked_at")]
    rows = session.execute(sql_select(*columns, *([outcome] if outcome is not None else [])).where(
        table.c.raised_at >= report.since, table.c.raised_at < report.until).order_by(table.c.id)).all()
    alerts: list[Any] = []
    drills: list[Any] = []
    outcomes: Counter[str] = Counter()
    for row in rows:
        found = row[6] if outcome is not None else None
        (drills if DRILL in (row[1], found) else alerts).append(row)
        if found and DRILL not in (row[1], found):
            outcomes[found] += 1
    report.alerts = len(alerts)
    report.by_kind = dict(sorted(Counter(r[1] for r in alerts).items()))
    report.by_status = dict(sorted(Counter(r[2] for r in alerts).items()))
    report.missed = report.by_kind.get("missed", 0)
    report.by_outcome = dict(sorted(outcomes.items())) if outcomes else None
    acked = [r for r in alerts if r[4] is not None and r[5] is not None]
    report.ack_all = Timing.of([(r[5] - r[3]).total_seconds() for r in acked])
    if drills:
        report.drills = len(drills)
        report.drill_ack = Timing.of([(r[5] - r[3]).total_seconds() for r in drills if r[5] is not None])
    _ack_times(session, report, acked, steps)


def _ack_times(session: Session, report: Report, acked: list[Any], steps: Sequence[str]) -> None:
    """Per step and per partner: from the acknowledger being alerted to their acknowledgement."""
    if not acked:
        return
    notified = {(a, p): (step, at) for a, p, step, at in session.exec(select(
        AlertRecipient.alert_id, AlertRecipient.person_id, AlertRecipient.step, AlertRecipient.notified_at).where(
        col(AlertRecipient.alert_id).in_([r[0] for r in acked]))).all()}
    people = {pid: (role, kind, alias) for pid, role, kind, alias in session.exec(select(
        Person.id, Person.role, Person.kind, Person.alias).where(col(Person.id).in_({r[4] for r in acked}))).all()}
    by_step: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    by_partner: dict[str, list[float]] = defaultdict(list)
    for alert_id, _kind, _status, _raised, acker, acked_at, *_rest in acked:
        found = notified.get((alert_id, acker))
        if found is None:  # acknowledged before being alerted (a coordinator reading /alerts)
            continue
        step, at = found
        seconds = max((acked_at - at).total_seconds(), 0.0)
        by_step[f"{step + 1} {steps[step] if 0 <= step < len(steps) else 'step'}"].append(seconds)
        role, kind, alias = people.get(acker, ("", None, None))
        if role == "partner":
            by_kind[kind or "partner"].append(seconds)
            if report.names:
                by_partner[alias or f"#{acker}"].append(seconds)
    report.ack_by_step = {k: t for k, v in sorted(by_step.items()) if (t := Timing.of(v))}
    report.ack_by_kind = {k: t for k, v in sorted(by_kind.items()) if (t := Timing.of(v))}
    report.ack_by_partner = {k: t for k, v in sorted(by_partner.items(), key=lambda i: i[0].casefold())
                             if (t := Timing.of(v))}


def _actions(session: Session, report: Report) -> None:
    details = session.exec(select(AuditEntry.detail).where(
        AuditEntry.action == ACTION, col(AuditEntry.at) >= report.since, col(AuditEntry.at) < report.until)).all()
    if details:
        kinds = Counter((m.group(1) if (m := _KIND.search(d or "")) else "other") for d in details)
        report.actions = dict(sorted(kinds.items()))


NOT_RECORDED = "not recorded"
NONE_RECORDED = "none recorded"


def metrics(report: Report) -> list[tuple[str, str]]:
    """One (metric, value) per figure, for CSV; keys stay the same as features add figures."""
    out: list[tuple[str, str]] = [
        ("period.since", report.since.isoformat()), ("period.until", report.until.isoformat()),
        ("period.days", str(report.days)), ("hrds.active", str(report.hrds_active)),
        ("hrds.protected", str(report.hrds_protected)), ("partners.active", str(report.partners_active)),
        ("checkins.total", str(report.checkins)), ("checkins.on_time", str(report.on_time)),
        ("checkins.on_time_rate", _rate(report.on_time_rate)), ("checkins.missed_deadlines", str(report.missed)),
        ("alerts.total", str(report.alerts))]
    out += [(f"alerts.kind.{k}", str(n)) for k, n in report.by_kind.items()]
    out += [(f"alerts.status.{k}", str(n)) for k, n in report.by_status.items()]
    if report.by_outcome is None:
        out += [("alerts.outcome", NOT_RECORDED), ("alerts.false_alarm_rate", NOT_RECORDED)]
    else:
        out += [(f"alerts.outcome.{k}", str(n)) for k, n in report.by_outcome.items()]
        out.append(("alerts.false_alarm_rate", _rate(report.false_alarm_rate)))
    out += _timing("ack.all", report.ack_all)
    for step, timing in report.ack_by_step.items():
        out += _timing(f"ack.step.{step.replace(' ', '.')}", timing)
    for kind, timing in report.ack_by_kind.items():
        out += _timing(f"ack.partner_kind.{kind}", timing)
    for alias, timing in report.ack_by_partner.items():
        out += _timing(f"ack.partner.{alias}", timing)
    for alias, (on, total) in report.adherence_by_hrd.items():
        out += [(f"checkins.hrd.{alias}.total", str(total)),
                (f"checkins.hrd.{alias}.on_time_rate", _rate(on / total if total else None))]
    out.append(("drills.count", NONE_RECORDED if report.drills is None else str(report.drills)))
    if report.drills is not None:
        out += _timing("drills.ack", report.drill_ack)
    if report.actions is None:
        out.append(("actions.count", NONE_RECORDED))
    else:
        out.append(("actions.count", str(sum(report.actions.values()))))
        out += [(f"actions.kind.{k}", str(n)) for k, n in report.actions.items()]
    return out


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _timing(key: str, timing: Timing | None) -> list[tuple[str, str]]:
    if timing is None:
        return [(f"{key}.count", "0")]
    return [(f"{key}.count", str(timing.count)), (f"{key}.median_s", f"{timing.median:g}"),
            (f"{key}.p90_s", f"{timing.p90:g}")]

"""Scenario 10 — two bot processes on one PostgreSQL database, 1,000 HRDs whose deadlines fall in
the same minute. Pass: each alert raised exactly once, each alert message delivered once — also
when watched for longer than the dispatcher's lease after the last delivery, so a row re-sent after
a lost lease shows as a duplicate; both workers delivered a share; both exit 0 on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from c2p_bot.config import parse_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import load_or_create_key_file
from c2p_bot.core.dispatcher import LEASE
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from storage.models import Alert, CheckinClock, Identity, Match, OutboxMessage, Person
from tests.support.databases import fresh_postgres_url
from tests.support.report import figure

ROOT = Path(__file__).resolve().parents[2]


def populate(url: str, key_file: Path, hrds: int, partners: int, first_deadline_in: float) -> None:
    config = parse_config({"database": {"url": url}, "crypto": {"key_file": str(key_file)}}, env={})
    engine = make_engine(url)
    now = SystemClock().now()
    open_keyring(config, engine, now, env={})
    with Session(engine) as session:
        partner_rows = [Person(role="partner", kind="lawyer", status="active", alias=f"P{i}", created_at=now)
                        for i in range(partners)]
        hrd_rows = [Person(role="hrd", status="active", alias=f"H{i}", created_at=now) for i in range(hrds)]
        session.add_all(partner_rows + hrd_rows)
        session.flush()
        for person in partner_rows + hrd_rows:
            session.add(Identity(person_id=person.id or 0, platform="memory", platform_user_id=person.alias or "",
                                 chat_id=person.alias or "", created_at=now))
        for index, hrd in enumerate(hrd_rows):
            session.add(Match(hrd_id=hrd.id or 0, partner_id=partner_rows[index % partners].id or 0,
                              status="active", created_at=now))
            due = now + timedelta(seconds=first_deadline_in + (index % 20))  # all within one minute
            session.add(CheckinClock(person_id=hrd.id or 0, next_due=due, alert_at=due, grace_s=0))
        session.commit()
    engine.dispose()


def deliveries(outs: list[Path]) -> list[list[dict[str, object]]]:
    """Each worker's deliveries so far (complete lines only: a worker may be mid-write)."""
    per_worker = []
    for out in outs:
        text = out.read_text(encoding="utf-8") if out.exists() else ""
        per_worker.append([json.loads(line) for line in text.split("\n")[:-1] if line])
    return per_worker


def alert_keys(rows: list[dict[str, object]]) -> list[str]:
    """The alert numbers delivered, once per message that carried them (digests carry several)."""
    return [str(number) for row in rows for number in row.get("alerts") or []]  # type: ignore[attr-defined]


def message_keys(rows: list[dict[str, object]]) -> list[str]:
    return [str(row["key"]) for row in rows]


@pytest.mark.postgres
def test_two_processes_one_database_each_alert_once(postgres: object, tmp_path: Path, full: bool) -> None:
    hrds = 1000
    url, _name = fresh_postgres_url(postgres)  # type: ignore[arg-type]
    from storage.migrate import upgrade

    upgrade(make_engine(url))
    key_file = tmp_path / "kek.key"
    load_or_create_key_file(key_file, create=True)
    populate(url, key_file, hrds, partners=20, first_deadline_in=8)
    outs = [tmp_path / f"worker{i}.jsonl" for i in range(2)]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = []
    for out, log in zip(outs, logs, strict=True):
        with log.open("wb") as sink:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.worker", "--database", url, "--key-file", str(key_file),
                 "--out", str(out), "--seconds", "600"], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT))
    engine = make_engine(url)
    lease = LEASE.total_seconds()
    all_delivered_at: float | None = None
    exit_codes: list[int | None] = [None, None]
    stop_s: list[float] = [0.0, 0.0]
    try:
        deadline = time.monotonic() + 90
        while all_delivered_at is None:  # until every alert is out ...
            assert time.monotonic() < deadline, (
                f"only {len(set(alert_keys(sum(deliveries(outs), []))))} of {hrds} alerts delivered in 90 s")
            assert all(w.poll() is None for w in workers), "a worker died: " + " | ".join(
                log.read_text(errors="replace")[-2000:] for log in logs)
            if len(set(alert_keys(sum(deliveries(outs), [])))) >= hrds:
                all_delivered_at = time.monotonic()
            time.sleep(0.5)
        # ... and then longer than the dispatcher's lease: a row whose lease ran out (claimed by
        # one worker, sent, not marked delivered in time) would be re-sent by the other now.
        while time.monotonic() < all_delivered_at + lease + 10:
            assert all(w.poll() is None for w in workers), "a worker died: " + " | ".join(
                log.read_text(errors="replace")[-2000:] for log in logs)
            time.sleep(1)
        for worker in workers:  # an orderly stop, as a supervisor does it
            worker.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        for index, worker in enumerate(workers):
            with contextlib.suppress(subprocess.TimeoutExpired):
                exit_codes[index] = worker.wait(timeout=max(0.1, sent + 10 - time.monotonic()))
            stop_s[index] = time.monotonic() - sent
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    per_worker_rows = deliveries(outs)
    with Session(engine) as session:
        raised = session.exec(select(func.count()).select_from(Alert)).one()
        per_hrd = session.exec(select(Alert.hrd_id, func.count()).group_by(Alert.hrd_id)).all()
        unmarked = session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.alert_id).is_not(None), col(OutboxMessage.delivered_at).is_(None),
            col(OutboxMessage.failed_at).is_(None))).one()
    engine.dispose()
    keys = alert_keys(sum(per_worker_rows, []))
    per_worker = [len(alert_keys(rows)) for rows in per_worker_rows]
    messages = message_keys(sum(per_worker_rows, []))
    figure("multi-worker", hrds=hrds, alerts_raised=raised, delivered=len(keys),
           duplicates=len(keys) - len(set(keys)), messages=len(messages),
           duplicate_messages=len(messages) - len(set(messages)), per_worker=per_worker,
           watched_after_last_s=f"{lease + 10:.0f}", exit_codes=exit_codes,
           stop_s=[f"{s:.1f}" for s in stop_s], unmarked_rows=unmarked)
    assert raised == hrds and all(count == 1 for _hrd, count in per_hrd)
    assert len(set(keys)) == hrds, "an alert message was never delivered"
    assert len(keys) == hrds, f"{len(keys) - len(set(keys))} alerts delivered twice"
    assert len(messages) == len(set(messages)), "a message (same idempotency key) was delivered twice"
    assert unmarked == 0, f"{unmarked} outbox rows still not marked delivered (each would be sent again)"
    # Both workers shared the work: each delivered at least a tenth of the alerts.
    assert min(per_worker) >= hrds // 10, f"one worker did (almost) nothing: {per_worker}"
    assert exit_codes == [0, 0], f"workers exited {exit_codes} after SIGTERM (want 0, 0 within 10 s): " + \
        " | ".join(log.read_text(errors="replace")[-2000:] for log in logs)

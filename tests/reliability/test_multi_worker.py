"""Scenario 10 — two bot processes on one PostgreSQL database, 1,000 HRDs whose deadlines fall in
the same minute. Pass: each alert raised exactly once, and each alert message delivered once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from c2p_bot.config import parse_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import load_or_create_key_file
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from storage.models import Alert, CheckinClock, Identity, Match, Person
from tests.conftest import _fresh_postgres_url
from tests.reliability.report import figure

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


@pytest.mark.postgres
def test_two_processes_one_database_each_alert_once(postgres: object, tmp_path: Path, full: bool) -> None:
    hrds = 1000
    url, _name = _fresh_postgres_url(postgres)  # type: ignore[arg-type]
    from storage.migrate import upgrade

    upgrade(make_engine(url))
    key_file = tmp_path / "kek.key"
    load_or_create_key_file(key_file, create=True)
    populate(url, key_file, hrds, partners=20, first_deadline_in=8)
    outs = [tmp_path / f"worker{i}.jsonl" for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-m", "tests.reliability.worker", "--database", url,
                                 "--key-file", str(key_file), "--out", str(out), "--seconds", "75"], cwd=ROOT)
               for out in outs]
    engine = make_engine(url)
    deadline = time.monotonic() + 90
    delivered: list[str] = []
    try:
        while time.monotonic() < deadline:
            delivered = [json.loads(line)["key"] for out in outs if out.exists()
                         for line in out.read_text().splitlines()]
            if len([k for k in delivered if k.startswith("alert:")]) >= hrds:
                break
            time.sleep(1)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    with Session(engine) as session:
        raised = session.exec(select(func.count()).select_from(Alert)).one()
        per_hrd = session.exec(select(Alert.hrd_id, func.count()).group_by(Alert.hrd_id)).all()
    engine.dispose()
    alert_keys = [k for k in delivered if k.startswith("alert:")]
    per_worker = [sum(1 for line in out.read_text().splitlines() if '"alert:' in line) if out.exists() else 0
                  for out in outs]
    figure("multi-worker", hrds=hrds, alerts_raised=raised, delivered=len(alert_keys),
           duplicates=len(alert_keys) - len(set(alert_keys)), per_worker=per_worker)
    assert raised == hrds and all(count == 1 for _hrd, count in per_hrd)
    assert len(set(alert_keys)) == hrds and len(alert_keys) == hrds

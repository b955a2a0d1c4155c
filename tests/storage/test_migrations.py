"""Migrations: a database with data upgrades intact, and the models agree with the migrated schema."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel

from storage.engine import make_engine
from storage.migrate import MigrationError, upgrade
from tests.support.postgres import PostgresServer

BEFORE = "0002"  # the revision before ids were made never-reused
AFTER = "0003"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database with no schema at all (the usual fixtures hand out migrated ones)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    server: PostgresServer | str = request.getfixturevalue("postgres")
    base = server if isinstance(server, str) else server.url
    name = "m_" + secrets.token_hex(6)
    admin = make_engine(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(base.rsplit("/", 1)[0] + "/" + name)
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _old_tables(engine: Engine) -> dict[str, Table]:
    """The tables as they are at the old revision (today's models may have more columns)."""
    metadata = MetaData()
    metadata.reflect(engine)
    return dict(metadata.tables)


def _add(connection: Connection, table: Table, **values: Any) -> int:
    """Insert a row the way the bot does (the database picks the id); return its id."""
    result = connection.execute(insert(table).values(**values).returning(*table.primary_key.columns))
    return int(result.scalar_one())


def _populate(engine: Engine) -> dict[str, int]:
    """A small programme at the old revision: people, a match, alerts, notes, outbox, audit."""
    ids: dict[str, int] = {}
    t = _old_tables(engine)
    Person, Identity, Invite, Match, Proposal = (t[n] for n in ("person", "identity", "invite", "match",
                                                                  "proposal"))
    Checkin, Alert, AlertRecipient, OutboxMessage = (t[n] for n in ("checkin", "alert", "alert_recipient",
                                                                    "outbox"))
    Note, NoteCopy, SeenEvent = t["note"], t["note_copy"], t["seen_event"]
    with engine.begin() as c:
        ids["cora"] = _add(c, Person, role="coordinator", status="active", alias="Cora", ui_language="en",
                           timezone="UTC", languages="", expertise="", wants="", regions="", capacity=0,
                           available=True, created_at=NOW, key_mode="custodial",
                           transport_warning_sent=False, public_key=b"\x01" * 32)
        ids["amina"] = _add(c, Person, role="hrd", status="active", alias="Amina", ui_language="en",
                            timezone="Africa/Nairobi", country="KE", languages="en,sw",
                            expertise="land-rights", wants="lawyer", regions="", capacity=0,
                            available=True, created_at=NOW, key_mode="custodial",
                            transport_warning_sent=False, pin_hash=b"$argon2id$x")
        ids["paul"] = _add(c, Person, role="partner", kind="lawyer", status="active", alias="Paul",
                           ui_language="en", timezone="UTC", languages="en", expertise="land-rights",
                           wants="", regions="KE", capacity=3, available=True, created_at=NOW,
                           key_mode="custodial", transport_warning_sent=False)
        for who in ("cora", "amina", "paul"):
            ids[f"identity:{who}"] = _add(c, Identity, person_id=ids[who], platform="telegram",
                                          platform_user_id=who, chat_id=who, created_at=NOW)
        ids["invite"] = _add(c, Invite, code_hash="ab" * 32, role="hrd", created_at=NOW,
                             expires_at=NOW + timedelta(days=7), used_at=NOW, issued_by=ids["cora"])
        c.execute(insert(t["checkin_clock"]).values(
            person_id=ids["amina"], schedule_kind="every", interval_s=86400, daily_times="",
            timezone="UTC", grace_s=3600, state="alerting", next_due=NOW, alert_at=None,
            wrong_pins=0))
        c.execute(insert(t["conversation"]).values(
            person_id=ids["paul"], flow="pin", step="ask", data="{}", updated_at=NOW))
        ids["match"] = _add(c, Match, hrd_id=ids["amina"], partner_id=ids["paul"], status="active",
                            created_at=NOW)
        ids["proposal"] = _add(c, Proposal, hrd_id=ids["amina"], partner_id=ids["paul"], kind="lawyer",
                               score=0.5, explanation="", origin="engine", status="accepted",
                               created_at=NOW)
        ids["checkin"] = _add(c, Checkin, hrd_id=ids["amina"], sent_at=NOW, received_at=NOW, on_time=True)
        for number in range(1, 5):
            alert = _add(c, Alert, hrd_id=ids["amina"], kind="panic", status="open", raised_at=NOW,
                         step=0, repeats=0)
            ids[f"alert{number}"] = alert
            c.execute(insert(t["audit_log"]).values(at=NOW, action="alert_raised",
                                                          subject=f"alert:{alert}"))
            _add(c, AlertRecipient, alert_id=alert, person_id=ids["paul"], step=0, notified_at=NOW)
            _add(c, OutboxMessage, idempotency_key=f"alert:{alert}:to:{ids['cora']}:r0",
                 platform="telegram", chat_id="cora", person_id=ids["cora"],
                 identity_id=ids["identity:cora"], priority=0, kind="alert", body=b"sealed",
                 buttons="[]", sensitive=False, alert_id=alert, created_at=NOW, next_attempt_at=NOW,
                 attempts=0)
        ids["note"] = _add(c, Note, subject_id=ids["amina"], author_id=ids["amina"], kind="panic",
                           alert_id=ids["alert1"], checkin_id=ids["checkin"], created_at=NOW)
        ids["note_copy"] = _add(c, NoteCopy, note_id=ids["note"], reader_id=ids["paul"],
                                ciphertext=b"\x00" * 48)
        _add(c, SeenEvent, platform="telegram", event_key="u:1", seen_at=NOW)
        c.execute(insert(t["secret"]).values(name="kek-check", blob=b"v", updated_at=NOW))
        # Alert 4 is gone already (its HRD's data was erased, say); the audit log and the
        # coordinator's outbox row still carry its number.
        c.execute(delete(Alert).where(Alert.c.id == ids["alert4"]))
    return ids


def _snapshot(engine: Engine, tables: dict[str, Table],
              dropped: frozenset[str] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables`` (the old revision's columns only, less ``dropped`` ones as
    ``table.column``: columns a later revision removed on purpose)."""
    with engine.connect() as c:
        return {name: [tuple(row) for row in c.execute(
                    select(*[col for col in table.columns if f"{name}.{col.name}" not in dropped])
                    .order_by(*table.primary_key.columns))]
                for name, table in tables.items() if name != "alembic_version"}


DROPPED_SINCE = frozenset({"person.transport_warning_sent"})  # migration 0007


def _sqlite_schema(engine: Engine) -> dict[str, Any]:
    """Everything about the SQLite schema except the tables' own text (which gains AUTOINCREMENT)."""
    with engine.connect() as c:
        tables = [row[0] for row in c.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {
            "tables": sorted(tables),
            "indexes": sorted(tuple(row) for row in c.exec_driver_sql(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'")),
            "triggers": sorted(tuple(row) for row in c.exec_driver_sql(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")),
            "foreign_keys": {t: sorted(tuple(row) for row in c.exec_driver_sql(
                f'PRAGMA foreign_key_list("{t}")')) for t in tables},
            "columns": {t: [tuple(row) for row in c.exec_driver_sql(f'PRAGMA table_info("{t}")')]
                        for t in tables},
        }


def _new_alert(engine: Engine, alert: Table, hrd: int) -> int:
    with engine.begin() as c:
        return _add(c, alert, hrd_id=hrd, kind="panic", status="open", raised_at=NOW, step=0, repeats=0)


def test_upgrade_keeps_every_row_and_ids_are_never_reused_afterwards(blank_engine: Engine) -> None:
    engine = blank_engine
    upgrade(engine, BEFORE)
    ids = _populate(engine)
    old = _old_tables(engine)
    rows = _snapshot(engine, old)
    schema = _sqlite_schema(engine) if engine.dialect.name == "sqlite" else None

    upgrade(engine, AFTER)
    assert _snapshot(engine, old) == rows
    if schema is not None:
        assert _sqlite_schema(engine) == schema  # columns, indexes, triggers, foreign keys
    kept = _snapshot(engine, old, DROPPED_SINCE)
    upgrade(engine)  # and on to the newest revision
    assert _snapshot(engine, old, DROPPED_SINCE) == kept
    if schema is not None:
        with engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []

    # Alert 4 was deleted before the upgrade, alert 5 after: neither number comes back.
    new = _old_tables(engine)  # the tables as they are now
    alert, person, audit = new["alert"], new["person"], new["audit_log"]
    fifth = _new_alert(engine, alert, ids["amina"])
    assert fifth == ids["alert4"] + 1
    with engine.begin() as c:
        c.execute(delete(alert).where(alert.c.id == fifth))
    assert _new_alert(engine, alert, ids["amina"]) == fifth + 1
    # Same for people: the newest person erased, the next one gets a new number.
    with engine.begin() as c:
        c.execute(delete(person).where(person.c.id == ids["paul"]))
        newcomer = _add(c, person, role="hrd", status="onboarding", ui_language="en", timezone="UTC",
                        languages="", expertise="", wants="", regions="", capacity=0, available=True,
                        created_at=NOW, key_mode="custodial")
    assert newcomer == ids["paul"] + 1
    # The audit log is still append-only, and foreign keys still cascade.
    for statement in (update(audit).values(detail="x"), delete(audit)):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as c:
            c.execute(statement)
    with engine.begin() as c:
        c.execute(delete(person).where(person.c.id == ids["amina"]))
    with engine.connect() as c:
        for name, column in (("alert", "hrd_id"), ("note", "subject_id"), ("note_copy", "note_id"),
                             ("match", "hrd_id"), ("checkin", "hrd_id"), ("checkin_clock", "person_id"),
                             ("alert_recipient", "alert_id")):
            assert c.execute(select(old[name].c[column])).fetchall() == [], name


def test_upgrade_twice_is_harmless(blank_engine: Engine) -> None:
    upgrade(blank_engine, BEFORE)
    _populate(blank_engine)
    old = _old_tables(blank_engine)
    upgrade(blank_engine)
    rows = _snapshot(blank_engine, old, DROPPED_SINCE)
    upgrade(blank_engine)
    assert _snapshot(blank_engine, old, DROPPED_SINCE) == rows


def test_broken_foreign_keys_roll_the_upgrade_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'broken.db'}")
    upgrade(engine, BEFORE)
    ids = _populate(engine)
    old = _old_tables(engine)
    with engine.connect() as c:  # an orphan, as an old bug or a hand edit could leave
        c.exec_driver_sql("PRAGMA foreign_keys=OFF")
        c.execute(update(old["alert"]).where(old["alert"].c.id == ids["alert1"]).values(hrd_id=999))
        c.commit()
        c.exec_driver_sql("PRAGMA foreign_keys=ON")
    rows = _snapshot(engine, old)
    with pytest.raises(MigrationError, match=r"rows break foreign keys in alert"):
        upgrade(engine)
    with engine.connect() as c:
        assert MigrationContext.configure(c).get_current_revision() == BEFORE
    assert _snapshot(engine, old) == rows
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        sql = c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'alert'").scalar_one()
        assert "AUTOINCREMENT" not in sql
        assert c.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name LIKE '_0003_%'"
                                 ).scalar_one() == 0
    engine.dispose()


def test_models_and_migrated_schema_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as c:
        differences = compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
        assert differences == []
        if engine.dialect.name == "sqlite":  # autogenerate does not look at AUTOINCREMENT
            for table in SQLModel.metadata.sorted_tables:
                sql = c.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                        (table.name,)).scalar_one()
                wanted = bool(table.dialect_kwargs.get("sqlite_autoincrement"))
                assert ("AUTOINCREMENT" in sql) == wanted, table.name
    engine.dispose()

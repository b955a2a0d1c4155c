"""insert_many stores exactly what SQLAlchemy's own insert stores, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from storage.bulk import insert_many, one_of, table_of
from storage.engine import make_engine
from storage.models import AuditEntry, OutboxMessage

NAIROBI = timezone(timedelta(hours=3))


def outbox_rows(prefix: str) -> list[dict[str, Any]]:
    moment = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=NAIROBI)  # stored as 2026-03-28 22:30:15 UTC
    return [
        {"idempotency_key": f"{prefix}:{i}", "platform": "memory", "chat_id": f"chat-{i}", "person_id": None,
         "identity_id": i if i % 2 else None, "body": bytes([i % 256]) * (i + 1), "sensitive": bool(i % 3),
         "alert_id": None, "created_at": moment + timedelta(seconds=i % 4), "next_attempt_at": moment.astimezone(UTC)}
        for i in range(40)
    ]


def raw(engine: Any, prefix: str) -> list[tuple[Any, ...]]:
    """The stored values as the driver returns them (text on SQLite), key prefix stripped."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT idempotency_key, platform, chat_id, person_id, identity_id, priority, kind, body, buttons, "
            "sensitive, alert_id, created_at, next_attempt_at, attempts, delivered_at FROM outbox "
            "WHERE idempotency_key LIKE :p ORDER BY id"), {"p": prefix + ":%"}).all()
    return [(row[0].split(":", 1)[1], *[bytes(v) if isinstance(v, memoryview) else v for v in row[1:]])
            for row in rows]


def test_same_stored_values_as_sqlalchemy_insert(db_url: str) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.execute(insert(OutboxMessage), outbox_rows("orm"))
        insert_many(session.connection(), table_of(OutboxMessage), outbox_rows("fast"))
        session.commit()
    fast, orm = raw(engine, "fast"), raw(engine, "orm")
    assert len(fast) == 40
    assert fast == orm  # omitted columns got their defaults; datetimes converted alike
    with Session(engine) as session:
        first = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == "fast:1")).one()
    assert first.created_at == datetime(2026, 3, 28, 22, 30, 16, 123456, tzinfo=UTC)
    assert (first.priority, first.kind, first.buttons, first.attempts) == (40, "reply", "[]", 0)
    assert first.body == b"\x01\x01" and first.sensitive is True


def test_rows_must_have_the_same_columns_and_nothing_is_written(db_url: str) -> None:
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    good = {"at": now, "action": "a", "subject": "s", "detail": "d"}
    with Session(engine) as session:
        with pytest.raises(ValueError, match="same columns"):
            insert_many(session.connection(), table_of(AuditEntry), [good, {"at": now, "action": "a"}])
        with pytest.raises(ValueError, match="same columns"):
            insert_many(session.connection(), table_of(AuditEntry),
                        [good, {"at": now, "action": "a", "subject": "s", "actor_id": 1}])
        with pytest.raises(ValueError, match="no column"):
            insert_many(session.connection(), table_of(AuditEntry), [{**good, "secret": "x"}])
        with pytest.raises(ValueError, match="naive"):
            insert_many(session.connection(), table_of(AuditEntry), [good, {**good, "at": now.replace(tzinfo=None)}])
        session.commit()
        assert session.exec(select(AuditEntry).where(col(AuditEntry.action) == "a")).all() == []


def test_empty_batch_is_a_no_op(db_url: str) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        insert_many(session.connection(), table_of(AuditEntry), [])
        session.commit()
        assert session.exec(select(AuditEntry)).all() == []


def test_one_of_selects_what_in_selects(db_url: str) -> None:
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        insert_many(session.connection(), table_of(AuditEntry),
                    [{"at": now, "action": "x", "subject": f"s{i}", "detail": None} for i in range(1200)])
        session.commit()
        ids = list(session.exec(select(AuditEntry.id).order_by(col(AuditEntry.id))).all())
        wanted = [i for i in ids if i is not None and i % 3 == 0] + [10_000_000]  # and one that does not exist
        dialect = session.get_bind().dialect
        found = session.exec(select(AuditEntry.id).where(one_of(AuditEntry.id, wanted, dialect))).all()
        expected = session.exec(select(AuditEntry.id).where(col(AuditEntry.id).in_(wanted))).all()
        assert sorted(found) == sorted(expected) and len(found) == 400
        assert session.exec(select(AuditEntry.id).where(one_of(AuditEntry.id, [], dialect))).all() == []


def test_none_goes_through_the_column_type_like_sqlalchemy(db_url: str) -> None:
    """A type may store None as a value (JSON stores the text 'null'); insert_many does the same."""
    from sqlalchemy import JSON, Column, Integer, MetaData, String, Table

    probe = Table("bulk_none_probe", MetaData(), Column("id", Integer, primary_key=True),
                  Column("tag", String(8)), Column("doc", JSON(none_as_null=False)))
    engine = make_engine(db_url)
    probe.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(probe), [{"tag": "orm", "doc": None}, {"tag": "orm", "doc": {"a": 1}}])
        insert_many(connection, probe, [{"tag": "fast", "doc": None}, {"tag": "fast", "doc": {"a": 1}}])
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT tag, CAST(doc AS TEXT) FROM bulk_none_probe ORDER BY id")).all()
    assert [doc for tag, doc in stored if tag == "fast"] == [doc for tag, doc in stored if tag == "orm"]
    assert stored[0][1] == "null"

"""Many-row INSERTs for hot paths (the sweeper raising a burst of alerts).

``session.execute(insert(Model), rows)`` runs every value of every row through SQLAlchemy's
parameter machinery (ORM bulk persistence, then one ``construct_params`` and one bind processor
call per value). For a burst of alerts that per-row work costs more than the database itself.
:func:`insert_many` compiles the statement once per table and dialect, converts each column's
values with that column's own bind processor (once per distinct value: a batch shares a handful
of timestamps), and hands plain tuples to the driver's ``executemany`` in the caller's
transaction. The stored values are exactly what SQLAlchemy would store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, Table, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.elements import ColumnElement

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@dataclass(frozen=True)
class _Plan:
    sql: str
    copy: str  # PostgreSQL: COPY ... FROM STDIN
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: tuple[tuple[str, Any], ...]  # scalar Python-side defaults of omitted columns


_plans: dict[tuple[str, str, str, tuple[str, ...]], _Plan] = {}


def _plan(table: Table, dialect: Dialect, given: tuple[str, ...]) -> _Plan:
    key = (table.fullname, dialect.name, dialect.driver, given)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:
        raise NotImplementedError(f"insert_many: paramstyle {dialect.paramstyle!r}")
    unknown = set(given) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"insert_many: {table.name} has no column(s) {sorted(unknown)}")
    defaults: list[tuple[str, Any]] = []
    for column in table.columns:
        if column.name in given or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"insert_many: give {table.name}.{column.name} (its default is computed per row)")
        defaults.append((column.name, column.default.arg))  # type: ignore[attr-defined]
    columns = given + tuple(name for name, _value in defaults)
    processors = tuple(table.columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)
    quote = dialect.identifier_preparer.quote
    # Names come from the table's own metadata (checked above) and are quoted by the dialect.
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join(placeholder for _ in columns)
    target = dialect.identifier_preparer.format_table(table)
    sql = f"INSERT INTO {target} ({names}) VALUES ({marks})"  # noqa: S608
    copy = f"COPY {target} ({names}) FROM STDIN"
    plan = _plans[key] = _Plan(sql, copy, columns, processors, tuple(defaults))
    return plan


def one_of(column: Any, ids: Sequence[int], dialect: Dialect) -> ColumnElement[bool]:
    """``column IN ids`` for hundreds of integer ids, bound as one parameter.

    SQLAlchemy's ``in_()`` renders and binds one placeholder per id on every execution, which
    costs more than the query for a batch of 500. Here the ids travel as one JSON text
    (SQLite: ``IN (SELECT value FROM json_each(?))``) or one array (PostgreSQL: ``= ANY(?)``).
    """
    values = [int(value) for value in ids]
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(Integer)))  # type: ignore[no-any-return]
    each = func.json_each(bindparam(None, json.dumps(values), type_=String)).table_valued("value")
    return column.in_(select(each.c.value))  # type: ignore[no-any-return]


def table_of(model: type[Any]) -> Table:
    """The Core table of a SQLModel table class."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError("table is not a Table")
    return table


def insert_many(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (mappings with the same keys) into ``table``: one ``COPY`` on PostgreSQL
    with psycopg 3, else one ``executemany``; in the connection's transaction."""
    if not rows:
        return
    given = tuple(rows[0].keys())
    plan = _plan(table, connection.dialect, given)
    default_values = tuple(value for _name, value in plan.defaults)
    if any(len(row) != len(given) for row in rows):
        raise ValueError(f"insert_many: rows for {table.name} must all have the same columns")
    try:
        matrix: list[list[Any]] = [[row[name] for name in given] for row in rows]
    except KeyError:
        raise ValueError(f"insert_many: rows for {table.name} must all have the same columns") from None
    for index, process in enumerate(plan.processors[:len(given)]):
        if process is None:
            continue
        seen: dict[Any, Any] = {}
        for values in matrix:
            value = values[index]  # None too: a type may store None as something else (JSON: 'null')
            try:
                converted = seen[value]
            except KeyError:
                converted = seen[value] = process(value)
            except TypeError:  # unhashable
                converted = process(value)
            values[index] = converted
    if default_values:
        processed_defaults = [value if process is None else process(value)
                              for value, process in zip(default_values, plan.processors[len(given):], strict=True)]
        for values in matrix:
            values.extend(processed_defaults)
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        # COPY: one stream instead of one Bind/Execute per row (5-10x faster for a batch).
        driver = connection.connection.driver_connection
        if driver is None:
            raise RuntimeError("the database connection has no driver connection")
        with driver.cursor() as cursor, cursor.copy(plan.copy) as copy:
            for values in matrix:
                copy.write_row(values)
        return
    connection.exec_driver_sql(plan.sql, [tuple(values) for values in matrix])

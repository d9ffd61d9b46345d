"""Saving many rows at once: one prepared ``UPDATE`` or ``INSERT`` run for every row.

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` expression per field over the
whole batch, which costs more to build than the database takes to run it when thousands of
rows carry JSON (an account summary on every task). A single parametrised statement executed
for each row (``executemany``) does the same in a fraction of the time on SQLite and PostgreSQL.
The same holds for inserting thousands of rows: ``bulk_create`` assembles a statement with a
placeholder per value, where one prepared ``INSERT`` executed per row costs far less.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.constants import OnConflict


def save_fields(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of every object (all of one model, already saved) to its row."""
    if not objects:
        return
    meta = type(objects[0])._meta
    columns: list[Field[Any, Any]] = []
    for name in fields:
        column = meta.get_field(name)
        assert isinstance(column, Field)
        columns.append(column)
    assert meta.pk is not None
    connection = connections[router.db_for_write(type(objects[0]))]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(column.column))} = %s" for column in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(str(meta.pk.column))} = %s"
    rows = [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for column in columns]
        + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_new(objects: Sequence[Model], *, ignore_conflicts: bool = False) -> None:
    """INSERT unsaved objects (all of one model) with one prepared statement run for every
    row, as ``bulk_create`` would store them, but without building a multi-row statement of
    thousands of placeholders. Their primary keys are not read back; with ``ignore_conflicts``
    rows that would break a unique constraint are skipped."""
    if not objects:
        return
    model = type(objects[0])
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    connection = connections[router.db_for_write(model)]
    sql = insert_statement(connection, model, fields, ignore_conflicts=ignore_conflicts)
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_statement(
    connection: BaseDatabaseWrapper,
    model: type[Model],
    fields: Sequence[Field[Any, Any]],
    *,
    ignore_conflicts: bool = False,
    placeholders: Sequence[str] | None = None,
) -> str:
    """``INSERT`` of one row of ``fields`` of ``model`` (``placeholders`` default ``%s``
    each), skipping a row that would break a unique constraint when ``ignore_conflicts``."""
    ops = connection.ops
    quote = ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    return " ".join(
        part
        for part in (
            ops.insert_statement(on_conflict=on_conflict),
            quote(model._meta.db_table),
            "({})".format(", ".join(quote(str(field.column)) for field in fields)),
            "VALUES ({})".format(", ".join(placeholders or ["%s"] * len(fields))),
            ops.on_conflict_suffix_sql(fields, on_conflict, None, None),
        )
        if part
    )


def insert_rows(
    model: type[Model], names: Sequence[str], rows: Sequence[Sequence[Any]], batch: int = 5000
) -> None:
    """INSERT ``rows``, each the values of the fields ``names`` in order, already as the
    database takes them (dates adapted by the backend's operations), with one prepared
    statement executed for each row, ``batch`` rows per ``executemany``: for millions of rows
    of values at hand, without a model instance each."""
    connection = connections[router.db_for_write(model)]
    fields: list[Field[Any, Any]] = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)
        fields.append(field)
    sql = insert_statement(connection, model, fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            cursor.executemany(sql, rows[start : start + batch])

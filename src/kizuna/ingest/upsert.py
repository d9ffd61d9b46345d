"""Insert-or-update by key, writing only what changed (a re-import of the same file is a no-op).

Each row to write carries its key (an external id, or a natural key such as account and day)
and its field values. Existing rows are fetched batch by batch with one query per batch, new
rows are bulk-inserted and changed rows bulk-updated; an unchanged row is not touched at all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from kizuna.ingest.context import fields_by_attname
from kizuna.ingest.report import FileReport

# Rows per round trip: bounded so that a batch's ``IN`` lists stay well inside the SQLite and
# PostgreSQL limits on query parameters.
BATCH_ROWS = 2000

Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class Write:
    line: int
    key: Key
    fields: dict[str, Any]
    """Model field attribute names (``account_id``, not ``account``) to values."""
    on_create: dict[str, Any] | None = None
    """Values set only when the row is new (a generated title); an existing row keeps its own."""


def upsert(
    model: type[models.Model],
    key_fields: Sequence[str],
    writes: Sequence[Write],
    report: FileReport,
    *,
    scope: models.Q | None = None,
    defaults: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    want_pks: bool = True,
) -> dict[Key, int]:
    """Write ``writes``; returns the primary key of every written key.

    ``key_fields`` are attribute names whose values form each write's ``key``; ``scope``
    narrows which existing rows may match (e.g. only rows with an external id). ``defaults``
    fill fields of new rows that a write leaves out; existing rows keep their values there.
    Without ``want_pks`` new rows are inserted with one prepared statement and no model
    instances (the fast path for daily usage), and the result holds existing rows only.
    """
    pks: dict[Key, int] = {}
    for start in range(0, len(writes), BATCH_ROWS):
        batch = writes[start : start + BATCH_ROWS]
        existing = _existing(model, key_fields, batch, scope)
        new: list[models.Model] = []
        new_keys: list[Key] = []
        new_rows: list[dict[str, Any]] = []
        changed: list[models.Model] = []
        changed_fields: set[str] = set()
        for write in batch:
            current = existing.get(write.key)
            if current is None:
                values = (defaults or {}) | dict(zip(key_fields, write.key, strict=True))
                values |= (write.on_create or {}) | write.fields
                if want_pks:
                    new.append(model(**values))
                    new_keys.append(write.key)
                else:
                    new_rows.append(values)
                continue
            pks[write.key] = current["pk"]
            differing = [name for name, value in write.fields.items() if current[name] != value]
            if not differing:
                report.unchanged += 1
                continue
            instance = model(pk=current["pk"])
            for name in differing:
                setattr(instance, name, write.fields[name])
            changed.append(instance)
            changed_fields.update(differing)
        if new:
            model._default_manager.bulk_create(new, batch_size=500)
            for key, instance in zip(new_keys, new, strict=True):
                assert instance.pk is not None
                pks[key] = instance.pk
            report.created += len(new)
        if new_rows:
            _insert(model, new_rows)
            report.created += len(new_rows)
        if changed:
            model._default_manager.bulk_update(changed, sorted(changed_fields), batch_size=200)
            report.updated += len(changed)
        if progress is not None:
            progress(start + len(batch), len(writes))
    return pks


def _insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows with one prepared statement; every row has the same fields."""
    names = list(rows[0])
    fields = fields_by_attname(model)
    adapters = [_adapter(fields[name]) for name in names]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(fields[name].column) for name in names)
    placeholders = ", ".join(["%s"] * len(names))
    statement = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    params = [
        [
            value if adapt is None or value is None else adapt(value)
            for adapt, value in zip(adapters, row.values(), strict=True)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, params)


def _adapter(model_field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """The database form of a value, for the field types whose Python value needs one."""
    if isinstance(model_field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(model_field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(model_field, models.DecimalField):
        return lambda value: connection.ops.adapt_decimalfield_value(
            value, model_field.max_digits, model_field.decimal_places
        )
    if isinstance(model_field, models.JSONField):
        return lambda value: model_field.get_db_prep_save(value, connection)
    return None


def _existing(
    model: type[models.Model],
    key_fields: Sequence[str],
    batch: Sequence[Write],
    scope: models.Q | None,
) -> dict[Key, dict[str, Any]]:
    if not batch:
        return {}
    # One IN list per key field: a superset of the wanted rows, matched exactly below.
    lookups = {
        f"{name}__in": {write.key[position] for write in batch}
        for position, name in enumerate(key_fields)
    }
    fields = sorted({name for write in batch for name in write.fields} - set(key_fields))
    rows = model._default_manager.filter(**lookups)
    if scope is not None:
        rows = rows.filter(scope)
    found: dict[Key, dict[str, Any]] = {}
    for row in rows.order_by("pk").values("pk", *key_fields, *fields):
        key = tuple(row[name] for name in key_fields)
        found.setdefault(key, row)  # the oldest row wins when the store holds duplicates
    return found

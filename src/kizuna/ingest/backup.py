"""``kizuna dump`` / ``kizuna restore``: the whole store in one file, restored exactly.

A backup holds every row of every table the installed apps define (users, profiles, token
hashes and many-to-many link tables included), with its primary key, as JSON lines:

- a header naming the format and the migrations the store had applied,
- one line per row (``{"model": "crm.account", "pk": 1, "fields": {...}}``), table by table,
  rows in key order,
- a trailer with the row count of every table, so a cut-off file is recognised.

Rows are written and read one at a time (files of millions of usage rows never sit in
memory); a name ending in ``.gz`` is compressed. Values keep their full precision: decimals
as exact strings, date-times with microseconds, JSON as JSON.

A restore runs in one transaction: it refuses a store holding data unless asked to replace
it, checks the backup was made at the same schema, replaces the content types and permissions
``migrate`` created with the backed-up ones (so every reference keeps its id), inserts rows
as they were (timestamps that are normally set on save are kept), checks the counts against
the trailer and moves the primary-key sequences past the restored rows.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.core.management.color import no_style
from django.core.serializers import python as python_serializer
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext

BACKUP_FORMAT = "kizuna-backup"
BACKUP_VERSION = 1

# Rows fetched per query while dumping and inserted per statement while restoring: large
# enough to amortise round trips, small enough to keep memory flat on any table size.
CHUNK_ROWS = 2000

# Tables ``migrate`` fills by itself on a new store; they do not make a store "non-empty",
# and a restore replaces them with the backed-up rows so that every reference keeps its id.
MIGRATE_FILLED = ("contenttypes.contenttype", "auth.permission")


class BackupError(Exception):
    """A backup that cannot be restored here, or a store a restore must not overwrite."""


@dataclass
class BackupSummary:
    counts: dict[str, int] = field(default_factory=dict)
    """Rows per table (``app_label.model``), in the order they were written."""

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


class _RowSerializer(python_serializer.Serializer):
    """Django's model-to-dict serializer, leaving many-to-many fields to their link tables
    (which are dumped as tables of their own, so both sides restore with raw inserts)."""

    def handle_m2m_field(self, obj: models.Model, field: Any) -> None:
        return None


def _encode(value: Any) -> Any:
    """JSON for the values Django hands over; unlike Django's encoder, microseconds are kept."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def backup_models(using: str = DEFAULT_DB_ALIAS) -> list[type[models.Model]]:
    """Every concrete table of the installed apps that the store has, app by app.

    References between the rows are checked when the restore commits (foreign keys are
    deferred), so the order only needs to be stable; link tables come last.

    (An app without migrations has its tables only where they were created for it.)
    """
    existing = set(connections[using].introspection.table_names())
    chosen: list[type[models.Model]] = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.parents or meta.db_table not in existing:
            continue
        chosen.append(model)
        for m2m in meta.local_many_to_many:
            through = m2m.remote_field.through
            if (
                isinstance(through, type)
                and through._meta.auto_created
                and through._meta.db_table in existing
            ):
                chosen.append(through)
    linked = [model for model in chosen if model._meta.auto_created]
    return [model for model in chosen if not model._meta.auto_created] + linked


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _applied_migrations(using: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connections[using]).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")


def dump_store(path: Path, *, using: str = DEFAULT_DB_ALIAS) -> BackupSummary:
    """Write the whole store to ``path``; see the module docstring for the format."""
    summary = BackupSummary()
    # One read transaction: on PostgreSQL (repeatable snapshot within it) and SQLite alike
    # the tables are read as they stood at one moment, not half before and half after a write.
    with transaction.atomic(using=using), _open(path, "w") as out:
        header = {
            "format": BACKUP_FORMAT,
            "version": BACKUP_VERSION,
            "created_at": timezone.now().isoformat(),
            "migrations": _applied_migrations(using),
        }
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for model in backup_models(using):
            count = 0
            rows = model._base_manager.using(using).order_by("pk").iterator(CHUNK_ROWS)
            for record in _RowSerializer().serialize(rows):
                out.write(json.dumps(record, default=_encode, ensure_ascii=False) + "\n")
                count += 1
            summary.counts[_label(model)] = count
        out.write(json.dumps({"end": True, "counts": summary.counts}) + "\n")
    return summary


def store_is_empty(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when no table holds a row, apart from those ``migrate`` fills by itself."""
    for model in backup_models(using):
        if _label(model) in MIGRATE_FILLED:
            continue
        if model._base_manager.using(using).exists():
            return False
    return True


def _read_lines(handle: IO[str]) -> Iterator[dict[str, Any]]:
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            yield json.loads(text)
        except json.JSONDecodeError:
            raise BackupError(
                gettext("line %(line)d of the backup is not valid JSON") % {"line": number}
            ) from None


def restore_store(
    path: Path, *, replace: bool = False, using: str = DEFAULT_DB_ALIAS
) -> BackupSummary:
    """Restore the backup at ``path`` into the store; see the module docstring.

    Raises :class:`BackupError` (leaving the store unchanged) when the store holds data and
    ``replace`` is false, when the backup is of another schema, or when it is incomplete.
    """
    by_label = {_label(model): model for model in backup_models(using)}
    summary = BackupSummary()
    with _open(path, "r") as handle, transaction.atomic(using=using):
        lines = _read_lines(handle)
        header = next(lines, None)
        _check_header(header, using)
        if not replace and not store_is_empty(using):
            raise BackupError(
                gettext(
                    "the store already holds data; restore into a new store, or use --replace "
                    "to delete everything in it first"
                )
            )
        _delete_everything(using)
        trailer: dict[str, Any] = {}
        batch: list[models.Model] = []
        batch_model: type[models.Model] | None = None
        rows = _rows_until_trailer(lines, by_label, trailer)
        for deserialized in python_serializer.Deserializer(rows, using=using):
            instance = deserialized.object
            model = type(instance)
            if model is not batch_model or len(batch) >= CHUNK_ROWS:
                _insert(batch_model, batch, using)
                batch, batch_model = [], model
            batch.append(instance)
            summary.counts[_label(model)] = summary.counts.get(_label(model), 0) + 1
        _insert(batch_model, batch, using)
        _check_trailer(trailer, summary)
        summary.counts = dict(trailer["counts"])
        _reset_sequences(list(by_label.values()), using)
    return summary


def _check_header(header: dict[str, Any] | None, using: str) -> None:
    if header is None or header.get("format") != BACKUP_FORMAT:
        raise BackupError(gettext("this file is not a Kizuna backup"))
    if header.get("version") != BACKUP_VERSION:
        raise BackupError(
            gettext("backup format version %(version)s is not supported")
            % {"version": header.get("version")}
        )
    if header.get("migrations") != _applied_migrations(using):
        raise BackupError(
            gettext(
                "the backup was made at another schema version; run 'kizuna migrate' so both "
                "stores have the same migrations applied"
            )
        )


def _check_trailer(trailer: dict[str, Any], summary: BackupSummary) -> None:
    if not trailer:
        raise BackupError(gettext("the backup is incomplete (its last line is missing)"))
    expected = {label: count for label, count in trailer.get("counts", {}).items() if count}
    if expected != summary.counts:
        raise BackupError(gettext("the backup is incomplete (row counts do not match)"))


def _rows_until_trailer(
    lines: Iterator[dict[str, Any]],
    by_label: dict[str, type[models.Model]],
    trailer: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """The row records of a backup; the trailer, when reached, is copied into ``trailer``."""
    for record in lines:
        if record.get("end"):
            trailer.update(record)
            return
        if record.get("model") not in by_label:
            raise BackupError(
                gettext("the backup holds rows of an unknown table '%(table)s'")
                % {"table": record.get("model")}
            )
        yield record


def _delete_everything(using: str) -> None:
    """Empty every table. References are checked at commit (Kizuna's foreign keys are
    deferred on SQLite and PostgreSQL alike), so the order of deletion does not matter."""
    connection = connections[using]
    with connection.cursor() as cursor:
        for model in reversed(backup_models(using)):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def _insert(model: type[models.Model] | None, batch: Sequence[models.Model], using: str) -> None:
    """Insert rows exactly as given: ``raw`` keeps primary keys and values that fields would
    otherwise set on save (``auto_now_add`` creation times)."""
    if model is None or not batch:
        return
    fields = list(model._meta.local_concrete_fields)
    size = connections[using].ops.bulk_batch_size(fields, batch) or len(batch)
    for start in range(0, len(batch), size):
        model._base_manager.using(using)._insert(  # type: ignore[attr-defined]
            batch[start : start + size], fields=fields, raw=True, using=using
        )


def _reset_sequences(all_models: list[type[models.Model]], using: str) -> None:
    """Let new rows get keys after the restored ones (PostgreSQL sequences; SQLite follows
    the largest key by itself)."""
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), all_models)
    if not statements:
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)

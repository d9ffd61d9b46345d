"""``kizuna import DIR``: every file of the CSV contract into the store, in one transaction.

Files are imported in the order their references need (customers before everything that
names a customer, features before their use, deals before their history). Each file is read
completely, every row checked, good rows upserted by their external id or natural key. By
default any problem rolls the whole import back, so the store is unchanged; with
``skip_invalid`` the good rows are kept and the rejected ones reported (and written out).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext

from kizuna.ingest import map_billing, map_crm, map_pipeline, map_usage
from kizuna.ingest.columns import CHURN_COLUMNS
from kizuna.ingest.context import ImportContext
from kizuna.ingest.report import FileReport, ImportReport
from kizuna.ingest.source import Progress, SourceRows, fill_raw_rows, read_source
from kizuna.sources.csv_deals import DEALS_COLUMNS, HISTORY_COLUMNS
from kizuna.sources.csv_reader import Column, decode
from kizuna.sources.csv_revenue import (
    CUSTOMER_COLUMNS,
    FX_RATE_COLUMNS,
    INVOICE_COLUMNS,
    SPEND_COLUMNS,
    SUBSCRIPTION_COLUMNS,
)
from kizuna.sources.csv_usage import (
    ACTIVITIES_COLUMNS,
    CONTACTS_COLUMNS,
    FEATURE_USAGE_COLUMNS,
    FEATURES_COLUMNS,
    NPS_COLUMNS,
    SUCCESS_GOALS_COLUMNS,
    TICKETS_COLUMNS,
    USAGE_DAILY_COLUMNS,
)

Importer = Callable[[ImportContext, FileReport, SourceRows], None]


@dataclass(frozen=True)
class ImportFile:
    name: str
    columns: Sequence[Column]
    importer: Importer


IMPORT_FILES: tuple[ImportFile, ...] = (
    ImportFile("customers.csv", CUSTOMER_COLUMNS, map_crm.import_customers),
    ImportFile("contacts.csv", CONTACTS_COLUMNS, map_crm.import_contacts),
    ImportFile("features.csv", FEATURES_COLUMNS, map_usage.import_features),
    ImportFile("subscriptions.csv", SUBSCRIPTION_COLUMNS, map_billing.import_subscriptions),
    ImportFile("invoices.csv", INVOICE_COLUMNS, map_billing.import_invoices),
    ImportFile("fx_rates.csv", FX_RATE_COLUMNS, map_billing.import_fx_rates),
    ImportFile("spend.csv", SPEND_COLUMNS, map_billing.import_spend),
    ImportFile("usage_daily.csv", USAGE_DAILY_COLUMNS, map_usage.import_usage_daily),
    ImportFile("feature_usage.csv", FEATURE_USAGE_COLUMNS, map_usage.import_feature_usage),
    ImportFile("tickets.csv", TICKETS_COLUMNS, map_usage.import_tickets),
    ImportFile("nps.csv", NPS_COLUMNS, map_usage.import_nps),
    ImportFile("success_goals.csv", SUCCESS_GOALS_COLUMNS, map_usage.import_success_goals),
    ImportFile("activities.csv", ACTIVITIES_COLUMNS, map_crm.import_activities),
    ImportFile("churns.csv", CHURN_COLUMNS, map_crm.import_churns),
    ImportFile("deals.csv", DEALS_COLUMNS, map_pipeline.import_deals),
    ImportFile("deal_stage_history.csv", HISTORY_COLUMNS, map_pipeline.import_deal_stage_history),
)
"""Every importable file, in the order references need."""


class ImportFailed(Exception):
    """Raised inside the transaction to roll back an all-or-nothing import with problems."""


class NothingToImport(ValueError):
    pass


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cycle collector while millions of rows are held: its full passes over them
    cost more than the import itself, and an import creates no reference cycles to reclaim."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_folder(
    folder: Path, *, skip_invalid: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Import every known CSV file present in ``folder``; see the module docstring."""
    if not folder.is_dir():
        raise NothingToImport(gettext("%(folder)s is not a folder") % {"folder": folder})
    present = [spec for spec in IMPORT_FILES if (folder / spec.name).is_file()]
    if not present:
        known = ", ".join(spec.name for spec in IMPORT_FILES)
        raise NothingToImport(
            gettext("no file to import in %(folder)s; known files: %(known)s")
            % {"folder": folder, "known": known}
        )
    report = ImportReport()
    try:
        with _collector_paused(), transaction.atomic():
            context = ImportContext(report, progress)
            for spec in present:
                file = report.file(spec.name)
                text = decode((folder / spec.name).read_bytes())
                source = read_source(spec.name, text, spec.columns, file, progress)
                if source is not None:
                    spec.importer(context, file, source)
                file.problems.sort(key=lambda problem: problem.line)
                fill_raw_rows(text, file)
            if report.problems and not skip_invalid:
                raise ImportFailed
    except ImportFailed:
        for file in report.files:
            file.created = file.updated = file.unchanged = file.removed = 0
        return report
    report.committed = True
    return report

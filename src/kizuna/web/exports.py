"""CSV export of any table on any page: ``?export=<table key>`` on the page's own URL.

Because the export runs through the page's view, it sees exactly the rows the page shows for
the same filters and the same user: permissions cannot differ between page and file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from kizuna.web.tables import Table, raw

EXPORT_PARAMETER = "export"


def wants_export(request: HttpRequest) -> str | None:
    return request.GET.get(EXPORT_PARAMETER) or None


def csv_response(table: Table, filename_stem: str) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_stem}-{stamp}.csv"'
    # A byte-order mark lets spreadsheet programs open Japanese text as UTF-8.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        writer.writerow([raw(row.get(column.key)) for column in table.columns])
    return response


def export_response(request: HttpRequest, tables: Iterable[Table], page: str) -> HttpResponse:
    """The CSV of the table the request asks for; 404 when the page has no such table."""
    key = wants_export(request)
    for table in tables:
        if table.key == key:
            return csv_response(table, f"{page}-{table.key}")
    raise Http404("no such table")

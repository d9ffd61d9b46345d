"""Any table on any page, on its own: ``?export=<table key>`` gives its CSV and
``?table=<table key>`` its HTML (how chart data tables load when someone opens them).

Because both run through the page's view, they see exactly the rows the page shows for the
same filters and the same user: permissions cannot differ between page, table and file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kizuna.web.tables import Table, raw

EXPORT_PARAMETER = "export"
TABLE_PARAMETER = "table"


def wants_export(request: HttpRequest) -> str | None:
    """The key of the table the request asks for on its own (as CSV or as HTML), if any."""
    return request.GET.get(EXPORT_PARAMETER) or request.GET.get(TABLE_PARAMETER) or None


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
    """The table the request asks for, as CSV or as an HTML fragment; 404 when the page has
    no such table."""
    key = wants_export(request)
    for table in tables:
        if table.key == key:
            if request.GET.get(EXPORT_PARAMETER):
                return csv_response(table, f"{page}-{table.key}")
            return render(request, "kizuna/includes/table.html", {"table": table})
    raise Http404("no such table")

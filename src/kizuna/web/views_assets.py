"""Plotly's JavaScript, served from the installed ``plotly`` package (the app works offline).

The URL carries the package version, so browsers may keep the file for a year: a new Plotly
release gets a new URL.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import plotly
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ONE_YEAR = 365 * 24 * 60 * 60


def plotly_version() -> str:
    return str(plotly.__version__)


@cache
def _plotly_bytes() -> bytes:
    return PLOTLY_JS.read_bytes()


@require_GET
def plotly_js(request: HttpRequest, version: str) -> HttpResponse:
    if version != plotly_version():
        raise Http404("unknown Plotly version")
    response = HttpResponse(_plotly_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response

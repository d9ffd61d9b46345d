"""Data pages: the reconciliation of billing with the CRM, and CSV upload for import."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kizuna.crm.access import visible_accounts
from kizuna.ingest.reconcile import KINDS, reconcile


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    """Where billing and the CRM disagree, for the accounts the user may see."""
    as_of = timezone.localdate()
    found = reconcile(visible_accounts(request.user), as_of)
    counts = {label: sum(1 for item in found if item.kind == kind) for kind, label in KINDS.items()}
    return render(
        request,
        "kizuna/ingest/reconcile.html",
        {"disagreements": found, "counts": counts, "as_of": as_of},
    )

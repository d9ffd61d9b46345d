"""Saved segments (SPEC G4): save the account list's current filters as a segment, list the
segments a user may use with their member counts, and delete one."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kizuna.crm import actions
from kizuna.crm.access import (
    may_delete_segment,
    may_save_segments,
    role_of,
    visible_accounts,
    visible_segments,
)
from kizuna.crm.models import Segment
from kizuna.crm.segments import describe, segment_filter
from kizuna.web.filters import AccountFilterForm, value_labels


class SaveSegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Segment name"), max_length=100)
    shared = forms.BooleanField(label=gettext_lazy("Share with everyone"), required=False)


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    description: str
    members: int
    url: str
    may_delete: bool


def _list_url(params: dict[str, str] | QueryDict) -> str:
    query = urlencode(params) if isinstance(params, dict) else params.urlencode()
    return reverse("accounts") + (f"?{query}" if query else "")


@login_required
def segments(request: HttpRequest) -> HttpResponse:
    """The segments the user may use; members are counted among the accounts they may see."""
    chosen = list(visible_segments(request.user).select_related("owner"))
    counts = visible_accounts(request.user).aggregate(
        **{
            f"segment_{segment.pk}": Count("pk", filter=segment_filter(segment.definition))
            for segment in chosen
        }
    )
    labels = value_labels()
    rows = [
        SegmentRow(
            segment=segment,
            description=describe(segment.definition, labels),
            members=counts[f"segment_{segment.pk}"],
            url=_list_url({"segment": str(segment.pk)}),
            may_delete=may_delete_segment(request.user, segment),
        )
        for segment in chosen
    ]
    return render(request, "kizuna/segments.html", {"rows": rows})


@login_required
@require_POST
def save_segment(request: HttpRequest) -> HttpResponse:
    """Save the criteria of the account list's query string (the ``filters`` field)."""
    form = SaveSegmentForm(request.POST)
    filters = QueryDict(request.POST.get("filters", ""))
    back = _list_url(filters)
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    if not form.is_valid():
        messages.error(
            request,
            _("The segment was not saved: %(errors)s")
            % {
                "errors": "; ".join(
                    f"{form.fields[name].label}: {' '.join(str(error) for error in errors)}"
                    for name, errors in form.errors.items()
                )
            },
        )
        return redirect(back)
    shared = bool(form.cleaned_data["shared"])
    if not may_save_segments(role_of(user), shared=shared):
        raise PermissionDenied
    if filters.get("segment"):
        messages.error(
            request,
            _(
                "The segment was not saved: clear the segment filter first; a new segment is "
                "saved from the other filters."
            ),
        )
        return redirect(back)
    definition = AccountFilterForm(filters, visible_accounts(user)).definition()
    try:
        segment = actions.save_segment(
            owner=user, name=form.cleaned_data["name"], definition=definition, shared=shared
        )
    except actions.ActionError as error:
        messages.error(request, _("The segment was not saved: %(errors)s") % {"errors": error})
        return redirect(back)
    messages.success(request, _("Segment %(name)s saved.") % {"name": segment.name})
    return redirect(_list_url({"segment": str(segment.pk)}))


@login_required
@require_POST
def delete_segment(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(visible_segments(request.user), pk=pk)
    if not may_delete_segment(request.user, segment):
        raise PermissionDenied
    actions.delete_segment(segment)
    messages.success(request, _("Segment %(name)s deleted.") % {"name": segment.name})
    return redirect("segments")

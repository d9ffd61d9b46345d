"""The main menu; each entry names the URL it points to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MenuItem:
    url_name: str
    label: Promise


MENU = (
    MenuItem("home", _("Home")),
    MenuItem("executive", _("Executive")),
    MenuItem("sales", _("Sales")),
    MenuItem("cs", _("Customer success")),
    MenuItem("saasup", _("Contracts")),
    MenuItem("accounts", _("Accounts")),
    MenuItem("deal_list", _("Deals")),
    MenuItem("playbooks:my_work", _("My work")),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: the menu entries whose pages exist."""
    # view_name includes the namespace ("playbooks:my_work"), as the menu entries do.
    current = request.resolver_match.view_name if request.resolver_match else None
    items = []
    for item in MENU:
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": item.label, "current": item.url_name == current})
    return {"navigation": items}

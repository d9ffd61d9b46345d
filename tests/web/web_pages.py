"""Helpers the page tests share: the test company's shape and reading embedded charts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from kizuna.crm.models import Account

PASSWORD = "pw-kizuna-123456"


@dataclass(frozen=True)
class Company:
    users: dict[str, User]
    acme: Account
    globex: Account
    password: str = PASSWORD


def figure(html: str, key: str) -> dict[str, Any]:
    """The Plotly figure a page embedded for the chart with id ``key``."""
    match = re.search(
        rf'<script type="application/json" id="{re.escape(key)}-data">(.*?)</script>', html, re.S
    )
    assert match, f"no chart {key}"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def traces(html: str, key: str) -> dict[str, Any]:
    return {trace["name"]: trace for trace in figure(html, key)["data"]}

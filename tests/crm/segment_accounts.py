"""Hand-made accounts around one segment's every edge, for the segment tests of the account
list (tests/web), the playbook condition (tests/playbooks) and the definition (tests/crm).

The segment: manufacturers with 100 to 999 employees, in the risk or critical band, unused for
30 days or more, paying 100,000 to 499,999 yen. Exactly "Inside" and "Edges" belong to it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from kizuna.crm.models import Account, AccountStatus
from kizuna.health.models import AccountSegment

DEFINITION: dict[str, Any] = {
    "industry": ["Manufacturing"],
    "employees": {"min": 100, "below": 1000},
    "health_status": ["risk", "critical"],
    "days_since_last_use": {"min": 30},
    "mrr": {"min": "100000", "below": "500000"},
}
MEMBERS = ["Edges", "Inside"]
AS_OF = date(2024, 6, 30)

# name: (changes to the account, changes to its segment row, or None for no row)
_BASE_ACCOUNT: dict[str, Any] = {"industry": "Manufacturing", "employees": 500}
_BASE_SEGMENT: dict[str, Any] = {
    "health_status": "risk",
    "days_since_last_use": 45,
    "mrr": Decimal(200000),
}
_CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "Inside": ({}, {}),
    # On every lower bound: min is inclusive.
    "Edges": (
        {"employees": 100},
        {"health_status": "critical", "days_since_last_use": 30, "mrr": Decimal(100000)},
    ),
    # On every upper bound or just outside one: below is exclusive.
    "Too big": ({"employees": 1000}, {}),
    "Unknown size": ({"employees": None}, {}),
    "Too recent": ({}, {"days_since_last_use": 29}),
    "Never scored for use": ({}, {"days_since_last_use": None}),
    "Too rich": ({}, {"mrr": Decimal(500000)}),
    "Too small": ({}, {"mrr": Decimal("99999.99")}),
    "Caution": ({}, {"health_status": "caution"}),
    "Retail": ({"industry": "Retail"}, {}),
    "No segment row": ({}, None),
}


def make_segment_accounts(owner: User | None, other_owner: User | None) -> dict[str, Account]:
    """The accounts above; "Edges" is ``other_owner``'s (CS owner), the rest ``owner``'s."""
    accounts: dict[str, Account] = {}
    for name, (account_changes, segment_changes) in _CASES.items():
        account = Account.objects.create(
            name=name,
            status=AccountStatus.CUSTOMER,
            cs_owner=other_owner if name == "Edges" else owner,
            contract_start=AS_OF,
            created_at=timezone.make_aware(datetime(2024, 1, 1)),
            **{**_BASE_ACCOUNT, **account_changes},
        )
        if segment_changes is not None:
            AccountSegment.objects.create(
                account=account,
                as_of=AS_OF,
                touch_tier="low",
                **{**_BASE_SEGMENT, **segment_changes},
            )
        accounts[name] = account
    return accounts

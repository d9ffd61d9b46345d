"""Texts the demo customers and staff write (activity subjects, NPS comments, churn details).

They are translated once per language and generation run, not once per row: translation
lookups would otherwise dominate the generation time.
"""

from __future__ import annotations

from functools import cache

from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

PHRASES: dict[str, tuple[Promise, ...]] = {
    "nps_promoter": (
        _("Our whole team relies on it every day."),
        _("Great support, easy to roll out."),
    ),
    "nps_passive": (_("Good, but reports could be more flexible."), _("Works well for us.")),
    "nps_detractor": (
        _("Too expensive for what we use."),
        _("Missing features we need."),
        _("Support takes too long to answer."),
        _("Hard to get the team to use it."),
    ),
    "qbr": (_("Quarterly business review"),),
    "cs_meeting": (_("Monthly success check-in"),),
    "expansion_meeting": (_("Rollout to more departments"),),
    "email": (_("Follow-up on usage"), _("Webinar invitation"), _("Release notes")),
    "call": (_("Check-in call"), _("Question about permissions")),
    "meeting": (_("Training session"), _("Workflow review")),
    "note": (_("Account note"), _("Internal handover note")),
    "churn_cost": (_("Budget cut; moving to a cheaper tool"), _("Could not justify the price")),
    "churn_missing_features": (
        _("Needed advanced resource planning"),
        _("No integration with their ERP"),
    ),
    "churn_support": (_("Repeated outages and slow answers"), _("Unresolved critical bugs")),
    "churn_business_change": (_("Acquired by a group company"), _("Business unit closed")),
    "churn_other": (_("Champion left; no internal owner"), _("Team reorganised")),
    # Success goals and their targets, pairwise (the n-th target belongs to the n-th goal).
    "success_goal": (
        _("Faster month-end close"),
        _("Paperless invoicing"),
        _("Sales reports without spreadsheets"),
        _("Onboard every branch office"),
    ),
    "success_target": (
        _("Close in 3 business days"),
        _("All invoices sent electronically"),
        _("Weekly report fully automated"),
        _("All branches active every week"),
    ),
}


Texts = dict[str, tuple[str, ...]]


@cache
def _translated(language: str | None) -> Texts:
    return {key: tuple(str(text) for text in texts) for key, texts in PHRASES.items()}


def phrases() -> Texts:
    """Every phrase in the active language."""
    return _translated(get_language())

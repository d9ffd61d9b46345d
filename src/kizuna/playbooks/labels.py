"""What people read for each signal and trigger: translated names, one place."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SIGNAL_LABELS: dict[str, Promise] = {
    "usage_drop": _("Usage drop"),
    "login_decline": _("Falling logins"),
    "core_features_unused": _("Core features unused"),
    "critical_bugs": _("Critical bugs"),
    "slow_resolution": _("Slow ticket resolution"),
    "ticket_spike": _("Ticket spike"),
    "nps_drop": _("NPS drop"),
    "key_contact_left": _("Key contact left or moved"),
    "renewal_due": _("Renewal due"),
    "communication_gap": _("No contact for a long time"),
    "competitor_interest": _("Competitor pages viewed"),
    "high_value_inactive": _("High MRR, inactive"),
    "seats_nearly_full": _("Seats nearly full"),
    "api_surge": _("API calls surging"),
    "enterprise_trial_requested": _("Enterprise trial requested"),
    "renewal_upsell": _("Renewal with upsell"),
    "nps_promoter": _("NPS promoter"),
    "new_feature_interest": _("New-feature interest"),
    "usage_spreading": _("Usage spreading to new departments"),
    "success_goal_achieved": _("Success goal achieved"),
    "cross_sell_whitespace": _("Cross-sell whitespace"),
    # Signals of the non-signal triggers.
    "health_band_entered": _("Health band entered"),
    "health_band_left": _("Health band left"),
    "score_crossed": _("Health score crossed a threshold"),
    "renewal_date": _("Renewal approaching"),
    "contract_start_date": _("Contract anniversary step"),
    "churn_date": _("Win-back window"),
    "deal_stage_changed": _("Deal stage changed"),
}

LEVEL_LABELS: dict[str, Promise] = {
    "low": _("low"),
    "medium": _("medium"),
    "high": _("high"),
}


def signal_label(signal: str) -> str:
    label = SIGNAL_LABELS.get(signal)
    return str(label) if label is not None else signal


def level_label(level: str) -> str:
    label = LEVEL_LABELS.get(level)
    return str(label) if label is not None else level

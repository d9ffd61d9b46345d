"""The rules Kizuna ships with: the seed workflows W1–W5 and a response to every signal.

These are *defaults*: ``kizuna playbooks install-defaults`` writes the missing ones to the
store (in the store's language), where a team edits, disables or replaces them. Nothing in the
runner knows these rules; they only live here. Texts go through gettext so a Japanese team gets
Japanese tasks; ``{account}``-style placeholders are filled in when the rule fires.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kizuna.playbooks.rules import RuleSpec, validate_specs

# W1: a follow-up within 3 business days and escalation after 5 (SPEC W1).
FOLLOW_UP_BUSINESS_DAYS = 3
ESCALATE_AFTER_BUSINESS_DAYS = 5
# W3: a meeting within 48 hours of an NPS drop.
NPS_MEETING_HOURS = 48
# W2: below this health score the CS lead reviews the renewal.
RENEWAL_REVIEW_HEALTH_BELOW = 60
# Against alert fatigue: signals that recur monthly raise at most one alert a month.
MONTHLY: dict[str, Any] = {"max_enrolments": 1, "enrolment_window_days": 30}

IMPROVEMENT_PLAN = _(
    "Improvement plan for {account}\n"
    "1. What the customer told us (NPS comment, tickets):\n"
    "2. Root cause:\n"
    "3. Actions we commit to, with owners and dates:\n"
    "4. How we will measure that it worked:\n"
    "5. Next check-in date:"
)


def _text(value: Any) -> Any:
    """Resolve lazy translations (recursively) in the current language."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


def _task(
    title: Promise,
    kind: str,
    *,
    assignee: str = "cs_owner",
    days: int | None = FOLLOW_UP_BUSINESS_DAYS,
    **extra: Any,
) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "create_task", "assignee": assignee, "title": title}
    action["kind"] = kind
    if days is not None:
        action["due_business_days"] = days
    return action | extra


def _notify(*to: str, title: Promise | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "notify", "to": list(to)}
    if title is not None:
        action["title"] = title
    return action


SUMMARY: dict[str, Any] = {"type": "attach_summary"}


def _signal_rule(
    key: str,
    name: Promise,
    signal: str,
    actions: list[dict[str, Any]],
    *,
    levels: list[str] | None = None,
    description: Promise | str = "",
    **options: Any,
) -> dict[str, Any]:
    trigger: dict[str, Any] = {"signal": signal}
    if levels:
        trigger["levels"] = levels
    return {
        "key": key,
        "name": name,
        "description": description,
        "trigger_kind": "signal",
        "trigger": trigger,
        "actions": actions,
        **options,
    }


def _expansion_step(
    key: str, name: Promise, to_stage: str, title: Promise, assignee: str, priority: int
) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "trigger_kind": "deal_stage_changed",
        "trigger": {"pipeline": "upsell", "to_stage": to_stage},
        "actions": [_task(title, f"expansion_{to_stage}", assignee=assignee)],
        "priority": priority,
        "owner_role": assignee,
    }


def _win_back(key: str, name: Promise, reasons: list[str], title: Promise) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "description": _("Win-back campaign 3–6 months after churn, chosen by churn reason."),
        "trigger_kind": "churn_date",
        "trigger": {"months_after_min": 3, "months_after_max": 6, "reasons": reasons},
        "actions": [_task(title, "win_back", assignee="sales_owner", days=10)],
        "owner_role": "sales_owner",
        "priority": 400,
    }


def default_rule_data() -> list[dict[str, Any]]:
    """The shipped rules, as plain data with lazy texts."""
    return [
        # W1 — usage drop (S1).
        _signal_rule(
            "usage-drop",
            _("Usage drop"),
            "usage_drop",
            [
                _notify("cs_owner"),
                {"type": "email", "to": ["cs_owner"]},
                _task(
                    _("Follow up on the usage drop at {account}"),
                    "usage_follow_up",
                    escalate_after_business_days=ESCALATE_AFTER_BUSINESS_DAYS,
                    escalate_to="cs_lead",
                ),
                SUMMARY,
                {"type": "update_property", "field": "custom:risk_status", "value": "usage_drop"},
            ],
            description=_(
                "Active users down by 30 percent or more: notify the CS owner, follow up within 3 "
                "business days, escalate to the CS lead after 5."
            ),
            priority=10,
            **MONTHLY,
        ),
        _signal_rule(
            "login-decline",
            _("Falling logins"),
            "login_decline",
            [
                _notify("cs_owner"),
                _task(
                    _("Find out why logins are falling at {account}"),
                    "usage_follow_up",
                    escalate_after_business_days=ESCALATE_AFTER_BUSINESS_DAYS,
                ),
                SUMMARY,
            ],
            priority=11,
            **MONTHLY,
        ),
        # W2 — renewal 90 / 60 / 30 days, with a renewal deal at 90 (W4, P3).
        {
            "key": "renewal-90",
            "name": _("Renewal in 90 days"),
            "description": _("Renewal prep: review usage, open the renewal deal."),
            "trigger_kind": "renewal_date",
            "trigger": {"days_before": 90, "until_days_before": 60},
            "actions": [
                _notify("cs_owner"),
                _task(_("Prepare the renewal of {account}: review usage"), "renewal_prep", days=10),
                SUMMARY,
                {
                    "type": "create_deal",
                    "pipeline": "renewal",
                    "stage": "renewal_prep",
                    "owner": "cs_owner",
                    "title": _("Renewal: {account} ({detail[renewal_on]})"),
                },
            ],
            "priority": 20,
        },
        {
            "key": "renewal-90-health-review",
            "name": _("Renewal at risk: CS lead review"),
            "description": _("Renewal in 90 days and health below 60: the CS lead reviews."),
            "trigger_kind": "renewal_date",
            "trigger": {"days_before": 90, "until_days_before": 30},
            "conditions": {"health": {"below": RENEWAL_REVIEW_HEALTH_BELOW}},
            "actions": [
                _notify("cs_lead", "cs_owner"),
                _task(
                    _("Review the at-risk renewal of {account}"),
                    "renewal_review",
                    assignee="cs_lead",
                    days=5,
                ),
                SUMMARY,
            ],
            "owner_role": "cs_lead",
            "priority": 21,
        },
        {
            "key": "renewal-60",
            "name": _("Renewal in 60 days"),
            "trigger_kind": "renewal_date",
            "trigger": {"days_before": 60, "until_days_before": 30},
            "actions": [
                _notify("cs_owner", title=_("Draft the renewal proposal for {account}")),
                _task(_("Draft the renewal proposal for {account}"), "renewal_proposal", days=10),
            ],
            "priority": 22,
        },
        {
            "key": "renewal-30",
            "name": _("Renewal in 30 days"),
            "trigger_kind": "renewal_date",
            "trigger": {"days_before": 30},
            "actions": [
                _notify("sales_owner", "cs_owner", title=_("Renewal of {account} in 30 days")),
                {"type": "email", "to": ["sales_owner"]},
                _task(
                    _("Finalise the renewal contract of {account}"),
                    "renewal_contract",
                    assignee="sales_owner",
                    days=5,
                ),
            ],
            "owner_role": "sales_owner",
            "priority": 23,
        },
        # W3 — NPS drop (S4).
        _signal_rule(
            "nps-drop",
            _("NPS drop"),
            "nps_drop",
            [
                _notify("cs_owner", "cs_lead"),
                _task(
                    _("Meet {account} within 48 hours about their NPS score"),
                    "nps_meeting",
                    days=None,
                    due_hours=NPS_MEETING_HOURS,
                    description=IMPROVEMENT_PLAN,
                ),
                SUMMARY,
                {
                    "type": "email",
                    "to": ["cs_owner"],
                    "subject": _("Improvement plan template: {account}"),
                    "body": IMPROVEMENT_PLAN,
                },
            ],
            priority=5,
        ),
        # S2, S3, S5, S7, S8, S9 — the other churn signals.
        _signal_rule(
            "core-features-unused",
            _("Core features unused"),
            "core_features_unused",
            [_task(_("Propose re-onboarding to {account}"), "re_onboarding", days=5)],
            priority=40,
            **MONTHLY,
        ),
        _signal_rule(
            "support-trouble",
            _("Support trouble"),
            "critical_bugs",
            [
                {"type": "escalate", "to": "cs_lead"},
                _task(_("Bring in technical support for {account}"), "support_escalation", days=1),
                SUMMARY,
            ],
            priority=12,
        ),
        _signal_rule(
            "slow-resolution",
            _("Slow ticket resolution"),
            "slow_resolution",
            [_task(_("Check on the slow ticket of {account}"), "support_follow_up", days=1)],
            levels=["high"],
            priority=13,
            max_enrolments=3,
        ),
        _signal_rule(
            "key-contact-left",
            _("Key contact left"),
            "key_contact_left",
            [
                _notify("cs_owner", "sales_owner"),
                _task(
                    _("Build the relationship with the new contact at {account}"),
                    "relationship",
                    days=5,
                ),
            ],
            priority=14,
        ),
        _signal_rule(
            "communication-gap",
            _("No contact for 60 days"),
            "communication_gap",
            [_task(_("Get in touch with {account}"), "contact", days=5)],
            priority=50,
        ),
        _signal_rule(
            "competitor-interest",
            _("Competitor pages viewed"),
            "competitor_interest",
            [
                _notify("cs_owner", "sales_owner"),
                _task(_("Check how {account} compares us with competitors"), "competitive", days=3),
            ],
            levels=["medium", "high"],
            priority=30,
            **MONTHLY,
        ),
        _signal_rule(
            "high-value-inactive",
            _("High MRR, inactive"),
            "high_value_inactive",
            [
                _notify("cs_owner", "cs_lead"),
                _task(_("Re-engage {account} (high MRR, inactive)"), "re_engage", days=2),
                SUMMARY,
            ],
            priority=15,
        ),
        # Health bands (H2, W4): a critical score goes to the lead at once.
        {
            "key": "health-critical",
            "name": _("Health turned critical"),
            "trigger_kind": "health_band_entered",
            "trigger": {"band": "critical"},
            "actions": [
                {"type": "escalate", "to": "cs_lead"},
                _task(_("Recovery plan for {account}"), "recovery_plan", days=2),
                SUMMARY,
            ],
            "priority": 16,
        },
        {
            "key": "health-risk",
            "name": _("Health at risk"),
            "trigger_kind": "health_band_entered",
            "trigger": {"band": "risk"},
            "actions": [
                _notify("cs_owner", "cs_lead"),
                _task(
                    _("Improvement plan for {account}"),
                    "improvement_plan",
                    days=5,
                    description=IMPROVEMENT_PLAN,
                ),
            ],
            "priority": 17,
        },
        # S10–S16 expansion triggers, with upsell deals (W4).
        _signal_rule(
            "seats-nearly-full",
            _("Seats nearly full"),
            "seats_nearly_full",
            [
                _notify("cs_owner"),
                _task(_("Propose the next plan up to {account}"), "upsell_proposal", days=5),
            ],
            priority=60,
        ),
        _signal_rule(
            "api-surge",
            _("API calls surging"),
            "api_surge",
            [_task(_("Offer the developer plan to {account}"), "upsell_proposal", days=5)],
            priority=61,
            **MONTHLY,
        ),
        _signal_rule(
            "enterprise-trial",
            _("Enterprise trial requested"),
            "enterprise_trial_requested",
            [
                _notify("sales_owner", "cs_owner"),
                {
                    "type": "create_deal",
                    "pipeline": "upsell",
                    "stage": "opportunity_detected",
                    "owner": "sales_owner",
                    "title": _("Enterprise upgrade: {account}"),
                },
            ],
            owner_role="sales_owner",
            priority=62,
        ),
        _signal_rule(
            "renewal-upsell",
            _("Renewal with upsell"),
            "renewal_upsell",
            [
                _task(
                    _("Prepare a renewal proposal with an upsell for {account}"),
                    "renewal_upsell",
                    days=10,
                )
            ],
            priority=63,
        ),
        _signal_rule(
            "nps-promoter",
            _("NPS promoter"),
            "nps_promoter",
            [_task(_("Ask {account} for a referral or a case study"), "advocacy", days=10)],
            priority=64,
        ),
        _signal_rule(
            "new-feature-interest",
            _("New-feature interest"),
            "new_feature_interest",
            [_task(_("Send material or offer a demo to {account}"), "feature_demo", days=5)],
            priority=65,
            **MONTHLY,
        ),
        _signal_rule(
            "usage-spreading",
            _("Usage spreading"),
            "usage_spreading",
            [_task(_("Propose a company-wide rollout to {account}"), "rollout", days=10)],
            priority=66,
            **MONTHLY,
        ),
        _signal_rule(
            "success-goal-achieved",
            _("Success goal achieved"),
            "success_goal_achieved",
            [
                _notify("cs_owner", "sales_owner"),
                _task(
                    _("Celebrate “{detail[goal]}” with {account} and propose the next solutions"),
                    "success_review",
                    days=10,
                ),
            ],
            priority=67,
        ),
        # W5 — the expansion playbook: identify (system) → confirm needs → prepare proposal →
        # propose → close → onboard. Step 1 opens the upsell deal; each later step follows
        # the deal into its next stage.
        _signal_rule(
            "expansion-identify",
            _("Expansion 1/6: opportunity identified"),
            "cross_sell_whitespace",
            [
                {
                    "type": "create_deal",
                    "pipeline": "upsell",
                    "stage": "opportunity_detected",
                    "owner": "cs_owner",
                    "title": _("Cross-sell: {account}"),
                },
                _task(
                    _("Confirm expansion needs with {account} (meeting notes)"),
                    "expansion_needs",
                    days=10,
                ),
            ],
            levels=["high"],
            description=_("High-MRR single-product customer: open an upsell deal."),
            priority=70,
        ),
        _expansion_step(
            "expansion-prepare",
            _("Expansion 3/6: prepare the proposal"),
            "needs_confirmed",
            _("Prepare the expansion proposal for {account} with sales"),
            "cs_owner",
            71,
        ),
        _expansion_step(
            "expansion-propose",
            _("Expansion 4/6: propose"),
            "proposal",
            _("Present the expansion proposal to {account}"),
            "sales_owner",
            72,
        ),
        _expansion_step(
            "expansion-close",
            _("Expansion 5/6: close"),
            "negotiation_approval",
            _("Close the expansion deal with {account}"),
            "sales_owner",
            73,
        ),
        _expansion_step(
            "expansion-onboard",
            _("Expansion 6/6: onboard"),
            "won",
            _("Onboard {account} onto what they bought"),
            "cs_owner",
            74,
        ),
        # C9 — win-back by churn reason.
        _win_back(
            "win-back-features",
            _("Win-back: missing features"),
            ["missing_features"],
            _("Tell {account} about the features released since they left"),
        ),
        _win_back(
            "win-back-cost",
            _("Win-back: cost"),
            ["cost"],
            _("Offer {account} the new plan"),
        ),
        _win_back(
            "win-back-other",
            _("Win-back: other reasons"),
            ["support", "business_change", "other"],
            _("Check in with {account}: has anything changed?"),
        ),
    ]


def default_rules() -> list[RuleSpec]:
    """The shipped rules with their texts in the active language."""
    return [RuleSpec.from_mapping(_text(data)) for data in default_rule_data()]


def install_defaults(*, overwrite: bool = False) -> tuple[int, int]:
    """Write the shipped rules the store lacks (all of them with ``overwrite``); idempotent.

    The default pipelines are created too when missing: the renewal and upsell rules open
    deals in them.
    """
    from kizuna.ingest.pipelines import ensure_default_pipelines
    from kizuna.playbooks.actions import save_rules

    ensure_default_pipelines()
    specs = default_rules()
    validate_specs(specs)
    return save_rules(specs, overwrite=overwrite, is_default=True)

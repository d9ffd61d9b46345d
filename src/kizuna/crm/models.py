"""Customers: accounts, contacts, the people who own them, and what happens with them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.core.fields import external_id_field
from kizuna.crm.segments import definition_problems


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    EXECUTIVE = "executive", _("Executive")
    SALES = "sales", _("Sales")
    CS_MANAGER = "cs_manager", _("CS manager")
    CSM = "csm", _("Customer success manager")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """A user's role and team; permissions follow from the role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CSM)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ADOPTION = "adoption", _("Adoption")
    MATURITY = "maturity", _("Maturity")
    RENEWAL = "renewal", _("Renewal / expansion")
    ADVOCACY = "advocacy", _("Advocacy")


class TouchTier(models.TextChoices):
    HIGH = "high", _("High touch")
    LOW = "low", _("Low touch")
    TECH = "tech", _("Tech touch")


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    TRIAL = "trial", _("Trial")
    CUSTOMER = "customer", _("Customer")
    CHURNED = "churned", _("Churned")


class Account(models.Model):
    external_id = external_id_field()
    name = models.CharField(_("name"), max_length=200, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True, default="")
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default="JP")
    channel = models.CharField(_("acquisition channel"), max_length=50, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    cs_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CS owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cs_accounts",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AccountStatus.choices, default=AccountStatus.PROSPECT
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, blank=True, default=""
    )
    touch_tier = models.CharField(
        _("touch tier"), max_length=10, choices=TouchTier.choices, blank=True, default=""
    )
    plan = models.CharField(_("plan"), max_length=50, blank=True, default="")
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    custom_properties = models.JSONField(_("custom properties"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["cs_owner", "status"]),
            # A book of business is the accounts of some CS owners or sales owners: with both
            # owners in each index, its accounts and their owner pairs are read from the
            # indexes alone.
            models.Index(fields=["cs_owner", "owner"]),
            models.Index(fields=["owner", "cs_owner"]),
            # The CS dashboard's lists: renewals coming up, accounts onboarding.
            models.Index(fields=["renewal_date"]),
            models.Index(fields=["lifecycle_stage", "contract_start"]),
        ]

    def __str__(self) -> str:
        return self.name


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    DAILY_CONTACT = "daily_contact", _("Daily contact")
    CHAMPION = "champion", _("Champion")
    OTHER = "other", _("Other")


class ContactStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    LEFT = "left", _("Left the company")
    MOVED = "moved", _("Moved to another role")


class Contact(models.Model):
    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True, default="")
    title = models.CharField(_("job title"), max_length=100, blank=True, default="")
    role = models.CharField(
        _("role"), max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ContactStatus.choices, default=ContactStatus.ACTIVE
    )
    status_changed_on = models.DateField(_("status changed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


class ActivityType(models.TextChoices):
    EMAIL = "email", _("E-mail")
    MEETING = "meeting", _("Meeting")
    CS_MEETING = "cs_meeting", _("CS meeting")
    QBR = "qbr", _("QBR")
    CALL = "call", _("Call")
    NOTE = "note", _("Note")


class Activity(models.Model):
    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="activities"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL
    )
    type = models.CharField(_("type"), max_length=20, choices=ActivityType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    body = models.TextField(_("notes"), blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["account", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.occurred_at:%Y-%m-%d}"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(models.Model):
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=50, blank=True, default="")
    description = models.TextField(_("description"), blank=True, default="")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    dedupe_key = models.CharField(
        _("dedupe key"),
        max_length=200,
        null=True,
        blank=True,
        unique=True,
    )
    context = models.JSONField(_("context"), default=dict, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["assignee", "status", "due_on"])]

    def __str__(self) -> str:
        return self.title


class HandoffRecord(models.Model):
    """Sales → CS handoff, required when a new-business deal is won (SPEC C4)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="handoffs"
    )
    deal = models.ForeignKey(
        "pipeline.Deal", verbose_name=_("deal"), null=True, blank=True, on_delete=models.SET_NULL
    )
    background = models.TextField(_("background and challenge"), blank=True, default="")
    success_definition = models.TextField(
        _("definition of success (customer KPIs)"), blank=True, default=""
    )
    key_persons = models.TextField(_("key persons"), blank=True, default="")
    competitors = models.TextField(_("competitors considered"), blank=True, default="")
    contract_background = models.TextField(
        _("contract background (discounts, special terms, features under consideration)"),
        blank=True,
        default="",
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("handoff record")
        verbose_name_plural = _("handoff records")

    def __str__(self) -> str:
        return f"{self.account} handoff"


class LifecycleStageChange(models.Model):
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="lifecycle_changes",
    )
    from_stage = models.CharField(
        _("from"), max_length=20, choices=LifecycleStage.choices, blank=True, default=""
    )
    to_stage = models.CharField(_("to"), max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(_("changed at"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("lifecycle stage change")
        verbose_name_plural = _("lifecycle stage changes")
        ordering = ["changed_at"]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_stage} → {self.to_stage}"


class OnboardingItem(models.Model):
    """One step of a new customer's onboarding checklist (SPEC C6)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="onboarding"
    )
    title = models.CharField(_("title"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    is_first_value = models.BooleanField(
        _("first value event"),
        default=False,
        help_text=_("Completing this step marks the customer's time-to-value."),
    )

    class Meta:
        verbose_name = _("onboarding item")
        verbose_name_plural = _("onboarding items")
        ordering = ["account", "order"]

    def __str__(self) -> str:
        return self.title


class Qbr(models.Model):
    """A quarterly business review with a key account (SPEC C7)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="qbrs"
    )
    quarter = models.CharField(_("quarter"), max_length=7, help_text="YYYY-Qn")
    held_on = models.DateField(_("held on"), null=True, blank=True)
    outcomes = models.TextField(_("outcomes vs goals"), blank=True, default="")
    issues = models.TextField(_("issues"), blank=True, default="")
    best_practices = models.TextField(_("best practices shared"), blank=True, default="")
    next_actions = models.TextField(_("next-quarter action plan"), blank=True, default="")
    expansion_needs = models.TextField(_("expansion needs"), blank=True, default="")

    class Meta:
        verbose_name = _("QBR")
        verbose_name_plural = _("QBRs")
        constraints = [
            models.UniqueConstraint(fields=["account", "quarter"], name="one_qbr_per_quarter")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.quarter}"


class ChurnReason(models.TextChoices):
    COST = "cost", _("Cost")
    MISSING_FEATURES = "missing_features", _("Missing features")
    SUPPORT = "support", _("Support dissatisfaction")
    BUSINESS_CHANGE = "business_change", _("Business change")
    OTHER = "other", _("Other")


class ChurnRecord(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="churns"
    )
    churned_on = models.DateField(_("churned on"))
    reason = models.CharField(_("reason"), max_length=20, choices=ChurnReason.choices)
    detail = models.TextField(_("detail"), blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("churn record")
        verbose_name_plural = _("churn records")
        constraints = [
            models.UniqueConstraint(fields=["account", "churned_on"], name="one_churn_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.churned_on}"


def validate_segment_definition(value: Any) -> None:
    problems = definition_problems(value)
    if problems:
        raise ValidationError(problems, code="invalid")


class Segment(models.Model):
    """A saved set of criteria on accounts (SPEC G4): personal to its owner, or shared with
    everyone. Its members are computed when it is used (``kizuna.crm.segments``)."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="segments",
    )
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Shared segments are offered to everyone.")
    )
    definition = models.JSONField(
        _("definition"),
        validators=[validate_segment_definition],
        help_text=_('Criteria, e.g. {"plan": ["Pro"], "mrr": {"min": "100000"}}.'),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="crm_segment_name_per_owner"),
            # Rules and links name a shared segment, so its name is unique among shared ones.
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(shared=True), name="crm_shared_segment_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

"""Product usage, support tickets and NPS: the behaviour health scores and signals read."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.core.fields import external_id_field
from kizuna.crm.models import Account, Contact


class UsageDaily(models.Model):
    """One account's product usage on one day (SPEC I3); days without a row had no usage."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="usage"
    )
    date = models.DateField(_("date"))
    logins = models.PositiveIntegerField(_("logins"), default=0)
    active_users = models.PositiveIntegerField(_("active users"), default=0)
    active_users_30d = models.PositiveIntegerField(
        _("active users (30 days)"),
        null=True,
        blank=True,
        help_text=_("Distinct users active in the 30 days ending this day."),
    )
    seats_in_use = models.PositiveIntegerField(_("seats in use"), null=True, blank=True)
    api_calls = models.PositiveIntegerField(_("API calls"), default=0)
    departments_active = models.PositiveIntegerField(_("active departments"), null=True, blank=True)
    pricing_page_views = models.PositiveIntegerField(_("pricing page views"), default=0)
    competitor_page_views = models.PositiveIntegerField(_("competitor page views"), default=0)
    new_feature_page_views = models.PositiveIntegerField(_("new feature page views"), default=0)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="one_usage_row_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.date}"


class Feature(models.Model):
    key = models.CharField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    core = models.BooleanField(_("core feature"), default=False)
    enterprise = models.BooleanField(_("enterprise feature"), default=False)
    released_on = models.DateField(_("released on"), null=True, blank=True)

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")

    def __str__(self) -> str:
        return self.name


class FeatureUsage(models.Model):
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="feature_usage",
    )
    date = models.DateField(_("date"))
    feature = models.ForeignKey(Feature, verbose_name=_("feature"), on_delete=models.CASCADE)
    uses = models.PositiveIntegerField(_("uses"), default=0)

    class Meta:
        verbose_name = _("feature usage")
        verbose_name_plural = _("feature usage")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "date", "feature"], name="one_feature_usage_row_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.feature} {self.date}"


class TicketType(models.TextChoices):
    QUESTION = "question", _("Question")
    BUG = "bug", _("Bug report")
    FEATURE_REQUEST = "feature_request", _("Feature request")
    INCIDENT = "incident", _("Incident")
    UPGRADE_INQUIRY = "upgrade_inquiry", _("Upgrade inquiry")
    ENTERPRISE_TRIAL_REQUEST = "enterprise_trial_request", _("Enterprise feature trial request")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Ticket(models.Model):
    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="tickets"
    )
    opened_at = models.DateTimeField(_("opened at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    type = models.CharField(_("type"), max_length=30, choices=TicketType.choices)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        indexes = [models.Index(fields=["account", "opened_at"])]

    def __str__(self) -> str:
        return self.subject or f"ticket {self.pk}"


class NpsResponse(models.Model):
    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="nps_responses"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL
    )
    responded_on = models.DateField(_("responded on"))
    score = models.PositiveSmallIntegerField(_("score"), validators=[MaxValueValidator(10)])
    comment = models.TextField(_("comment"), blank=True, default="")

    class Meta:
        verbose_name = _("NPS response")
        verbose_name_plural = _("NPS responses")
        indexes = [
            models.Index(fields=["account", "responded_on"]),
            # The NPS trend counts every answer of a period by day and score.
            models.Index(fields=["responded_on", "score"]),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.responded_on}: {self.score}"


class SuccessGoal(models.Model):
    """A success KPI the customer set out to reach with the product (SPEC S15), e.g. "close
    the books in 3 days": achieving it is the moment to propose more solutions."""

    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="success_goals"
    )
    goal = models.CharField(_("goal"), max_length=200)
    target = models.CharField(
        _("target"),
        max_length=200,
        blank=True,
        default="",
        help_text=_("The measurable target, e.g. “month-end close in 3 days”."),
    )
    set_on = models.DateField(_("set on"), null=True, blank=True)
    achieved_on = models.DateField(_("achieved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("success goal")
        verbose_name_plural = _("success goals")
        indexes = [models.Index(fields=["account", "achieved_on"])]

    def __str__(self) -> str:
        return f"{self.account}: {self.goal}"

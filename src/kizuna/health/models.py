"""Scorecards (configuration), daily health scores (history) and manual overrides."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.core.fields import money_field
from kizuna.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from kizuna.crm.models import TouchTier
from kizuna.engine.health import Scorecard as ScorecardDefinition
from kizuna.health.overrides import OverrideFacts
from kizuna.health.scorecards import ScorecardError, scorecard_from_dict


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    CAUTION = "caution", _("Caution")
    RISK = "risk", _("Risk")
    CRITICAL = "critical", _("Critical")
    ONBOARDING = "onboarding", _("Onboarding")
    INSUFFICIENT_DATA = "insufficient_data", _("Insufficient data")


def validate_definition(value: Any) -> None:
    try:
        scorecard_from_dict(value)
    except ScorecardError as error:
        raise ValidationError(
            _("Invalid scorecard: %(error)s"), code="invalid", params={"error": error}
        ) from None


class Scorecard(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    touch_tier = models.CharField(
        _("touch tier"), max_length=10, choices=TouchTier.choices, blank=True, default=""
    )
    definition = models.JSONField(
        _("definition"),
        validators=[validate_definition],
        help_text=_("Components, bands, weights and statuses, as in the TOML presets."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        constraints = [
            # One default scorecard per touch tier (the empty tier is the global default).
            models.UniqueConstraint(
                fields=["touch_tier"],
                condition=models.Q(is_default=True),
                name="health_one_default_scorecard_per_tier",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def parsed(self) -> ScorecardDefinition:
        return scorecard_from_dict(self.definition)


class HealthScore(models.Model):
    account = models.ForeignKey(
        "crm.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="health_scores",
    )
    scorecard = models.ForeignKey(
        Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE, related_name="scores"
    )
    date = models.DateField(_("date"))
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=1, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=HealthStatus.choices)
    components = models.JSONField(
        _("components"),
        default=list,
        help_text=_("Per component: measure, value, points, weight, missing."),
    )
    coverage = models.DecimalField(_("coverage"), max_digits=5, decimal_places=4)
    missing = models.JSONField(_("missing components"), default=list, blank=True)

    class Meta:
        verbose_name = _("health score")
        verbose_name_plural = _("health scores")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "scorecard", "date"], name="health_score_unique_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["scorecard", "date", "status"]),
            # Pages read one day of every account: the latest date, the accounts per band and
            # the risk list (score below a threshold), all from this index alone.
            models.Index(fields=["date", "status", "score", "account"]),
            # The risk list reads a day's lowest scores first: in this order, a page of it
            # stops after its rows instead of sorting every score below the threshold. With
            # the account, a book's risk rows and their count are read from the index alone.
            models.Index(fields=["date", "score", "account"]),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.date}: {self.score} ({self.status})"


class HealthOverride(models.Model):
    account = models.ForeignKey(
        "crm.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="health_overrides",
    )
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=1, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=HealthStatus.choices)
    reason = models.TextField(_("reason"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="health_overrides",
    )
    expires_on = models.DateField(
        _("expires on"),
        null=True,
        blank=True,
        help_text=_("From this day the computed score shows again; empty = until removed."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("health override")
        verbose_name_plural = _("health overrides")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.account}: {self.status}"

    def facts(self) -> OverrideFacts:
        return OverrideFacts(
            score=None if self.score is None else float(self.score),
            status=self.status,
            reason=self.reason,
            author=str(self.author),
            created_at=self.created_at,
            expires_on=self.expires_on,
        )


class AccountSegment(models.Model):
    """An account's latest segments (SPEC G1–G3, G5), written with the health scores.

    One row per account, replaced by every health recompute; the formulas are in
    ``kizuna.engine.health_segments`` and ``docs/health.md``.
    """

    account = models.OneToOneField(
        "crm.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="segment",
    )
    as_of = models.DateField(_("as of"))
    touch_tier = models.CharField(_("touch tier"), max_length=10, choices=TouchTier.choices)
    mrr = money_field(_("contracted MRR"))
    arr = money_field(_("ARR"), help_text=_("12 × the latest positive month-end MRR."))
    plan = models.CharField(_("plan"), max_length=50, blank=True, default="")
    products = models.PositiveIntegerField(_("products"), default=0)
    last_used_on = models.DateField(_("last used on"), null=True, blank=True)
    days_since_last_use = models.PositiveIntegerField(
        _("days since last use"), null=True, blank=True
    )
    active_days = models.PositiveIntegerField(
        _("active days"), default=0, help_text=_("Days of use in the frequency window.")
    )
    recency_score = models.PositiveSmallIntegerField(_("recency score"), null=True, blank=True)
    frequency_score = models.PositiveSmallIntegerField(_("frequency score"), null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField(_("monetary score"), null=True, blank=True)
    segment_monthly_churn = models.DecimalField(
        _("tier monthly churn"), max_digits=7, decimal_places=6, null=True, blank=True
    )
    ltv = models.DecimalField(
        _("LTV"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    health_score = models.DecimalField(
        _("health score"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    health_status = models.CharField(
        _("health status"), max_length=20, choices=HealthStatus.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("account segment")
        verbose_name_plural = _("account segments")
        indexes = [
            models.Index(fields=["touch_tier", "health_status"]),
            models.Index(fields=["recency_score", "frequency_score", "monetary_score"]),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.touch_tier}"

    @property
    def rfm(self) -> str:
        """The three scores as one code (``"545"``), empty when the account is not a customer."""
        scores = (self.recency_score, self.frequency_score, self.monetary_score)
        return "" if None in scores else "".join(str(score) for score in scores)


class OwnedSummary(models.Model):
    """A row of a dashboard summary, kept per owner pair so that a book of business (the
    accounts of some CS owners and sales owners) adds up its own rows."""

    cs_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CS owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class BandCount(OwnedSummary):
    """Accounts per health band on a day (written by the ``cs-summary`` recompute)."""

    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=20, choices=HealthStatus.choices)
    accounts = models.PositiveIntegerField(_("accounts"))

    class Meta:
        verbose_name = _("health band count")
        verbose_name_plural = _("health band counts")
        indexes = [models.Index(fields=["date", "status"])]

    def __str__(self) -> str:
        return f"{self.date} {self.status}: {self.accounts}"


class NpsMonth(OwnedSummary):
    """NPS answers of a month: all, promoters (9–10) and detractors (0–6)."""

    month = models.DateField(_("month"))
    responses = models.PositiveIntegerField(_("responses"))
    promoters = models.PositiveIntegerField(_("promoters"))
    detractors = models.PositiveIntegerField(_("detractors"))

    class Meta:
        verbose_name = _("NPS month")
        verbose_name_plural = _("NPS months")
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.responses}"


class PreChurnScores(OwnedSummary):
    """Health scores of churned accounts by whole 30-day months before a churn.

    Kept per churn month and the month of the account's next churn (none if it did not churn
    again): a period counts an account from its latest churn in the period, the churn whose
    next churn falls after the period.
    """

    churn_month = models.DateField(_("churn month"))
    next_churn_month = models.DateField(_("next churn month"), null=True, blank=True)
    months_before = models.PositiveSmallIntegerField(_("months before churn"))
    tenths = models.BigIntegerField(_("sum of scores in tenths"))
    scores = models.PositiveIntegerField(_("scores"))

    class Meta:
        verbose_name = _("pre-churn scores")
        verbose_name_plural = _("pre-churn scores")
        indexes = [models.Index(fields=["churn_month"])]

    def __str__(self) -> str:
        return f"{self.churn_month:%Y-%m} −{self.months_before}: {self.scores}"

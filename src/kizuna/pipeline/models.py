"""Pipelines, their stages, deals and every stage change (SPEC P1–P6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.core.fields import currency_field, external_id_field, money_field
from kizuna.crm.models import Account, ChurnReason, Contact


class PipelineKind(models.TextChoices):
    NEW_BUSINESS = "new_business", _("New business")
    UPSELL = "upsell", _("Upsell / cross-sell")
    RENEWAL = "renewal", _("Renewal")
    SERVICES = "services", _("Professional services")


class Pipeline(models.Model):
    key = models.CharField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=PipelineKind.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class StageOutcome(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    key = models.CharField(_("key"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.DecimalField(
        _("win probability"),
        max_digits=5,
        decimal_places=4,
        help_text=_("Between 0 and 1; 0.35 means 35 %."),
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=StageOutcome.choices, default=StageOutcome.OPEN
    )
    required_fields = models.JSONField(
        _("required fields"),
        default=list,
        blank=True,
        help_text=_("Deal fields that must be filled before a deal enters this stage."),
    )
    is_trial = models.BooleanField(
        _("trial stage"),
        default=False,
        help_text=_("Deals entering this stage start a trial (for trial → paid conversion)."),
    )
    days_before_renewal = models.PositiveSmallIntegerField(
        _("days before renewal"),
        null=True,
        blank=True,
        help_text=_(
            "Renewal pipelines: a deal enters this stage this many days before the term ends."
        ),
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "key"], name="unique_stage_key"),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline.name}: {self.name}"


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    COMPETITOR = "competitor", _("Chose a competitor")
    NO_NEED = "no_need", _("No need / no budget")
    FEATURES = "features", _("Missing features")
    TIMING = "timing", _("Timing")
    NO_RESPONSE = "no_response", _("No response")
    OTHER = "other", _("Other")


class Deal(models.Model):
    external_id = external_id_field()
    title = models.CharField(_("title"), max_length=200)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="deals"
    )
    contacts = models.ManyToManyField(Contact, verbose_name=_("contacts"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN
    )
    amount_mrr = money_field(
        _("MRR amount"), help_text=_("New, added or renewed MRR that the deal brings.")
    )
    one_off_amount = money_field(_("one-off amount"))
    currency = currency_field()
    source = models.CharField(_("lead source"), max_length=50, blank=True, default="")
    plan = models.CharField(_("plan"), max_length=50, blank=True, default="")
    product = models.CharField(_("product"), max_length=50, blank=True, default="")
    contract_months = models.PositiveSmallIntegerField(
        _("contract term (months)"), null=True, blank=True
    )
    effective_date = models.DateField(_("effective date"), null=True, blank=True)
    trial_start = models.DateField(_("trial start"), null=True, blank=True)
    created_on = models.DateField(_("created on"))
    close_date = models.DateField(_("expected close date"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    lost_reason = models.CharField(
        _("lost reason"), max_length=20, choices=LostReason.choices, blank=True, default=""
    )
    churn_reason = models.CharField(
        _("churn reason"), max_length=20, choices=ChurnReason.choices, blank=True, default=""
    )
    details = models.JSONField(
        _("stage details"),
        default=dict,
        blank=True,
        help_text=_("Stage-specific fields such as BANT, quote amount or approval status."),
    )
    renewal_of_term_end = models.DateField(
        _("renews the term ending on"),
        null=True,
        blank=True,
        help_text=_("Renewal deals: the committed term end this deal renews (one deal per term)."),
    )

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["pipeline", "status", "close_date"]),
            models.Index(fields=["owner", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "renewal_of_term_end"],
                condition=models.Q(renewal_of_term_end__isnull=False),
                name="one_renewal_deal_per_term",
            )
        ]

    def __str__(self) -> str:
        return self.title


class DealStageChange(models.Model):
    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("deal stage change")
        verbose_name_plural = _("deal stage changes")
        ordering = ["changed_at"]
        indexes = [models.Index(fields=["deal", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.deal}: {self.to_stage}"


class ForecastResult(models.Model):
    """One row of a forecast metric (SPEC P5) computed over the store by ``recompute``.

    ``metric`` is a name of :data:`kizuna.engine.pipeline.FORECAST_METRICS`; ``key`` holds the
    row's dimensions (pipeline, stage, owner, month, currency, … as the metric groups) and
    ``values`` its figures: money as exact decimal strings rounded to the row's currency,
    ratios and day counts as numbers, dates as ``YYYY-MM-DD``. ``position`` keeps the engine's
    row order. The sales dashboard reads these rows; it never runs the engine.
    """

    metric = models.CharField(_("metric"), max_length=40)
    position = models.PositiveIntegerField(_("position"))
    as_of = models.DateField(_("as of"))
    key = models.JSONField(_("dimensions"), default=dict)
    values = models.JSONField(_("values"), default=dict)

    class Meta:
        verbose_name = _("forecast result")
        verbose_name_plural = _("forecast results")
        ordering = ["metric", "position"]
        constraints = [
            models.UniqueConstraint(fields=["metric", "position"], name="one_forecast_row")
        ]

    def __str__(self) -> str:
        return f"{self.metric} #{self.position}"

"""Churn models (fitted coefficients, versioned) and their predictions per account and date.

Probabilities are stored as floats: they are estimates between 0 and 1, not money.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.crm.models import Account
from kizuna.engine.churn_model import ChurnModel as FittedModel


class ChurnModel(models.Model):
    """One training of the churn model; its primary key is the model version."""

    trained_at = models.DateTimeField(_("trained at"))
    as_of = models.DateField(_("as of"))
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    training_rows = models.PositiveIntegerField(_("training rows"))
    training_churned = models.PositiveIntegerField(_("churned training rows"))
    parameters = models.JSONField(
        _("parameters"), help_text=_("Features, standardisation and coefficients.")
    )

    class Meta:
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.as_of}, {self.horizon_days} d)"

    def fitted(self) -> FittedModel:
        return FittedModel.from_dict(self.parameters)


class ChurnPrediction(models.Model):
    """The probability that the account churns within the model's horizon after ``as_of``, with
    the features that raise it most (``reasons``: feature, value, contribution)."""

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="churn_predictions",
        verbose_name=_("account"),
    )
    as_of = models.DateField(_("as of"))
    probability = models.FloatField(_("probability"))
    reasons = models.JSONField(_("reasons"), default=list)
    model = models.ForeignKey(
        ChurnModel, on_delete=models.CASCADE, related_name="predictions", verbose_name=_("model")
    )

    class Meta:
        verbose_name = _("churn prediction")
        verbose_name_plural = _("churn predictions")
        constraints = [
            models.UniqueConstraint(fields=["account", "as_of"], name="prediction_one_per_day")
        ]
        indexes = [models.Index(fields=["as_of", "-probability"], name="prediction_by_risk")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.as_of}: {self.probability:.3f}"

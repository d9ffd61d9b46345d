"""The log of engine recomputes: what ran, when, how long, and whether it worked."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ComputeRun(models.Model):
    subject = models.CharField(_("subject"), max_length=30)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices)
    as_of = models.DateField(_("as of"), null=True, blank=True)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    message = models.TextField(_("message"), blank=True, default="")

    class Meta:
        verbose_name = _("compute run")
        verbose_name_plural = _("compute runs")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["subject", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.subject} {self.started_at:%Y-%m-%d %H:%M}"

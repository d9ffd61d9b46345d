"""Playbooks: rules (trigger → conditions → actions), the alerts they raise, and their logs.

A rule is data: its trigger, conditions and actions are JSON validated by
:mod:`kizuna.playbooks.rules`, editable in the admin and importable/exportable as TOML. One alert
exists per rule × account × occurrence (a database constraint), so a re-run, a restart or two
workers at once never act twice on the same event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.crm.models import Account, Task


class TriggerKind(models.TextChoices):
    SIGNAL = "signal", _("Signal detected")
    HEALTH_BAND_ENTERED = "health_band_entered", _("Health band entered")
    HEALTH_BAND_LEFT = "health_band_left", _("Health band left")
    SCORE_CROSSED = "score_crossed", _("Health score crossed a threshold")
    RENEWAL_DATE = "renewal_date", _("Days before renewal")
    CONTRACT_START_DATE = "contract_start_date", _("Days after contract start")
    CHURN_DATE = "churn_date", _("Months after churn")
    DEAL_STAGE_CHANGED = "deal_stage_changed", _("Deal stage changed")


class Rule(models.Model):
    key = models.SlugField(_("key"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    enabled = models.BooleanField(_("enabled"), default=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower runs first.")
    )
    trigger_kind = models.CharField(_("trigger"), max_length=30, choices=TriggerKind.choices)
    trigger = models.JSONField(_("trigger parameters"), default=dict, blank=True)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    owner_role = models.CharField(
        _("alert owner"),
        max_length=50,
        default="cs_owner",
        help_text=_("Whose alert it is (and whose daily cap it counts against)."),
    )
    max_enrolments = models.PositiveSmallIntegerField(
        _("re-enrolment cap"),
        null=True,
        blank=True,
        help_text=_("At most this many alerts per account within the re-enrolment window."),
    )
    enrolment_window_days = models.PositiveSmallIntegerField(
        _("re-enrolment window (days)"), default=30
    )
    daily_cap_per_owner = models.PositiveSmallIntegerField(
        _("daily cap per owner"),
        null=True,
        blank=True,
        help_text=_("At most this many alerts of this rule per owner and day."),
    )
    is_default = models.BooleanField(_("shipped default"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("playbook rule")
        verbose_name_plural = _("playbook rules")
        ordering = ["priority", "key"]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SNOOZED = "snoozed", _("Snoozed")
    DISMISSED = "dismissed", _("Dismissed")
    HANDLED = "handled", _("Handled")


class Alert(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="alerts"
    )
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="alerts"
    )
    signal = models.CharField(_("signal"), max_length=50)
    level = models.CharField(_("level"), max_length=10, blank=True, default="")
    occurrence = models.CharField(_("occurrence"), max_length=200)
    occurred_on = models.DateField(_("occurred on"))
    as_of = models.DateField(_("raised by the run as of"))
    detail = models.JSONField(_("what triggered it"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbook_alerts",
    )
    tasks = models.ManyToManyField(
        Task, verbose_name=_("tasks"), blank=True, related_name="playbook_alerts"
    )
    run = models.ForeignKey(
        "RunLog",
        verbose_name=_("raised by run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    """The run that inserted it: after a bulk insert that skipped rows already raised (by an
    earlier or a concurrent run), the run reads back exactly the alerts that are its own."""
    status = models.CharField(
        _("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN
    )
    status_reason = models.TextField(_("reason"), blank=True, default="")
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "account", "occurrence"], name="one_alert_per_occurrence"
            )
        ]
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["as_of", "owner"]),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.signal} ({self.occurrence})"


class Notification(models.Model):
    """An in-app notification; one per user and alert."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="playbook_notifications",
    )
    alert = models.ForeignKey(
        Alert,
        verbose_name=_("alert"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "alert"],
                condition=models.Q(alert__isnull=False),
                name="one_notification_per_user_and_alert",
            )
        ]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RunLog(models.Model):
    """One playbook run: when, as of which day, and what it did in numbers."""

    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True, default="")

    class Meta:
        verbose_name = _("playbook run")
        verbose_name_plural = _("playbook runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.get_status_display()})"


class Outcome(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled (alert raised)")
    ALREADY = "already", _("Already alerted")
    CAPPED = "capped", _("Capped")
    DONE = "done", _("Done")
    UPDATED = "updated", _("Updated existing")
    SKIPPED = "skipped", _("Skipped")
    PENDING = "pending", _("Waiting to be delivered")
    FAILED = "failed", _("Failed")


class ActionLog(models.Model):
    """One line of a run: a match (enrolled, capped, …) or an action and how it went."""

    run = models.ForeignKey(
        RunLog, verbose_name=_("run"), null=True, on_delete=models.CASCADE, related_name="actions"
    )
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), null=True, on_delete=models.SET_NULL, related_name="log"
    )
    alert = models.ForeignKey(
        Alert, verbose_name=_("alert"), null=True, on_delete=models.CASCADE, related_name="log"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(_("action"), max_length=30)
    """An action type, or ``match`` for the enrolment decision, or ``escalation``."""
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    message = models.TextField(_("message"), blank=True, default="")
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("playbook log entry")
        verbose_name_plural = _("playbook log")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["outcome", "action"]),
            models.Index(fields=["rule", "action", "outcome"]),
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.outcome}"


class EscalationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the deadline")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved in time")


class Escalation(models.Model):
    """A deadline on a task: not done by then, it goes to the lead (SPEC W1)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="escalations"
    )
    alert = models.ForeignKey(
        Alert,
        verbose_name=_("alert"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalations",
    )
    task = models.OneToOneField(
        Task,
        verbose_name=_("task"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalation",
    )
    to = models.CharField(
        _("escalate to"), max_length=50, default="cs_lead", help_text=_("A recipient role.")
    )
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbook_escalations",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    deadline = models.DateField(_("deadline"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EscalationStatus.choices,
        default=EscalationStatus.PENDING,
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    lead_task = models.ForeignKey(
        Task,
        verbose_name=_("lead's task"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["deadline", "pk"]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.account} → {self.to} ({self.deadline})"


def default_annual_closures() -> list[str]:
    # The customary Japanese year-end and New Year break (年末年始休暇).
    return ["12-29..01-03"]


class PlaybookSettings(models.Model):
    """The team's playbook settings (one row): calendar, caps, chat webhook, signal thresholds."""

    calendar_country = models.CharField(_("holiday calendar country"), max_length=2, default="JP")
    calendar_subdivision = models.CharField(
        _("holiday calendar region"), max_length=10, blank=True, default=""
    )
    annual_closures = models.JSONField(
        _("company closures every year"),
        default=default_annual_closures,
        blank=True,
        help_text=_('Ranges such as "12-29..01-03".'),
    )
    closed_days = models.JSONField(
        _("company closed days"), default=list, blank=True, help_text=_("Dates, YYYY-MM-DD.")
    )
    open_days = models.JSONField(
        _("company working days"),
        default=list,
        blank=True,
        help_text=_("Dates that are business days despite the calendar, YYYY-MM-DD."),
    )
    daily_cap_per_owner = models.PositiveSmallIntegerField(
        _("daily alert cap per owner"),
        null=True,
        blank=True,
        default=25,
        help_text=_("At most this many new alerts per owner and day, over all rules."),
    )
    chat_webhook_url = models.URLField(_("chat webhook URL"), blank=True, default="")
    email_from = models.CharField(_("e-mail sender"), max_length=200, blank=True, default="")
    signal_settings = models.JSONField(
        _("signal thresholds"),
        default=dict,
        blank=True,
        help_text=_("Changes to the default signal thresholds, by setting name."),
    )

    class Meta:
        verbose_name = _("playbook settings")
        verbose_name_plural = _("playbook settings")

    def __str__(self) -> str:
        return str(_("Playbook settings"))


class DetectedSignal(models.Model):
    """A signal the playbook run detected as of its day, rule or no rule.

    Each real run replaces its day's rows in one transaction, so a re-run never duplicates
    them and readers (``GET /api/signals``) see one run's detection whole.
    """

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="detected_signals",
    )
    signal = models.CharField(_("signal"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10)
    level = models.CharField(_("level"), max_length=10, blank=True, default="")
    occurrence = models.CharField(_("occurrence"), max_length=200)
    occurred_on = models.DateField(_("occurred on"))
    as_of = models.DateField(_("detected as of"))
    detail = models.JSONField(_("figures"), default=dict, blank=True)
    run = models.ForeignKey(
        RunLog,
        verbose_name=_("detected by run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="detected_signals",
    )

    class Meta:
        verbose_name = _("detected signal")
        verbose_name_plural = _("detected signals")
        ordering = ["as_of", "account", "signal", "occurrence"]
        constraints = [
            models.UniqueConstraint(
                fields=["as_of", "account", "signal", "occurrence"],
                name="one_detected_signal_per_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.signal} ({self.occurrence}) as of {self.as_of}"

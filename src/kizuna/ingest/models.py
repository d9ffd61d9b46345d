"""What the importers remember between runs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SyncCursor(models.Model):
    """How far an incremental import from a billing system has read one kind of object.

    ``position`` is the creation time (Unix seconds) of the newest object read; the next run
    asks only for objects created after it.
    """

    source = models.CharField(_("source"), max_length=20)
    object_type = models.CharField(_("object type"), max_length=50)
    position = models.BigIntegerField(_("position"), default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("import cursor")
        verbose_name_plural = _("import cursors")
        constraints = [
            models.UniqueConstraint(fields=["source", "object_type"], name="one_cursor_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.object_type} {self.position}"

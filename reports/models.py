"""Exports too large to stream in one request: written by a background job to a file, downloaded when ready."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """One export someone asked for: the report and its filters as they were, its progress, the file."""

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting to start")
        RUNNING = "running", _("being written")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    report = models.CharField(_("report"), max_length=40)
    fmt = models.CharField(_("format"), max_length=10)
    params = models.TextField(_("filters"), blank=True, help_text=_("The report's query string, as it was asked for."))
    show_pii = models.BooleanField(_("unmasked phone numbers"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    filename = models.CharField(_("file name"), max_length=200)
    rows_total = models.PositiveIntegerField(_("rows expected"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True, max_length=300)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("asked for at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "id"], name="export_state_idx"),
            models.Index(fields=["requested_by", "-id"], name="export_requester_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename}.{self.fmt}"

    @property
    def percent(self) -> int | None:
        if self.state == self.State.DONE:
            return 100
        if not self.rows_total:
            return None
        return min(99, int(self.rows_done * 100 / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

"""Exports too large to stream in one request: written by a background job to a file, downloaded when ready."""

from __future__ import annotations

import json

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


class DailyFigures(models.Model):
    """What happened on one local day, per channel and product category: the KPI dashboard and the cost ratio read
    these rows instead of the cases (``reports.rollups`` writes them).

    Each group of columns counts by its own day: the cases' figures by the day they were opened (their state as it
    is now), the ratings by the day they were given, orders and margins by the day the order was placed. The
    category is the case's main product category, or the order line's; orders themselves are counted on the row
    without a category (an order has no single one).
    """

    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=20)
    category = models.ForeignKey(
        "customers.ProductCategory",
        verbose_name=_("product category"),
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
    )
    # Cases opened that day
    opened = models.PositiveIntegerField(_("cases opened"), default=0)
    finished = models.PositiveIntegerField(_("finished"), default=0)
    closed = models.PositiveIntegerField(_("closed"), default=0)
    one_pass = models.PositiveIntegerField(_("closed at the first offer"), default=0)
    returns = models.PositiveIntegerField(_("returns and refunds"), default=0)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)
    responded = models.PositiveIntegerField(_("answered"), default=0)
    response_us = models.BigIntegerField(_("first response, total (µs)"), default=0)
    resolved_us = models.BigIntegerField(_("resolution of the closed, total (µs)"), default=0)
    # Ratings given that day
    rated = models.PositiveIntegerField(_("CSAT ratings"), default=0)
    csat_sum = models.PositiveIntegerField(_("CSAT, total"), default=0)
    nps_n = models.PositiveIntegerField(_("NPS ratings"), default=0)
    promoters = models.PositiveIntegerField(_("promoters"), default=0)
    detractors = models.PositiveIntegerField(_("detractors"), default=0)
    # Orders placed that day
    orders = models.PositiveIntegerField(_("orders"), default=0)
    order_lines = models.PositiveIntegerField(_("order lines"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=16, decimal_places=2, default=0)
    margin = models.DecimalField(_("gross margin"), max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        indexes = [models.Index(fields=["day"], name="dailyfigures_day")]

    def __str__(self) -> str:
        return f"{self.day} · {self.channel} · {self.category_id or '—'}"


class DailyCompensation(models.Model):
    """Compensation per local day, kind and state (as it is now), by the day it was proposed or approved."""

    class Basis(models.TextChoices):
        PROPOSED = "proposed", _("proposed on")
        APPROVED = "approved", _("approved on")

    day = models.DateField(_("day"))
    basis = models.CharField(_("date"), max_length=10, choices=Basis.choices)
    channel = models.CharField(_("channel"), max_length=20)
    category = models.ForeignKey(
        "customers.ProductCategory",
        verbose_name=_("product category"),
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20)
    state = models.CharField(_("state"), max_length=20)
    count = models.PositiveIntegerField(_("count"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("daily compensation")
        verbose_name_plural = _("daily compensation")
        indexes = [models.Index(fields=["basis", "day"], name="dailycomp_basis_day")]

    def __str__(self) -> str:
        return f"{self.day} · {self.basis} · {self.kind} · {self.state}"


class DailyTeam(models.Model):
    """Per local day and staff member: the cases opened that day they are assigned (their state as it is now), and
    the compensation they proposed that was granted that day (the team performance page)."""

    day = models.DateField(_("day"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), on_delete=models.CASCADE, related_name="+"
    )
    cases = models.PositiveIntegerField(_("cases"), default=0)
    open = models.PositiveIntegerField(_("still open"), default=0)
    closed = models.PositiveIntegerField(_("closed"), default=0)
    responded = models.PositiveIntegerField(_("answered"), default=0)
    response_us = models.BigIntegerField(_("first response, total (µs)"), default=0)
    resolved_us = models.BigIntegerField(_("resolution of the closed, total (µs)"), default=0)
    rated = models.PositiveIntegerField(_("CSAT ratings"), default=0)
    csat_sum = models.PositiveIntegerField(_("CSAT, total"), default=0)
    granted = models.DecimalField(_("compensation granted"), max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("daily team figures")
        verbose_name_plural = _("daily team figures")
        indexes = [models.Index(fields=["day"], name="dailyteam_day")]

    def __str__(self) -> str:
        return f"{self.day} · {self.user_id}"


class DailyWords(models.Model):
    """How many cases opened on a local day use each keyword of their reason (the defect word cloud)."""

    day = models.DateField(_("day"))
    word = models.CharField(_("word"), max_length=30)
    cases = models.PositiveIntegerField(_("cases"), default=0)

    class Meta:
        verbose_name = _("daily keywords")
        verbose_name_plural = _("daily keywords")
        indexes = [models.Index(fields=["day"], name="dailywords_day")]

    def __str__(self) -> str:
        return f"{self.day} · {self.word}"


class FloatListField(models.Field):
    """A list of floats: a ``double precision[]`` on PostgreSQL (read as an array by the database's own functions),
    JSON text elsewhere."""

    description = _("list of numbers")

    def db_type(self, connection) -> str:
        return "double precision[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None or connection.vendor == "postgresql":
            return value
        return json.dumps(value)

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        return [float(item) for item in json.loads(value)]

    def value_to_string(self, obj) -> str:
        return json.dumps(self.value_from_object(obj))


class DailyWaits(models.Model):
    """The waits that ended on a local day at one node, by the local weekday and hour they began, sorted (the
    waiting-time heatmap takes the median of a period's lists)."""

    day = models.DateField(_("day"))
    from_state = models.CharField(_("node"), max_length=32)
    weekday = models.PositiveSmallIntegerField(_("weekday the wait began (1 = Monday)"))
    hour = models.PositiveSmallIntegerField(_("hour the wait began"))
    waits = FloatListField(_("waits (seconds)"))

    class Meta:
        verbose_name = _("daily waits")
        verbose_name_plural = _("daily waits")
        indexes = [models.Index(fields=["day", "from_state"], name="dailywaits_day")]

    def __str__(self) -> str:
        return f"{self.day} · {self.from_state} · {self.weekday}/{self.hour}"


class RollupState(models.Model):
    """How far the rollups are: rows of cases, compensations and orders stamped before ``watermark`` are counted
    (``settled``: and committed, as the job saw them). One row; a refresh locks it, so two refreshes never write
    the same days at once."""

    name = models.CharField(max_length=20, unique=True, default="rollups")
    watermark = models.DateTimeField(_("counted up to"))
    settled = models.DateTimeField(_("settled up to"), help_text=_("The background job's last refresh."))
    refreshed_at = models.DateTimeField(_("last refreshed at"))
    days_refreshed = models.PositiveIntegerField(_("days recounted by the last refresh"), default=0)
    #: The newest case event counted (the waits of later ones are new: their days are recounted).
    last_event = models.BigIntegerField(_("last case event counted"), default=0)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"{self.name} @ {self.watermark:%Y-%m-%d %H:%M:%S}"

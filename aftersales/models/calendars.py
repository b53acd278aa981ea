"""Service calendars: when the team works (hours per weekday), the year's holidays and make-up working days (调休),
and campaign periods (大促: 618, Double 11) with their own SLA targets and staffing notes.

A case's first-response and resolution clocks count working time on its calendar: its queue's, else its
channel's, else the default one; with no calendar at all they count calendar time, as before.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aftersales.models.choices import Priority
from aftersales.models.configuration import Queue
from customers.models import Channel


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class ServiceCalendar(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    queue = models.OneToOneField(
        Queue,
        verbose_name=_("queue"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar",
        help_text=_("Cases in this queue follow this calendar."),
    )
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=Channel.choices,
        blank=True,
        help_text=_("Cases of this channel follow it when their queue has no calendar of its own."),
    )
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("Every other case follows the default calendar (at most one).")
    )
    makeup_hours_from = models.PositiveSmallIntegerField(
        _("make-up working days keep the hours of"),
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text=_("A make-up working day (调休, often a Saturday or Sunday) is worked with this weekday's hours."),
    )

    class Meta:
        verbose_name = _("service calendar")
        verbose_name_plural = _("service calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="servicecalendar_one_default",
                violation_error_message=_("Another calendar is already the default."),
            ),
            models.UniqueConstraint(
                fields=["channel"],
                condition=~Q(channel=""),
                name="servicecalendar_one_per_channel",
                violation_error_message=_("Another calendar already serves this channel."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    calendar = models.ForeignKey(
        ServiceCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="hours"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"), help_text=_("00:00 means midnight, the end of the day."))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["weekday", "starts"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"

    def clean(self):
        midnight = self.ends is not None and self.ends.hour == self.ends.minute == 0
        if self.starts is not None and self.ends is not None and not midnight and self.ends <= self.starts:
            raise ValidationError({"ends": _("The end must come after the start (00:00 for midnight).")})


class CalendarDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no service)")
        WORKDAY = "workday", _("Make-up working day (调休)")

    calendar = models.ForeignKey(
        ServiceCalendar, verbose_name=_("calendar"), on_delete=models.CASCADE, related_name="days"
    )
    day = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=40, blank=True, help_text=_("E.g. 国庆节."))

    class Meta:
        verbose_name = _("holiday or make-up day")
        verbose_name_plural = _("holidays and make-up days")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "day"],
                name="calendarday_once",
                violation_error_message=_("This date is already in the calendar."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.get_kind_display()} {self.name}".strip()


class Campaign(models.Model):
    """A sales campaign (大促) with its own SLA targets while it runs."""

    name = models.CharField(_("name"), max_length=60)
    calendar = models.ForeignKey(
        ServiceCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text=_("Empty: every case opened during the campaign."),
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    staffing_notes = models.TextField(_("staffing notes"), blank=True, help_text=_("Shifts, extra agents, overtime."))

    class Meta:
        verbose_name = _("campaign period")
        verbose_name_plural = _("campaign periods")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="campaign_ends_after_start",
                violation_error_message=_("A campaign must end after it starts."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class CampaignTarget(models.Model):
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response target (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution target (minutes)"))

    class Meta:
        verbose_name = _("campaign SLA target")
        verbose_name_plural = _("campaign SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "priority"], name="campaigntarget_once"),
            models.CheckConstraint(
                condition=Q(first_response_minutes__gte=1) & Q(resolution_minutes__gte=1),
                name="campaigntarget_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.get_priority_display()}"


__all__ = ["CalendarDay", "Campaign", "CampaignTarget", "ServiceCalendar", "Weekday", "WorkingHours"]

"""Service calendars (hours per weekday, holidays and make-up days) and campaign periods with their SLA targets."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from aftersales.models import CalendarDay, Campaign, CampaignTarget, ServiceCalendar, WorkingHours


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0
    fields = ("weekday", "starts", "ends")


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0
    fields = ("day", "kind", "name")


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "queue", "channel", "is_default", "week")
    list_select_related = ("queue",)
    inlines = (WorkingHoursInline, CalendarDayInline)
    fields = ("name", "is_default", "queue", "channel", "makeup_hours_from")

    @admin.display(description=_("service hours"))
    def week(self, calendar: ServiceCalendar) -> str:
        rows = list(calendar.hours.all())
        return "；".join(str(row) for row in rows) or _("none: counted in calendar time")


class CampaignTargetInline(admin.TabularInline):
    model = CampaignTarget
    extra = 0
    fields = ("priority", "first_response_minutes", "resolution_minutes")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "calendar", "starts_at", "ends_at")
    list_select_related = ("calendar",)
    inlines = (CampaignTargetInline,)
    fields = ("name", "calendar", "starts_at", "ends_at", "staffing_notes")

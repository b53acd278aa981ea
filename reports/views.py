"""Report pages: finance's compensation report and exports, the cost funnel and ratio, and the
supervisors' KPI dashboard, waiting-time heatmap, defect word cloud and team performance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.models import CaseState, Compensation
from aftersales.selectors import corrective_actions_by_category
from aftersales.web.views._common import area_required
from aftersales.web.views.queue import _page_size
from audit.recording import Action, record
from config.exports import XLSX_CONTENT_TYPE, csv_response
from config.pagination import CappedCountPaginator
from config.periods import Period, month_of, parse_period, today
from customers.masking import can_see_pii
from customers.models import ProductCategory
from reports import background, charts, exports, selectors
from reports.filters import CompensationReportFilter
from reports.models import ExportJob

WEEKDAYS = [
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
]


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def period(self, default_days: int) -> Period:
        data = self.cleaned_data if self.is_valid() else {}
        return parse_period(data.get("date_from"), data.get("date_to"), default_days=default_days)


def _period_form(request, default_days: int, extra: type[forms.Form] | None = None):
    form = (extra or PeriodForm)(request.GET or None)
    return form, form.period(default_days)


# --------------------------------------------------------------------------
# Compensation report (finance)
# --------------------------------------------------------------------------
def _report_filter(request) -> CompensationReportFilter:
    return CompensationReportFilter(request.GET, queryset=Compensation.objects.all())


@area_required("money_reports")
def compensation_report(request):
    report = _report_filter(request)
    queryset = report.qs
    totals = selectors.compensation_totals(queryset, report.basis_field)
    paginator = CappedCountPaginator(selectors.compensation_rows(queryset), _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    chart = charts.stacked_bars(
        _("Compensation by day and kind"),
        [f"{entry['day']:%m-%d}" for entry in totals.days],
        [(label, [entry["by_kind"].get(kind, 0) for entry in totals.days]) for kind, label in totals.kinds],
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/compensation.html",
        {
            "filter": report,
            "period": report.period,
            "totals": totals,
            "chart": chart,
            "page": page,
            "paginator": paginator,
            "show_pii": can_see_pii(request.user),
            "csv_url": f"{reverse('reports:compensation_export', args=['csv'])}?{query.urlencode()}",
            "xlsx_url": f"{reverse('reports:compensation_export', args=['xlsx'])}?{query.urlencode()}",
            "stream_limit": background.stream_limit(),
            "recent_exports": list(background.exports_of(request.user, limit=1)),
        },
    )


@area_required("money_reports")
def compensation_export(request, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    report = _report_filter(request)
    basis = (report.form.cleaned_data.get("basis") if report.form.is_valid() else None) or "paid"
    filename = f"compensation_{basis}_{report.period.label()}"
    queryset = report.qs  # the exports read plain value rows: no related objects to load
    show_pii = can_see_pii(request.user)
    limit = background.stream_limit()
    counted = queryset.order_by()[: limit + 1].count()
    record(
        Action.EXPORT,
        request=request,
        target=filename,
        detail={
            "format": fmt,
            "unmasked_phones": show_pii,
            "filters": request.GET.urlencode(),
            "background": counted > limit,
        },
    )
    if counted > limit:  # too many to write within one request: a background export, followed on its page
        params = request.GET.copy()
        job = background.export_request(
            user=request.user,
            report="compensation",
            fmt=fmt,
            params=params,
            show_pii=show_pii,
            filename=filename,
            rows_total=queryset.order_by().count(),
        )
        return HttpResponseRedirect(reverse("reports:export", args=[job.pk]))
    if fmt == "csv":
        return exports.csv_response(queryset, filename=filename, show_pii=show_pii)
    return exports.xlsx_response(queryset, filename=filename, show_pii=show_pii, sheet_title=_("Compensation"))


@area_required("money_reports")
def export_status(request, job_id: int):
    """One background export: its progress while it is written (the page refreshes itself), then the link."""
    job = get_object_or_404(ExportJob, pk=job_id, requested_by=request.user)
    return render(
        request,
        "reports/export.html",
        {"job": job, "recent": background.exports_of(request.user), "runner": _runner_hint()},
    )


def _runner_hint() -> str:
    if getattr(settings, "CELERY_BROKER_URL", ""):
        return ""
    return _("Exports are written by the background runner (manage.py run_jobs); if none runs, start one.")


@area_required("money_reports")
def export_download(request, job_id: int):
    """The file of a finished export, for the person who asked for it."""
    job = get_object_or_404(ExportJob, pk=job_id, requested_by=request.user, state=ExportJob.State.DONE)
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = XLSX_CONTENT_TYPE if job.fmt == "xlsx" else "text/csv; charset=utf-8"
    record(
        Action.EXPORT,
        request=request,
        target=f"{job.filename}.{job.fmt}",
        detail={"downloaded": job.pk, "rows": job.rows_done, "unmasked_phones": job.show_pii},
    )
    return FileResponse(handle, as_attachment=True, filename=f"{job.filename}.{job.fmt}", content_type=content_type)


# --------------------------------------------------------------------------
# Cost funnel and cost ratio (finance and supervisors)
# --------------------------------------------------------------------------
@area_required("money_reports")
def costs(request):
    form, period = _period_form(request, default_days=90)
    funnel_rows = selectors.cost_funnel(period)
    ratio_rows = selectors.cost_ratio(period)
    this_month = month_of(today()).start
    alerts = [row for row in ratio_rows if row.month == this_month and row.alert]
    by_month: dict[date, dict] = {}
    for row in ratio_rows:
        entry = by_month.setdefault(row.month, {"month": row.month, "cost": Decimal(0), "margin": Decimal(0)})
        entry["cost"] += row.cost
        entry["margin"] += row.margin
    months = []
    for entry in sorted(by_month.values(), key=lambda e: e["month"]):
        ratio = (entry["cost"] / entry["margin"] * 100).quantize(Decimal("0.1")) if entry["margin"] > 0 else None
        months.append({**entry, "ratio": ratio, "alert": selectors.over_a_third(entry["cost"], entry["margin"])})
    return render(
        request,
        "reports/costs.html",
        {
            "form": form,
            "period": period,
            "funnel": funnel_rows,
            "funnel_chart": charts.funnel(_("Compensation cost funnel"), funnel_rows),
            "ratio_rows": ratio_rows,
            "months": months,
            "ratio_chart": charts.hbars(
                _("After-sales cost as a share of gross margin"),
                [
                    (f"{m['month']:%Y-%m}", float(m["ratio"] or 0), f"{m['ratio']}%" if m["ratio"] is not None else "—")
                    for m in months
                ],
                color=charts.PALETTE[3],
                axis=_("after-sales cost as a share of gross margin"),
                percent=True,
            ),
            "alerts": alerts,
            "threshold": "33.3",
        },
    )


# --------------------------------------------------------------------------
# Supervisors: KPI dashboard, waiting-time heatmap, word cloud, team
# --------------------------------------------------------------------------
def _fmt_kpi(kpi, value) -> str:
    if value is None:
        return "—"
    return f"{value}{kpi.unit}" if kpi.unit in ("%", "h", "/5") else f"{value}"


@area_required("analytics")
def dashboard(request):
    form, period = _period_form(request, default_days=56)
    data = selectors.kpis(period)
    labels = [f"{week['week']:%m-%d}" for week in data["weeks"]]
    cards = []
    for kpi in selectors.KPIS:
        value = data["overall"][kpi.key]
        cards.append(
            {
                "kpi": kpi,
                "value": _fmt_kpi(kpi, value),
                "target": _fmt_kpi(kpi, kpi.target),
                "status": selectors.kpi_status(kpi, value),
                "better": kpi.better,
                "weeks": [
                    (label, _fmt_kpi(kpi, week[kpi.key])) for label, week in zip(labels, data["weeks"], strict=True)
                ],
                "chart": charts.trend(
                    str(kpi.label),
                    labels,
                    [week[kpi.key] for week in data["weeks"]],
                    target=kpi.target,
                    unit=kpi.unit,
                    better=kpi.better,
                ),
            }
        )
    return render(
        request, "reports/dashboard.html", {"form": form, "period": period, "cards": cards, "counts": data["counts"]}
    )


class HeatmapForm(PeriodForm):
    node = forms.ChoiceField(
        label=gettext_lazy("node"),
        required=False,
        choices=[("", gettext_lazy("all nodes where the customer waits on us"))]
        + [(state, CaseState(state).label) for state in selectors.WAITING_NODES],
    )


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    if hours >= 24:
        return _("%(days).1f days") % {"days": hours / 24}
    if hours >= 1:
        return _("%(hours).1f h") % {"hours": hours}
    return _("%(minutes).0f min") % {"minutes": seconds / 60}


@area_required("analytics")
def heatmap(request):
    form, period = _period_form(request, default_days=30, extra=HeatmapForm)
    node = form.cleaned_data.get("node") if form.is_valid() else ""
    data = selectors.waiting_heatmap(period, node or None)
    chart = charts.heatmap(
        _("Median customer waiting time by weekday and hour"),
        data["grid"],
        rows=[str(d) for d in WEEKDAYS],
        peak=data["max"],
        fmt=_duration,
    )
    cells = sum(cell["count"] for cell in data["grid"].values())
    table = [
        {
            "day": str(day),
            "hours": [
                _duration(data["grid"][(d, hour)]["median"]) if (d, hour) in data["grid"] else "" for hour in range(24)
            ],
        }
        for d, day in enumerate(WEEKDAYS, start=1)
    ]
    return render(
        request,
        "reports/heatmap.html",
        {"form": form, "period": period, "chart": chart, "waits": cells, "table": table, "hours": range(24)},
    )


class WordsForm(PeriodForm):
    category = forms.ModelChoiceField(
        label=gettext_lazy("product category"),
        queryset=ProductCategory.objects.all(),
        required=False,
        empty_label=gettext_lazy("all"),
    )
    sku = forms.CharField(label=gettext_lazy("SKU"), required=False, max_length=40)


@area_required("analytics")
def words(request):
    form, period = _period_form(request, default_days=30, extra=WordsForm)
    data = form.cleaned_data if form.is_valid() else {}
    category, sku = data.get("category"), (data.get("sku") or "").strip()
    cloud = selectors.word_cloud(period, category=category.pk if category else None, sku=sku)
    queue = reverse("desk:queue")

    def url(word: str) -> str:
        params = {
            "keyword": word,
            "state": "any",
            "opened_from": period.start.isoformat(),
            "opened_to": period.end.isoformat(),
        }
        if category:
            params["keyword_category"] = category.pk  # the same main category the cloud counted by
        if sku:
            params["keyword_sku"] = sku
        return f"{queue}?{urlencode(params)}"

    for item in cloud:
        item["url"] = url(item["word"])
    chart = charts.word_cloud(_("Defect keywords"), cloud, url=url)
    # Beside what customers complained of: the causes found and whether their corrective actions are done.
    loop = corrective_actions_by_category(since=period.since, until=period.until)
    return render(
        request,
        "reports/words.html",
        {"form": form, "period": period, "cloud": cloud, "chart": chart, "loop": loop},
    )


@area_required("analytics")
def team(request):
    form, period = _period_form(request, default_days=30)
    rows = selectors.team_performance(period)
    chart = charts.hbars(
        _("Cases per agent"),
        [(row["name"], row["cases"], str(row["cases"])) for row in rows[:20]],
        color=charts.PALETTE[0],
        axis=_("cases opened in the period"),
    )
    return render(request, "reports/team.html", {"form": form, "period": period, "rows": rows, "chart": chart})


# --------------------------------------------------------------------------
# Response templates: effect data and the monthly health report
# --------------------------------------------------------------------------
@area_required("analytics")
def template_effects_page(request):
    from aftersales.replies.library import effects_table, template_effects

    form, period = _period_form(request, default_days=90)
    effects = template_effects(since=period.since, until=period.until)
    if request.GET.get("format") == "csv":
        header, rows = effects_table(effects)
        record(Action.EXPORT, request=request, target=f"template_effects_{period.label()}", detail={"format": "csv"})
        return csv_response(filename=f"template_effects_{period.label()}", header=header, rows=rows)
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "reports/template_effects.html",
        {"form": form, "period": period, "effects": effects, "csv_url": f"?{query.urlencode()}"},
    )


@area_required("analytics")
def health_list(request):
    from aftersales.models import HealthReport

    reports = HealthReport.objects.order_by("-month")[:36]
    return render(request, "reports/health_list.html", {"reports": reports})


def _health_or_404(month: str):
    from datetime import datetime

    from aftersales.models import HealthReport

    try:
        day = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise Http404 from None
    report = HealthReport.objects.filter(month=day).first()
    if report is None:
        raise Http404
    return report


@area_required("analytics")
def health_detail(request, month: str):
    from aftersales.replies.health import suggestion_text

    report = _health_or_404(month)
    templates = [{**row, "suggestion_text": suggestion_text(row)} for row in report.templates]
    fields = [{**row, "suggestion_text": suggestion_text(row)} for row in report.optional_fields]
    return render(request, "reports/health_detail.html", {"report": report, "templates": templates, "fields": fields})


@area_required("analytics")
def health_export(request, month: str):
    from aftersales.replies.health import suggestion_text

    report = _health_or_404(month)
    header = [
        _("kind"),
        _("code"),
        _("name"),
        _("cases"),
        _("used or filled"),
        _("rate"),
        _("flagged"),
        _("suggestion"),
    ]
    yes = _("yes")
    rows = [
        *(
            [
                _("template"),
                row["code"],
                row["title"],
                row["eligible"],
                row["used"],
                row["rate"] or "",
                yes if row["flagged"] else "",
                suggestion_text(row),
            ]
            for row in report.templates
        ),
        *(
            [
                _("field"),
                row["field"],
                row["label"],
                row["applicable"],
                row["filled"],
                row["rate"] or "",
                yes if row["flagged"] else "",
                suggestion_text(row),
            ]
            for row in report.optional_fields
        ),
    ]
    record(Action.EXPORT, request=request, target=f"template_health_{report.month:%Y-%m}", detail={"format": "csv"})
    return csv_response(filename=f"template_health_{report.month:%Y-%m}", header=header, rows=rows)

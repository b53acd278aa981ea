"""The professional-claimant report: flagged customers, the reasons, their history; clearing needs a justification."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.models import Case, RiskThresholds
from aftersales.web.views._common import area_required, run_service
from aftersales.web.views.queue import _page_size
from audit.recording import record_unmasked
from config.pagination import CappedCountPaginator
from customers.masking import can_see_pii
from customers.models import CustomerRiskFlag


class ClearFlagForm(forms.Form):
    justification = forms.CharField(
        label=gettext_lazy("Justification"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Why this customer is not a professional claimant (kept with the flag)."),
    )


def _rows(flags, user, bound=None):
    customer_ids = [flag.customer_id for flag in flags]
    history = defaultdict(list)
    for case in (
        Case.objects.filter(customer_id__in=customer_ids)
        .only("pk", "number", "state", "request_type", "opened_at", "customer_id")
        .order_by("customer_id", "-opened_at")
    ):
        if len(history[case.customer_id]) < 5:
            history[case.customer_id].append(case)
    show_pii = can_see_pii(user)
    if show_pii and flags:
        record_unmasked(str(_("claimant review")), customers=customer_ids)
    rows = []
    for flag in flags:
        form = bound[1] if bound and bound[0] == flag.pk else ClearFlagForm()
        rows.append(
            {
                "flag": flag,
                "phone": flag.customer.phone if show_pii else flag.customer.masked_phone,
                "history": history[flag.customer_id],
                "form": form,
                "open": bool(bound and bound[0] == flag.pk),
                "clear_url": reverse("desk:claimant_clear", args=[flag.pk]),
            }
        )
    return rows


@area_required("risk")
def claimants(request):
    return _render(request)


def _render(request, bound=None, status=200):
    cleared = request.GET.get("show") == "cleared"
    flags = (
        CustomerRiskFlag.objects.filter(kind=CustomerRiskFlag.Kind.PROFESSIONAL_CLAIMANT, active=not cleared)
        .select_related("customer", "cleared_by")
        .order_by("-cleared_at" if cleared else "-flagged_at", "-id")
    )
    paginator = CappedCountPaginator(flags, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "aftersales/claimants.html",
        {
            "rows": _rows(list(page.object_list), request.user, bound),
            "page": page,
            "paginator": paginator,
            "cleared": cleared,
            "thresholds": RiskThresholds.current(),
        },
        status=status,
    )


@require_POST
@area_required("risk")
def claimant_clear(request, flag_id: int):
    form = ClearFlagForm(request.POST)
    back = reverse("desk:claimants")
    if form.is_valid():
        response = run_service(
            request,
            form=form,
            call=lambda d: services.customer_flag_clear(
                flag_id=flag_id, actor=request.user, justification=d["justification"]
            ),
            success=lambda flag: _("The flag on %(name)s is cleared.") % {"name": flag.customer.name},
            redirect_to=back,
        )
        if response is not None:
            return response
    if "flag" in form.errors:
        messages.error(request, " ".join(form.errors["flag"]))
        return HttpResponseRedirect(back)
    return _render(request, bound=(flag_id, form), status=400)

"""Start pages per role: the QC bench, the supervisor's approvals, finance's payables; the follow-up visits due and
the complaints' open corrective actions."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseState, Compensation
from aftersales.permissions import personal_authority
from aftersales.selectors import (
    FOLLOW_UP_TABS,
    PAYOUT_AGEING_DAYS,
    PAYOUT_TABS,
    QC_STATES,
    RECEIVABLE_STATES,
    active_returns_of,
    compensation_actions_for,
    corrective_actions_by_category,
    follow_ups_for,
    may_use,
    offers_awaiting_approval,
    open_corrective_actions,
    payables,
    payables_total,
    qc_worklist_for,
    requesters_of,
    start_area,
    with_offer_total,
)
from aftersales.selectors.filters import PayoutFilter
from aftersales.services.compensations import offer_total
from aftersales.web.views._common import area_required, error_text, safe_next
from aftersales.web.views.queue import _page_size
from aftersales.workflow.transitions import TRANSITIONS
from config.pagination import CappedCountPaginator

#: An offer up to this total is "small": supervisors may approve such offers together.
SMALL_OFFER = Decimal("300.00")
#: At most this many offers are approved in one go.
BULK_APPROVALS = 50
#: Which QC tab opens when none is asked for: the first of these with work in it.
QC_BENCH_ORDER = (CaseState.RETURN_SHIPPED, CaseState.AWAITING_RETURN, CaseState.IN_QC, CaseState.AWAITING_DISPATCH)
#: What a supervisor decides on the approvals page (the case page offers the rest).
OFFER_DECISIONS = ("approve_offer", "return_offer")
AREA_URLS = {"queue": "desk:queue", "board": "desk:board", "qc": "desk:qc", "finance": "desk:finance"}


@login_required
def home(request):
    """Each role lands on its own start page."""
    area = start_area(request.user)
    if area is None:
        raise PermissionDenied
    return redirect(AREA_URLS[area])


@area_required("qc")
def qc(request):
    """Goods coming back (record receipt here) and goods on the bench (inspect on the case page)."""
    term = (request.GET.get("q") or "").strip()
    cap = CappedCountPaginator.cap
    counts = {  # with the search, so a scanned tracking number shows which tab holds its case
        state: qc_worklist_for(request.user, state).search(term).order_by()[: cap + 1].count() for state in QC_STATES
    }
    tab = request.GET.get("tab")
    if tab not in QC_STATES:  # parcels on their way first, then the first tab with work (a scan: the tab of its case)
        tab = next((state for state in QC_BENCH_ORDER if counts[state]), CaseState.RETURN_SHIPPED)
    cases = qc_worklist_for(request.user, tab).search(term)
    paginator = CappedCountPaginator(cases, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    parcels = active_returns_of(page.object_list) if tab == CaseState.RETURN_SHIPPED else {}
    action = TRANSITIONS["send_goods" if tab == CaseState.AWAITING_DISPATCH else "receive"]
    both = TRANSITIONS["receive_inspect"]
    receivable = tab in RECEIVABLE_STATES and request.user.has_perm("aftersales.inspect_case")
    single = len(page.object_list) == 1
    rows = [
        {
            "case": case,
            "form": action.form(case=case, user=request.user, auto_id=f"id_{case.pk}_%s"),
            "parcel": parcels.get(case.pk),
            # The parcel at hand (a scanned number finds one case): receive and inspect it in one form, open;
            # in a longer list each row links to that form on its case page (fifty forms would weigh the page).
            "inspect_form": both.form(case=case, user=request.user, auto_id=f"id_{case.pk}_ri_%s")
            if receivable and single
            else None,
            "inspect_link": receivable and not single,
            "inspect_open": single,
        }
        for case in page.object_list
    ]
    return render(
        request,
        "aftersales/qc.html",
        {
            "tab": tab,
            "tabs": [(state, CaseState(state).label, counts[state]) for state in QC_STATES],
            "cap": paginator.cap,
            "q": term,
            "page": page,
            "paginator": paginator,
            "rows": rows,
            "receivable": tab in RECEIVABLE_STATES,
            "dispatching": tab == CaseState.AWAITING_DISPATCH,
        },
    )


@area_required("approvals")
def approvals(request):
    """Offers above an agent's authority, waiting for a supervisor."""
    offers = with_offer_total(offers_awaiting_approval())
    small = request.GET.get("small") == "1"
    if small:
        offers = offers.filter(offer_sum__lte=SMALL_OFFER)
    paginator = CappedCountPaginator(offers, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    back = "?" + urlencode({"next": request.get_full_path()})
    requesters = requesters_of(page.object_list)
    now = timezone.now()
    rows = []
    for case in page.object_list:
        requester = requesters.get(case.requested_by_id)
        rows.append(
            {
                "case": case,
                "requester": requester,
                "waited": now - case.requested_at if case.requested_at else None,
                "authority": personal_authority(requester, case.policy_version) if requester else None,
                "total": offer_total(case.live_compensations),
                "forms": [
                    {
                        "name": action.name,
                        "label": action.label,
                        "url": reverse("desk:case_action", args=[case.pk, action.name]) + back,
                        "form": action.form(case=case, user=request.user),
                        "danger": action.dangerous,
                    }
                    for action in map(TRANSITIONS.get, OFFER_DECISIONS)
                ],
            }
        )
    return render(
        request,
        "aftersales/approvals.html",
        {
            "page": page,
            "paginator": paginator,
            "rows": rows,
            "small": small,
            "small_limit": SMALL_OFFER,
            "bulk_limit": BULK_APPROVALS,
        },
    )


class BulkApprovalForm(forms.Form):
    """The offers a supervisor approves at once, each as "<case id>:<version the page showed>"."""

    offers = forms.MultipleChoiceField(
        choices=(), error_messages={"required": gettext_lazy("Select at least one offer.")}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        values = [v for v in self.data.getlist("offers") if re.fullmatch(r"\d{1,18}:\d{1,9}", v)]
        self.fields["offers"].choices = [(v, v) for v in values[: BULK_APPROVALS + 1]]

    def clean_offers(self):
        offers = self.cleaned_data["offers"]
        if len(offers) > BULK_APPROVALS:
            raise ValidationError(_("At most %(count)s offers at a time.") % {"count": BULK_APPROVALS})
        return [tuple(int(part) for part in value.split(":")) for value in offers]


@require_POST
@area_required("approvals")
def approvals_bulk(request):
    """Approve the selected small offers: one confirmation, each offer its own service call (one refused does not
    stop the others, and each is checked against the version the page showed)."""
    back = safe_next(request, reverse("desk:approvals"))
    form = BulkApprovalForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return HttpResponseRedirect(back)
    numbers = dict(
        Case.objects.filter(
            state=CaseState.AWAITING_APPROVAL, pk__in=[pk for pk, _v in form.cleaned_data["offers"]]
        ).values_list("pk", "number")
    )
    done, failed = [], []
    for case_id, version in form.cleaned_data["offers"]:
        number = numbers.get(case_id)
        if number is None:
            failed.append(_("Case #%(id)s no longer waits for approval.") % {"id": case_id})
            continue
        try:
            services.case_approve_offer(case_id=case_id, actor=request.user, expected_version=version)
            done.append(number)
        except (NotAllowed, PermissionDenied, ValidationError) as exc:
            failed.append(f"{number}: {error_text(exc)}")
    if done:
        messages.success(
            request,
            _("%(count)s offer(s) approved and sent to the customers: %(numbers)s.")
            % {"count": len(done), "numbers": ", ".join(done)},
        )
    for message in failed:
        messages.error(request, message)
    return HttpResponseRedirect(back)


@area_required("finance")
def finance(request):
    """Compensations to pay out, by tab: cash finance pays (mark each paid with its payout reference), refunds
    the channel settles (waiting on the channel; pay one by hand if it fails), and what is issued, not paid."""
    tab = request.GET.get("tab")
    if tab not in PAYOUT_TABS:
        tab = "cash"
    kinds = (
        Compensation.CASH_KINDS
        if tab != "issue"
        else tuple(set(Compensation.Kind.values) - set(Compensation.CASH_KINDS))
    )
    filterset = PayoutFilter(request.GET, queryset=payables(tab), kinds=kinds)
    paginator = CappedCountPaginator(filterset.qs, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    back = "?" + urlencode({"next": request.get_full_path()})
    now = timezone.now()
    ageing = timedelta(days=PAYOUT_AGEING_DAYS)
    rows = [
        {
            "comp": comp,
            "aged": comp.payable_at is not None and now - comp.payable_at > ageing,
            "waited_days": (now - comp.payable_at).days if comp.payable_at else None,
            "forms": [
                {
                    "name": action.name,
                    "label": action.label_on(comp),
                    "url": reverse("desk:compensation_action", args=[comp.case_id, comp.pk, action.name]) + back,
                    "form": action.form(user=request.user, auto_id=f"id_{comp.pk}_{action.name}_%s"),
                }
                for action in compensation_actions_for(comp, request.user)
            ],
        }
        for comp in page.object_list
    ]
    counts = {name: payables(name).order_by()[: paginator.cap + 1].count() for name in PAYOUT_TABS}
    return render(
        request,
        "aftersales/finance.html",
        {
            "page": page,
            "paginator": paginator,
            "rows": rows,
            "tab": tab,
            "tabs": [(name, PAYOUT_TAB_LABELS[name], counts[name]) for name in PAYOUT_TABS],
            "cap": paginator.cap,
            "total": payables_total(tab),
            "now": now,
            "filter": filterset,
            "ageing_days": PAYOUT_AGEING_DAYS,
        },
    )


#: What finance's payout tabs are called.
PAYOUT_TAB_LABELS = {
    "cash": gettext_lazy("Cash to pay"),
    "channel": gettext_lazy("Refunds the channel settles"),
    "issue": gettext_lazy("Coupons, gifts and replacements to issue"),
}


__all__ = ["approvals", "approvals_bulk", "finance", "home", "qc"]


class BatchPayoutForm(forms.Form):
    batch_reference = forms.CharField(
        label=gettext_lazy("Batch reference"),
        max_length=48,
        help_text=gettext_lazy("Each compensation is recorded as <batch reference>-<compensation number>."),
    )
    compensations = forms.TypedMultipleChoiceField(coerce=int, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compensations"].choices = [
            (value, value) for value in self.data.getlist("compensations") if value.isdigit() and int(value) < 2**63
        ][:200]


@require_POST
@area_required("finance")
def finance_batch(request):
    """Mark several payable compensations paid under one batch reference; each is its own service call."""
    form = BatchPayoutForm(request.POST)
    back = safe_next(request, reverse("desk:finance"))
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields and form.fields[field].label else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return HttpResponseRedirect(back)
    batch = form.cleaned_data["batch_reference"].strip()
    paid, failed = [], []
    for comp_id in form.cleaned_data["compensations"]:
        try:
            services.compensation_mark_paid(
                compensation_id=comp_id, actor=request.user, payout_reference=f"{batch}-{comp_id}"
            )
            paid.append(str(comp_id))
        except (NotAllowed, PermissionDenied, ValidationError) as exc:
            failed.append(f"#{comp_id}: {error_text(exc)}")
    if paid:
        messages.success(
            request,
            _("%(count)s payout(s) recorded under %(batch)s: #%(ids)s.")
            % {"count": len(paid), "batch": batch, "ids": ", #".join(paid)},
        )
    for message in failed:
        messages.error(request, message)
    return HttpResponseRedirect(back)


@area_required("queue")
def follow_ups(request):
    """Follow-up visits (回访) due: the user's own (and unowned) first, all open ones, or those done."""
    tab = request.GET.get("tab", "mine")
    if tab not in FOLLOW_UP_TABS:
        tab = "mine"
    paginator = CappedCountPaginator(follow_ups_for(request.user, tab), _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "aftersales/follow_ups.html",
        {"page": page, "paginator": paginator, "tab": tab, "now": timezone.now()},
    )


@area_required("queue")
def corrective_actions(request):
    """Supervisors follow the complaints' corrective actions until they are done: the loop closes there. Agents
    see the actions they own."""
    everyone = may_use(request.user, "risk")
    actions = open_corrective_actions(owner=None if everyone else request.user)
    paginator = CappedCountPaginator(actions, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "aftersales/corrective_actions.html",
        {
            "page": page,
            "paginator": paginator,
            "by_category": corrective_actions_by_category() if everyone else None,
            "everyone": everyone,
            "today": timezone.localdate(),
        },
    )

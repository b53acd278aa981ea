"""The case page: everything about one case, and every action the user may take on it.

Each action posts to its own URL, which runs the one service behind it. On
success (or a refusal such as a case changed by someone else) the user is sent
back to the fresh page with a message; on invalid input the page is shown
again with the errors beside the fields and the form left open.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from aftersales import services
from aftersales.automation.calendars import clock_for_case
from aftersales.models import (
    FINAL_STATES,
    GRANTED_COMPENSATION_STATES,
    LIVE_COMPENSATION_STATES,
    Case,
    CaseEvent,
    CaseState,
    Compensation,
)
from aftersales.permissions import authority_of, may_reply_to_customers
from aftersales.replies.library import case_send_template, templates_for
from aftersales.selectors import (
    RECEIVABLE_STATES,
    actions_for,
    case_for_page,
    case_inspections,
    compensation_actions_for,
    evidence_for,
    may_use,
    photo_for,
    recent_cases_of_customer,
)
from aftersales.services.compensations import OFFER_STATES, offer_total
from aftersales.templatetags.desk import yuan
from aftersales.web.views._common import run_service, safe_next
from aftersales.web.views.queue import queue_url
from aftersales.workflow.forms import CompensationAddForm, MultipleFileField, MultipleFileInput
from aftersales.workflow.links import progress_url
from aftersales.workflow.shipping import carrier_label, return_details
from aftersales.workflow.suggestions import suggest_compensation
from aftersales.workflow.transitions import COMPENSATION, TRANSITIONS, Action, action_label, primary_action
from audit.recording import record_unmasked
from customers.masking import can_see_pii
from customers.selectors import customer_annual_spend


@dataclass
class Panel:
    """One action on the case page: its button, and the form it opens."""

    action: Action
    form: forms.Form
    url: str
    open: bool = False
    #: The state's primary action: shown first, open, its button the page's main one.
    primary: bool = False
    #: The button's label on this case, when the action words it for the case (the counter-offer it accepts).
    title: str = ""

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def label(self) -> str:
        return self.title or str(self.action.label)

    @property
    def dangerous(self) -> bool:
        return self.action.dangerous

    @property
    def needs_input(self) -> bool:
        return any(not isinstance(field.field.widget, forms.HiddenInput) for field in self.form)


def _case_url(case_id: int) -> str:
    return reverse("desk:case", args=[case_id])


def _panel(action: Action, case: Case, user, data=None, files=None, *, open: bool = False, initial=None) -> Panel:
    # Each panel's fields get ids of their own (labels point at their own field; names stay the service's).
    form = action.form(data, files, case=case, user=user, auto_id=f"id_{action.name}_%s", initial=initial)
    title = str(action.label_on(case)) if action.label_for is not None else ""
    return Panel(action, form, reverse("desk:case_action", args=[case.pk, action.name]), open=open, title=title)


def _arrange(panels: list[Panel], case: Case) -> list[Panel]:
    """The state's primary action first and open; the offer sent in one step replaces the plain send while the
    offer is still empty (both run the same service)."""
    names = {panel.name for panel in panels}
    if "send_offer" in names:
        panels = [panel for panel in panels if panel.name != "propose"]
    lead = primary_action(case.state, {panel.name for panel in panels})
    for panel in panels:
        if panel.name == lead:
            panel.primary = True
            panel.open = panel.open or panel.needs_input
    return sorted(panels, key=lambda panel: not panel.primary)


def _timeline(case: Case, events: list[CaseEvent], now) -> tuple[list[dict], list[dict]]:
    """Events with the time since the previous one, and the time the case spent at each node."""
    rows, stages = [], []
    previous = stage_start = case.opened_at
    for event in events:
        row = {"event": event, "since_previous": event.created_at - previous}
        if event.kind == CaseEvent.Kind.TRANSITION and event.from_state:
            spent = event.created_at - stage_start
            row["stage"] = {"state": event.get_from_state_display(), "spent": spent}
            stages.append({"state": event.get_from_state_display(), "spent": spent, "ongoing": False})
            stage_start = event.created_at
        rows.append(row)
        previous = event.created_at
    if case.state not in FINAL_STATES:
        stages.append({"state": case.get_state_display(), "spent": now - stage_start, "ongoing": True})
    return rows, stages


def _with_scans(rows: list[dict], shipments) -> list[dict]:
    """The timeline with the parcels' scans in their place (by time; a scan and an event at once: the event first)."""
    scans = [{"scan": scan, "shipment": shipment} for shipment in shipments for scan in shipment.scans.all()]
    if not scans:
        return rows
    merged = [(row["event"].created_at, 0, i, row) for i, row in enumerate(rows)]
    merged += [(row["scan"].at, 1, i, row) for i, row in enumerate(scans)]
    return [row for *_key, row in sorted(merged, key=lambda item: item[:3])]


def _compensation_rows(case: Case, comps: list[Compensation], user, bound=None) -> list[dict]:
    rows = []
    for comp in comps:
        actions = []
        for action in compensation_actions_for(comp, user):
            is_bound = bound is not None and bound[:2] == (comp.pk, action.name)
            form = bound[2] if is_bound else action.form(user=user)
            url = reverse("desk:compensation_action", args=[case.pk, comp.pk, action.name])
            actions.append(
                {
                    "name": action.name,
                    "label": action.label_on(comp),
                    "form": form,
                    "open": is_bound,
                    "url": url,
                    "danger": action.dangerous,
                }
            )
        rows.append({"comp": comp, "actions": actions})
    return rows


def _sla_clock(case: Case, now) -> dict:
    """What the case header says of the resolution clock on the case's service calendar: "剩余 2 工作小时", or
    that it stands still while the case waits on the customer."""
    if case.resolution_due_at is None or case.closed_at is not None or case.sla_breached_at is not None:
        return {}
    clock = clock_for_case(case)
    paused = case.sla_paused_at is not None
    minutes = clock.between(case.sla_paused_at if paused else now, case.resolution_due_at)
    if minutes <= 0 and not paused:
        return {}
    if not clock.counts_working_time:
        left = _("%(hours)s hours left") % {"hours": _hours(minutes)}
    else:
        left = _("%(hours)s working hours left") % {"hours": _hours(minutes)}
    return {"left": left, "paused": paused, "working_now": clock.is_working(now), "calendar": clock.calendar}


def _hours(minutes: float) -> str:
    hours = max(0.0, minutes) / 60
    return f"{hours:.1f}".rstrip("0").rstrip(".") if hours < 10 else str(round(hours))


def render_case_page(
    request,
    case: Case,
    *,
    bound: Panel | None = None,
    add_form=None,
    comp_bound=None,
    evidence_form=None,
    status: int = 200,
):
    user = request.user
    now = timezone.now()
    # The full phone number only on request ("show the full number"), and each time in the audit log.
    may_see_pii = can_see_pii(user)
    show_pii = may_see_pii and request.GET.get("show") == "phone"
    if show_pii:
        record_unmasked(case.number, request=request, case=case.number, customer=case.customer_id)
    order_lines = list(case.order.lines.select_related("category"))
    affected = {line.order_line_id: line.quantity for line in case.lines.all()}
    goods = []
    for line in order_lines:
        quantity = affected.get(line.pk, 0)
        goods.append({"line": line, "affected": quantity, "amount": line.unit_price * quantity if quantity else None})
    claim_value = sum((row["amount"] or 0 for row in goods), Decimal("0.00"))
    comps = list(case.compensations.select_related("approved_by", "proposed_by", "paid_by"))
    inspections = case_inspections(case)
    events = list(case.events.select_related("actor"))
    timeline, stages = _timeline(case, events, now)
    shipments = list(case.shipments.select_related("reported_by").prefetch_related("scans"))
    timeline = _with_scans(timeline, shipments)
    received = next((event for event in reversed(events) if event.name == "receive"), None)
    submitted = None
    if case.state == CaseState.AWAITING_APPROVAL:
        submitted = next((event for event in reversed(events) if event.name == "submit_offer"), None)

    may_add = case.state in OFFER_STATES and user.has_perm("aftersales.propose_compensation")
    suggestions = []
    if may_add:
        already: dict = {}
        for comp in comps:
            if comp.state in LIVE_COMPENSATION_STATES:
                already[comp.kind] = already.get(comp.kind, 0) + comp.amount
        latest = inspections[0] if inspections else None
        suggestions = suggest_compensation(
            request_type=case.request_type,
            claim_value=claim_value,
            already=already,
            grade=latest.grade if latest else None,
            responsible_party=latest.responsible_party if latest else None,
            policy=case.policy_version,
            is_vip=case.customer.is_vip,
            vip_upgrade=case.vip_upgrade,
        )
        if add_form is None:
            first = suggestions[0] if suggestions else None
            add_form = CompensationAddForm(
                initial={"kind": first.kind, "amount": first.amount, "note": first.basis} if first else {}
            )
    # The one-step offer starts from the first suggestion, while the offer is still empty.
    offer_started = any(c.state in LIVE_COMPENSATION_STATES for c in comps)
    suggested = _suggested(suggestions[0]) if suggestions else None
    panels = _arrange(
        [
            bound
            if bound is not None and bound.name == action.name
            else _panel(action, case, user, initial=suggested if action.name == "send_offer" else None)
            for action in actions_for(case, user)
            if not (action.name == "send_offer" and offer_started)
        ],
        case,
    )
    # The counter-offer's button stands beside the offer, not among the other actions.
    counter_panel = next((panel for panel in panels if panel.name == "accept_counter"), None)
    panels = [panel for panel in panels if panel is not counter_panel]
    recent = recent_cases_of_customer(user, case)
    granted_kinds = {c.kind for c in comps if c.state in LIVE_COMPENSATION_STATES}
    replies = templates_for(case, agent=user, granted_kinds=granted_kinds) if may_reply_to_customers(user) else []
    live_total = offer_total([c for c in comps if c.state in LIVE_COMPENSATION_STATES])
    authority = authority_of(user, case.policy_version) if user.has_perm("aftersales.propose_compensation") else None

    context = {
        "case": case,
        "now": now,
        "customer": case.customer,
        "sla_clock": _sla_clock(case, now),
        "show_pii": show_pii,
        "may_reveal_pii": may_see_pii and not show_pii,
        "annual_spend": customer_annual_spend(case.customer, as_of=now),
        "recent_cases": recent[0],
        "recent_hidden": recent[1],
        "goods": goods,
        "claim_value": claim_value,
        "inspections": inspections,
        "compensations": _compensation_rows(case, comps, user, comp_bound),
        "live_total": live_total,
        "authority": authority,
        "over_authority": authority is not None and live_total > authority,
        "counter_panel": counter_panel,
        "counter_over_authority": case.counter_amount is not None
        and authority is not None
        and live_total + case.counter_amount > authority,
        "may_add_compensation": may_add,
        "add_form": add_form,
        "suggestions": suggestions,
        "timeline": timeline,
        "stages": stages,
        "panels": panels,
        "replies": replies,
        "submitted": submitted,
        "shipments": shipments,
        "quick_refund_amount": sum(
            (c.amount for c in comps if c.quick_refund and c.state in GRANTED_COMPENSATION_STATES), Decimal("0.00")
        ),
        "progress_link": progress_url(case) if may_reply_to_customers(user) else None,
        "uploads": list(case.uploads.all()),
        "evidence_form": (evidence_form or EvidenceForm())
        if case.state not in FINAL_STATES and user.has_perm("aftersales.add_evidence")
        else None,
        "receipt_mismatch": (received.data or {}).get("mismatch") if received else None,
        "return_address": return_details(case) if case.state in RECEIVABLE_STATES else None,
        "queue_url": queue_url(request) if may_use(user, "queue") else None,
    }
    return render(request, "aftersales/case_detail.html", context, status=status)


def _suggested(suggestion) -> dict:
    return {
        "kind": suggestion.kind,
        "amount": suggestion.amount,
        "compensation_note": str(suggestion.basis)[:200],
    }


@require_safe
@login_required
def case_detail(request, case_id: int):
    return render_case_page(request, case_for_page(request.user, case_id))


def _success_message(case: Case, name: str, result) -> str:
    if name in ("propose", "send_offer") and isinstance(result, Case) and result.state == CaseState.AWAITING_APPROVAL:
        return _("The offer on case %(number)s is above your authority: it was sent to a supervisor for approval.") % {
            "number": case.number
        }
    if name == "approve" and isinstance(result, Case) and result.quick_refund:
        refund = result.compensations.filter(quick_refund=True).order_by("-id").first()
        if refund is not None:
            return _(
                "Case %(number)s: approved, and a quick refund of %(amount)s was granted at once (payable now, before the goods are back)."
            ) % {"number": case.number, "amount": yuan(refund.amount)}
    if name in ("receive", "receive_inspect") and isinstance(result, Case):
        event = result.events.filter(name="receive").order_by("-id").first()
        mismatch = (event.data or {}).get("mismatch") if event else None
        if mismatch:
            return _(
                "Case %(number)s: received, but not the parcel the customer reported (%(carrier)s %(tracking)s): check the goods with care."
            ) % {
                "number": case.number,
                "carrier": carrier_label(mismatch["carrier"]),
                "tracking": mismatch["tracking_number"],
            }
    return _("Case %(number)s: %(action)s done.") % {"number": case.number, "action": action_label(name)}


def _run(action: Action, target_id: int, user, form):
    return lambda data: services.perform(action, target_id=target_id, actor=user, data=form.service_kwargs())


@require_POST
@login_required
def case_action(request, case_id: int, name: str):
    case = case_for_page(request.user, case_id)
    action = TRANSITIONS.get(name)
    if action is None or action not in TRANSITIONS.panels():
        raise Http404
    panel = _panel(action, case, request.user, request.POST, request.FILES, open=True)
    if panel.form.is_valid():
        response = run_service(
            request,
            form=panel.form,
            call=_run(action, case.pk, request.user, panel.form),
            success=lambda result: _success_message(case, name, result),
            redirect_to=safe_next(request, _case_url(case.pk)),
        )
        if response is not None:
            return response
    if request.POST.get("stay"):
        return _back_with_errors(request, case, panel.form)
    return render_case_page(request, case, bound=panel, status=400)


def _back_with_errors(request, case: Case, form) -> HttpResponseRedirect:
    """An action sent from a list (approvals, payouts) that was refused: back to the list, the problem named
    above it with its case and field, instead of the case page."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            values = {"number": case.number, "field": label, "error": error}
            text = _("%(number)s · %(field)s: %(error)s") if label else _("%(number)s: %(error)s")
            messages.error(request, text % values)
    return HttpResponseRedirect(safe_next(request, _case_url(case.pk)))


@require_POST
@login_required
def compensation_add(request, case_id: int):
    case = case_for_page(request.user, case_id)
    action = TRANSITIONS["add_compensation"]
    form = action.form(request.POST, case=case, user=request.user)
    if form.is_valid():
        response = run_service(
            request,
            form=form,
            call=_run(action, case.pk, request.user, form),
            success=_("Compensation proposed on case %(number)s.") % {"number": case.number},
            redirect_to=safe_next(request, _case_url(case.pk)),
        )
        if response is not None:
            return response
    return render_case_page(request, case, add_form=form, status=400)


@require_POST
@login_required
def compensation_action(request, case_id: int, comp_id: int, name: str):
    case = case_for_page(request.user, case_id)
    comp = get_object_or_404(Compensation, pk=comp_id, case=case)
    action = TRANSITIONS.get(name, COMPENSATION)
    if action is None or action not in TRANSITIONS.panels(COMPENSATION):
        raise Http404
    form = action.form(request.POST, user=request.user)
    if form.is_valid():
        response = run_service(
            request,
            form=form,
            call=_run(action, comp.pk, request.user, form),
            success=_("Compensation #%(id)s: %(action)s done.") % {"id": comp.pk, "action": action.label},
            redirect_to=safe_next(request, _case_url(case.pk)),
        )
        if response is not None:
            return response
    if request.POST.get("stay"):
        return _back_with_errors(request, case, form)
    return render_case_page(request, case, comp_bound=(comp.pk, name, form), status=400)


def _file_response(field, content_type: str) -> FileResponse:
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_safe
@login_required
def inspection_photo(request, case_id: int, photo_id: int):
    """A QC photo, for whoever may see the case (the files are never served publicly)."""
    photo = photo_for(request.user, case_id, photo_id)
    return _file_response(photo.image, photo.content_type)


@require_safe
@login_required
def evidence_file(request, case_id: int, evidence_id: int):
    """A photo or video of the customer's evidence, for whoever may see the case."""
    evidence = evidence_for(request.user, case_id, evidence_id)
    return _file_response(evidence.file, evidence.content_type)


class EvidenceForm(forms.Form):
    files = MultipleFileField(
        label=_("Photos or videos"),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,video/mp4"}),
    )


@require_POST
@login_required
def evidence_add(request, case_id: int):
    """An agent adds what the customer sent them (in chat, by email) to the case's evidence."""
    case = case_for_page(request.user, case_id)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        response = run_service(
            request,
            form=form,
            call=lambda data: services.case_add_evidence(
                case_id=case.pk, actor=request.user, files=form.cleaned_data["files"]
            ),
            success=_("Evidence added to case %(number)s.") % {"number": case.number},
            redirect_to=_case_url(case.pk),
        )
        if response is not None:
            return response
    return render_case_page(request, case, evidence_form=form, status=400)


__all__ = [
    "PermissionDenied",
    "case_action",
    "case_detail",
    "compensation_action",
    "compensation_add",
    "evidence_add",
    "evidence_file",
    "inspection_photo",
]


class TemplateReplyForm(forms.Form):
    template = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))


@require_POST
@login_required
def case_template_reply(request, case_id: int):
    """Send a reply built from a template (as edited by the agent); the use records the template's version."""
    case = case_for_page(request.user, case_id)
    form = TemplateReplyForm(request.POST)
    back = _case_url(case.pk)
    if not form.is_valid():
        messages.error(request, _("Write the reply before sending it."))
        return HttpResponseRedirect(back)
    response = run_service(
        request,
        form=form,
        call=lambda d: case_send_template(
            case_id=case.pk, actor=request.user, template_id=d["template"], version_id=d["version"], text=d["text"]
        ),
        success=lambda use: _("Reply sent to the customer (template %(code)s).") % {"code": use.template.code},
        redirect_to=back,
    )
    if response is None:  # the service named a problem (a retired template, a stale version)
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        response = HttpResponseRedirect(back)
    return response

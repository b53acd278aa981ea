"""The customer's progress page (H5, mobile first): one signed link per case, no login.

It shows what the channel's API shows — the state, whom it waits on and until when, the offer to accept or decline
(with what the customer asks for instead), where to send the goods and a form for the tracking number, the parcel's
scans, and the rating once closed — and never staff names or internal notes. The link works while the case is open
and for ``PROGRESS_LINK_DAYS`` after; each address is rate-limited. The page acts through the same services as
every other door, as the progress page's own account (``permissions.portal_user``).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from rest_framework.throttling import SimpleRateThrottle

from aftersales import services
from aftersales.models import CUSTOMER_COUNTER_KINDS, Carrier, CaseState, Compensation, WaitingOn
from aftersales.permissions import portal_user
from aftersales.selectors.public import (
    RETURN_PENDING_STATES,
    active_outbound,
    active_return,
    public_cases,
    public_offer,
    public_timeline,
)
from aftersales.web.views._common import run_service
from aftersales.workflow.links import link_expired, link_expires_at, read_progress_token
from aftersales.workflow.shipping import return_details

S = CaseState

#: Whom the case waits on, as the customer reads it.
WAITING_FOR_YOU = {
    WaitingOn.CUSTOMER: gettext_lazy("Waiting for you"),
    WaitingOn.CARRIER: gettext_lazy("Your parcel is on its way"),
    WaitingOn.WAREHOUSE: gettext_lazy("Our warehouse is checking the goods"),
    WaitingOn.MERCHANT: gettext_lazy("We are working on it"),
    WaitingOn.SUPERVISOR: gettext_lazy("We are working on it"),
    WaitingOn.FINANCE: gettext_lazy("We are working on it"),
}


class ProgressThrottle(SimpleRateThrottle):
    """Requests per address (``PROGRESS_PAGE_RATE``), counted in the cache like the API's throttles."""

    scope = "progress"

    def get_rate(self):
        return settings.PROGRESS_PAGE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnswerForm(forms.Form):
    """The case version the customer read: an offer changed since is not accepted or declined unseen."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class DeclineForm(AnswerForm):
    reason = forms.CharField(label=gettext_lazy("Why not?"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    counter_kind = forms.ChoiceField(
        label=gettext_lazy("What would you like instead? (optional)"),
        choices=[("", "—"), *[(k, label) for k, label in Compensation.Kind.choices if k in CUSTOMER_COUNTER_KINDS]],
        required=False,
    )
    counter_amount = forms.DecimalField(
        label=gettext_lazy("What would you accept? (¥, optional)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
    )


class ShipmentForm(forms.Form):
    carrier = forms.ChoiceField(label=gettext_lazy("Carrier"), choices=Carrier.choices)
    tracking_number = forms.CharField(label=gettext_lazy("Tracking number"), max_length=40)
    pickup = forms.BooleanField(label=gettext_lazy("I booked a door-to-door pickup"), required=False)


class RatingForm(forms.Form):
    csat = forms.TypedChoiceField(
        label=gettext_lazy("How satisfied are you?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    nps = forms.TypedChoiceField(
        label=gettext_lazy("How likely are you to recommend us? (0–10)"),
        choices=[("", "—"), *[(n, str(n)) for n in range(11)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    comment = forms.CharField(label=gettext_lazy("Anything else?"), max_length=1000, required=False)


def _render(request, template: str, context: dict, status: int = 200):
    return render(request, template, context, status=status)


def _case_of(request, token: str):
    """The case the token names, or the page that says why not (tampered, unknown, expired)."""
    try:
        case_id, number = read_progress_token(token)
    except signing.BadSignature:
        return None, _render(request, "customer/link_invalid.html", {"expired": False}, status=404)
    case = public_cases().filter(pk=case_id, number=number).first()
    if case is None:
        return None, _render(request, "customer/link_invalid.html", {"expired": False}, status=404)
    if link_expired(case):
        return None, _render(request, "customer/link_invalid.html", {"expired": True, "case": case}, status=410)
    return case, None


ACTIONS = {
    "accept": (
        AnswerForm,
        lambda case, actor, data: services.case_confirm(
            case_id=case.pk,
            actor=actor,
            note=_("Accepted on the progress page."),
            expected_version=data["expected_version"],
        ),
        gettext_lazy("Thank you: you accepted the offer."),
    ),
    "decline": (
        DeclineForm,
        lambda case, actor, data: services.case_decline(
            case_id=case.pk,
            actor=actor,
            note=data["reason"],
            counter_amount=data["counter_amount"],
            counter_kind=data["counter_kind"],
            expected_version=data["expected_version"],
        ),
        gettext_lazy("You declined the offer; we will come back to you."),
    ),
    "ship": (
        ShipmentForm,
        lambda case, actor, data: services.case_ship_return(case_id=case.pk, actor=actor, **data),
        gettext_lazy("Thank you: we have your tracking number."),
    ),
    "receipt": (
        AnswerForm,
        lambda case, actor, data: services.case_confirm_receipt(
            case_id=case.pk,
            actor=actor,
            note=_("Receipt confirmed on the progress page."),
            expected_version=data["expected_version"],
        ),
        gettext_lazy("Thank you: you confirmed you received the goods."),
    ),
    "rate": (
        RatingForm,
        lambda case, actor, data: services.case_rate(
            case_id=case.pk, actor=actor, csat=data["csat"], nps=data["nps"], comment=data["comment"]
        ),
        gettext_lazy("Thank you for your rating."),
    ),
}


@require_http_methods(["GET", "POST"])
def progress(request, token: str):
    throttle = ProgressThrottle()
    if not throttle.allow_request(request, None):
        wait = int(throttle.wait() or 60)
        return _render(request, "customer/too_many.html", {"wait": wait}, status=429)
    case, refusal = _case_of(request, token)
    if refusal is not None:
        return refusal
    bound: dict = {}
    if request.method == "POST":
        name = request.POST.get("action", "")
        if name not in ACTIONS:
            raise PermissionDenied
        form_class, call, success = ACTIONS[name]
        form = form_class(request.POST)
        if isinstance(form, ShipmentForm) and not case.policy_version.pickup_offered:
            del form.fields["pickup"]  # not offered: not asked (and a forged one is ignored)
        if form.is_valid():
            response = run_service(
                request,
                form=form,
                call=lambda data: call(case, portal_user(), data),
                success=str(success),
                redirect_to=request.path,
            )
            if response is not None:
                return response
        bound[name] = form
        case, _refusal = _case_of(request, token)  # as it is now
    return _render(request, "customer/progress.html", _context(case, bound), status=400 if bound else 200)


def _context(case, bound: dict) -> dict:
    offer = public_offer(case)
    shipment = active_return(case)
    pickup_offered = case.policy_version.pickup_offered
    shipment_form = bound.get("ship")
    if shipment_form is None:
        shipment_form = ShipmentForm(
            initial={"carrier": shipment.carrier, "tracking_number": shipment.tracking_number} if shipment else None
        )
        if not pickup_offered:
            del shipment_form.fields["pickup"]
    return {
        "case": case,
        "now": timezone.now(),
        "waiting": WAITING_FOR_YOU.get(case.waiting_on, ""),
        "offer": offer,
        "offer_total": sum((item.amount for item in offer), Decimal("0.00")),
        "may_answer": case.state == S.AWAITING_CONFIRMATION,
        "decline_form": bound.get("decline") or DeclineForm(initial={"expected_version": case.version}),
        "return_address": return_details(case)
        if case.goods_come_back and case.state in RETURN_PENDING_STATES
        else None,
        "shipment": shipment,
        "outbound": active_outbound(case),
        "may_confirm_receipt": case.state in (S.AWAITING_DELIVERY, S.AWAITING_RECEIPT),
        "shipment_form": shipment_form if case.goods_come_back and case.state in RETURN_PENDING_STATES else None,
        "rating_form": (bound.get("rate") or RatingForm())
        if case.state == S.CLOSED and case.rated_at is None
        else None,
        "timeline": list(reversed(public_timeline(case))),
        "expires_at": link_expires_at(case),
    }


__all__ = ["progress"]

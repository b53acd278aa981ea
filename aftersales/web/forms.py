"""Forms for the actions on a case, each bound to the one service that performs it.

The admin (and the staff pages) look an action up here: the form collects what
the service needs, ``run`` calls the service, and ``apply_service_errors`` puts a
``ValidationError`` from the service beside the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales import services
from aftersales.models import (
    ESCALATION_RESOLUTIONS,
    CaseState,
    Compensation,
    Inspection,
    Priority,
    ProblemCategory,
    Queue,
)
from aftersales.permissions import AGENT, SUPERVISOR, may_reply_to_customers
from aftersales.workflow.transitions import ACTION_LABELS


class VersionedForm(forms.Form):
    """Carries the case version the page was built from, to detect another user's change."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class NoteForm(VersionedForm):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RequiredNoteForm(VersionedForm):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(NoteForm):
    override_window = forms.BooleanField(
        label=_("Approve outside the policy window (supervisor override)"), required=False
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is None or not user.has_perm("aftersales.override_policy_window"):
            del self.fields["override_window"]


class ReasonForm(VersionedForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class OptionalReasonForm(VersionedForm):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReceiveForm(VersionedForm):
    carrier = forms.CharField(label=_("Carrier"), max_length=40, required=False)
    tracking_number = forms.CharField(label=_("Return tracking number"), max_length=40)
    note = forms.CharField(label=_("Note"), required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks their size and content."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class InspectForm(VersionedForm):
    grade = forms.ChoiceField(label=_("Grade"), choices=Inspection.Grade.choices)
    responsible_party = forms.ChoiceField(label=_("Responsible party"), choices=Inspection.Party.choices)
    disposition = forms.ChoiceField(label=_("Disposition"), choices=Inspection.Disposition.choices)
    findings = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultipleFileField(
        label=_("Photos"), required=False, help_text=_("JPEG, PNG or WebP; up to 6 photos of at most 5 MB each.")
    )


class ResolveEscalationForm(VersionedForm):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[(state, CaseState(state).label) for state in ESCALATION_RESOLUTIONS]
    )
    note = forms.CharField(label=_("Decision note"), widget=forms.Textarea(attrs={"rows": 3}))


class OfferDecisionForm(VersionedForm):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class OfferReturnForm(VersionedForm):
    note = forms.CharField(label=_("Why it goes back"), widget=forms.Textarea(attrs={"rows": 2}))


class TriageForm(VersionedForm):
    """Supervisor's triage of a case (each change goes through ``case_update``)."""

    urgency = forms.TypedChoiceField(label=_("urgency"), coerce=int, choices=[(n, str(n)) for n in range(1, 6)])
    priority = forms.ChoiceField(label=_("priority"), choices=Priority.choices)
    crisis = forms.BooleanField(label=_("crisis"), required=False)
    category = forms.ModelChoiceField(
        label=_("problem category"),
        queryset=ProblemCategory.objects.filter(active=True).select_related("parent__parent"),
        required=False,
    )
    queue = forms.ModelChoiceField(label=_("queue"), queryset=Queue.objects.filter(active=True), required=False)
    assignee = forms.ModelChoiceField(label=_("assignee"), queryset=None, required=False)
    note = forms.CharField(label=_("Note"), required=False)

    FIELDS = services.updates.TRIAGE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = working_staff()

    @classmethod
    def initial_for(cls, case) -> dict:
        return {
            "urgency": case.urgency,
            "priority": case.priority,
            "crisis": case.crisis,
            "category": case.category_id,
            "queue": case.queue_id,
            "assignee": case.assignee_id,
            "expected_version": case.version,
        }

    @classmethod
    def changes(cls, data: dict) -> dict:
        """The triage fields of the cleaned data, as ``case_update`` takes them."""
        return {key: data[key] for key in cls.FIELDS}


def working_staff():
    """Users a case can be assigned to: active agents and supervisors."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[AGENT, SUPERVISOR])
        .distinct()
        .order_by("username")
    )


class CaseNoteForm(forms.Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}))
    to_customer = forms.BooleanField(label=_("Send to the customer as a reply"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and not may_reply_to_customers(user):
            del self.fields["to_customer"]

    def clean(self):
        data = super().clean()
        data.setdefault("to_customer", False)
        return data


class CompensationAddForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Compensation.Kind.choices)
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=12, decimal_places=2, min_value=0.01)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PayoutForm(forms.Form):
    payout_reference = forms.CharField(label=_("Payout reference"), max_length=64)


class CompensationNoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CompensationRequiredNoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200)


@dataclass(frozen=True)
class Action:
    form_class: type[forms.Form]
    run: Callable  # (object_id, actor, cleaned_data) -> result


def _version(data: dict) -> dict:
    return {"expected_version": data.get("expected_version")}


CASE_ACTIONS: dict[str, Action] = {
    "approve": Action(
        ApproveForm,
        lambda pk, user, d: services.case_approve(
            case_id=pk,
            actor=user,
            note=d.get("note", ""),
            override_window=d.get("override_window", False),
            **_version(d),
        ),
    ),
    "reject": Action(
        ReasonForm, lambda pk, user, d: services.case_reject(case_id=pk, actor=user, reason=d["reason"], **_version(d))
    ),
    "receive": Action(
        ReceiveForm,
        lambda pk, user, d: services.case_receive(
            case_id=pk,
            actor=user,
            carrier=d.get("carrier", ""),
            tracking_number=d["tracking_number"],
            note=d.get("note", ""),
            **_version(d),
        ),
    ),
    "inspect": Action(
        InspectForm,
        lambda pk, user, d: services.case_inspect(
            case_id=pk,
            actor=user,
            grade=d["grade"],
            responsible_party=d["responsible_party"],
            disposition=d["disposition"],
            findings=d.get("findings", ""),
            photos=d.get("photos", []),
            **_version(d),
        ),
    ),
    # Above the actor's authority the offer goes to a supervisor instead of being refused.
    "propose": Action(
        NoteForm,
        lambda pk, user, d: services.case_submit_offer(case_id=pk, actor=user, note=d.get("note", ""), **_version(d)),
    ),
    "confirm": Action(
        NoteForm,
        lambda pk, user, d: services.case_confirm(case_id=pk, actor=user, note=d.get("note", ""), **_version(d)),
    ),
    "decline": Action(
        NoteForm,
        lambda pk, user, d: services.case_decline(case_id=pk, actor=user, note=d.get("note", ""), **_version(d)),
    ),
    "cancel": Action(
        OptionalReasonForm,
        lambda pk, user, d: services.case_cancel(case_id=pk, actor=user, reason=d.get("reason", ""), **_version(d)),
    ),
    "escalate": Action(
        ReasonForm,
        lambda pk, user, d: services.case_escalate(case_id=pk, actor=user, reason=d["reason"], **_version(d)),
    ),
    "resolve_escalation": Action(
        ResolveEscalationForm,
        lambda pk, user, d: services.case_resolve_escalation(
            case_id=pk, actor=user, decision=d["decision"], note=d["note"], **_version(d)
        ),
    ),
}

#: A supervisor's decision on an offer above an agent's authority.
OFFER_ACTIONS: dict[str, Action] = {
    "approve_offer": Action(
        OfferDecisionForm,
        lambda pk, user, d: services.case_approve_offer(case_id=pk, actor=user, note=d.get("note", ""), **_version(d)),
    ),
    "return_offer": Action(
        OfferReturnForm,
        lambda pk, user, d: services.case_return_offer(case_id=pk, actor=user, note=d["note"], **_version(d)),
    ),
}

COMPENSATION_ACTIONS: dict[str, Action] = {
    "approve": Action(
        CompensationNoteForm,
        lambda pk, user, d: services.compensation_approve(compensation_id=pk, actor=user, note=d.get("note", "")),
    ),
    "reject": Action(
        CompensationRequiredNoteForm,
        lambda pk, user, d: services.compensation_reject(compensation_id=pk, actor=user, note=d["note"]),
    ),
    "void": Action(
        CompensationRequiredNoteForm,
        lambda pk, user, d: services.compensation_void(compensation_id=pk, actor=user, note=d["note"]),
    ),
    "mark_paid": Action(
        PayoutForm,
        lambda pk, user, d: services.compensation_mark_paid(
            compensation_id=pk, actor=user, payout_reference=d["payout_reference"]
        ),
    ),
    "mark_failed": Action(
        CompensationRequiredNoteForm,
        lambda pk, user, d: services.compensation_mark_failed(compensation_id=pk, actor=user, note=d["note"]),
    ),
}


def action_label(name: str) -> str:
    return str(ACTION_LABELS.get(name, name))


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` beside the field it names (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)

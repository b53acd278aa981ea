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
from aftersales.models import ESCALATION_RESOLUTIONS, CaseState, Compensation, Inspection
from aftersales.workflow import ACTION_LABELS


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


class InspectForm(VersionedForm):
    grade = forms.ChoiceField(label=_("Grade"), choices=Inspection.Grade.choices)
    responsible_party = forms.ChoiceField(label=_("Responsible party"), choices=Inspection.Party.choices)
    disposition = forms.ChoiceField(label=_("Disposition"), choices=Inspection.Disposition.choices)
    findings = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ResolveEscalationForm(VersionedForm):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[(state, CaseState(state).label) for state in ESCALATION_RESOLUTIONS]
    )
    note = forms.CharField(label=_("Decision note"), widget=forms.Textarea(attrs={"rows": 3}))


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
            case_id=pk, actor=user, note=d.get("note", ""), override_window=d.get("override_window", False), **_version(d)
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
            **_version(d),
        ),
    ),
    "propose": Action(
        NoteForm, lambda pk, user, d: services.case_propose(case_id=pk, actor=user, note=d.get("note", ""), **_version(d))
    ),
    "confirm": Action(
        NoteForm, lambda pk, user, d: services.case_confirm(case_id=pk, actor=user, note=d.get("note", ""), **_version(d))
    ),
    "decline": Action(
        NoteForm, lambda pk, user, d: services.case_decline(case_id=pk, actor=user, note=d.get("note", ""), **_version(d))
    ),
    "cancel": Action(
        OptionalReasonForm,
        lambda pk, user, d: services.case_cancel(case_id=pk, actor=user, reason=d.get("reason", ""), **_version(d)),
    ),
    "escalate": Action(
        ReasonForm, lambda pk, user, d: services.case_escalate(case_id=pk, actor=user, reason=d["reason"], **_version(d))
    ),
    "resolve_escalation": Action(
        ResolveEscalationForm,
        lambda pk, user, d: services.case_resolve_escalation(
            case_id=pk, actor=user, decision=d["decision"], note=d["note"], **_version(d)
        ),
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

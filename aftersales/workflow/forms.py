"""The input of each action as a Django form, for the staff pages and the admin.

A form's fields are the keyword arguments of the action's service (``service_kwargs`` hands them over as the
service takes them), so one generic runner serves every action; ``tests/aftersales/test_registry.py`` checks
each form against its service. Forms are built for a case (``case=``, which fills in the version the page was
built from) and a user (``user=``, which may hide what they may not use). No queries at import, no I/O.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    ESCALATION_RESOLUTIONS,
    Attribution,
    Carrier,
    CaseState,
    Compensation,
    Inspection,
    Priority,
    ProblemCategory,
    Queue,
)
from aftersales.permissions import StaffChoiceField, may_reply_to_customers, working_staff

#: Triage fields a supervisor changes with ``case_update``.
TRIAGE_FIELDS = ("urgency", "priority", "crisis", "category", "queue", "assignee")


class ActionForm(forms.Form):
    """An action's input: built for a case and a user; its cleaned data are the service's keyword arguments."""

    def __init__(self, data=None, files=None, *, case=None, user=None, **kwargs):
        if case is not None:  # the case's values, with what the caller gives on top (a suggestion)
            kwargs["initial"] = {**self.initial_for(case), **(kwargs.get("initial") or {})}
        super().__init__(data, files, **kwargs)
        self.user = user

    def initial_for(self, case) -> dict:
        return {}

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class VersionedForm(ActionForm):
    """Carries the case version the page was built from, to detect another user's change."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def initial_for(self, case) -> dict:
        return {"expected_version": case.version}


class NoteForm(VersionedForm):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(NoteForm):
    override_window = forms.BooleanField(
        label=_("Approve outside the policy window (supervisor override)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.user is None or not self.user.has_perm("aftersales.override_policy_window"):
            del self.fields["override_window"]


class DeclineForm(NoteForm):
    counter_kind = forms.ChoiceField(
        label=_("Kind the customer asks for (optional)"),
        choices=[("", "—"), *Compensation.Kind.choices],
        required=False,
    )
    counter_amount = forms.DecimalField(
        label=_("What the customer asks for instead (¥, optional)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
    )


_YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def _yes_no(value):
    return {"yes": True, "no": False}.get(value)


class FollowUpForm(ActionForm):
    """The outcome of a follow-up call (回访)."""

    reached = forms.TypedChoiceField(
        label=_("Customer reached"), choices=_YES_NO[1:], coerce=_yes_no, widget=forms.RadioSelect
    )
    satisfied = forms.TypedChoiceField(
        label=_("Customer satisfied"), choices=_YES_NO, coerce=_yes_no, empty_value=None, required=False
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    new_complaint = forms.BooleanField(
        label=_("Still a problem: open a new complaint case (the notes describe it)"), required=False
    )
    #: The calls recorded when the page was built: a second submit of the same call is refused, not counted.
    expected_attempts = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def initial_for(self, case) -> dict:
        follow_up = case.follow_up_or_none
        return {"expected_attempts": follow_up.attempts} if follow_up is not None else {}


class CauseAnalysisForm(ActionForm):
    """A complaint's cause analysis and its corrective action."""

    root_cause = forms.CharField(label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 2}))
    attribution = forms.ChoiceField(label=_("Attribution"), choices=Attribution.choices)
    corrective_action = forms.CharField(label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 2}))
    owner = StaffChoiceField(label=_("Action owner"), queryset=None)
    due_on = forms.DateField(label=_("Action due on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _action_owners()

    def initial_for(self, case) -> dict:
        analysis = getattr(case, "cause_analysis_or_none", None)
        if analysis is not None:
            return {
                "root_cause": analysis.root_cause,
                "attribution": analysis.attribution,
                "corrective_action": analysis.corrective_action,
                "owner": analysis.owner_id,
                "due_on": analysis.due_on,
            }
        return {"attribution": case.category.attribution if case.category_id else None}


def _action_owners():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, groups__name__in=["agent", "supervisor"]).distinct()


class ResultForm(ActionForm):
    result = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(VersionedForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class OptionalReasonForm(VersionedForm):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReturnShipmentForm(VersionedForm):
    """An agent records the parcel the customer sent (on the phone, in chat)."""

    carrier = forms.ChoiceField(label=_("Carrier"), choices=Carrier.choices)
    tracking_number = forms.CharField(label=_("Return tracking number"), max_length=40)
    pickup = forms.BooleanField(label=_("Door-to-door pickup"), required=False)
    note = forms.CharField(label=_("Note"), required=False)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        if case is not None and not case.policy_version.pickup_offered:
            del self.fields["pickup"]

    def initial_for(self, case) -> dict:
        initial = super().initial_for(case)
        if case.return_tracking_number:
            initial.update(carrier=case.return_carrier, tracking_number=case.return_tracking_number)
        return initial


class DispatchForm(VersionedForm):
    """The warehouse sends the goods (a replacement, a gift, a resend) and records the parcel."""

    carrier = forms.ChoiceField(label=_("Carrier"), choices=Carrier.choices)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=40)
    note = forms.CharField(label=_("Note"), required=False)


class ReceiveForm(VersionedForm):
    """QC records the parcel's arrival; what the customer reported is filled in (a difference is flagged)."""

    carrier = forms.ChoiceField(label=_("Carrier"), choices=[("", "—"), *Carrier.choices], required=False)
    tracking_number = forms.CharField(label=_("Return tracking number"), max_length=40)
    note = forms.CharField(label=_("Note"), required=False)

    def initial_for(self, case) -> dict:
        return {
            **super().initial_for(case),
            "carrier": case.return_carrier,
            "tracking_number": case.return_tracking_number,
        }


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


#: What an inspection most likely finds, by the problem's attribution: the form starts from it (QC corrects it).
INSPECTION_GUESS = {
    "product_quality": ("C", "merchant", "refurbish"),
    "logistics": ("C", "logistics", "refurbish"),
}


class InspectForm(VersionedForm):
    grade = forms.ChoiceField(label=_("Grade"), choices=Inspection.Grade.choices)
    responsible_party = forms.ChoiceField(label=_("Responsible party"), choices=Inspection.Party.choices)
    disposition = forms.ChoiceField(label=_("Disposition"), choices=Inspection.Disposition.choices)
    findings = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultipleFileField(
        label=_("Photos"), required=False, help_text=_("JPEG, PNG or WebP; up to 6 photos of at most 5 MB each.")
    )

    def initial_for(self, case) -> dict:
        attribution = case.category.attribution if case.category_id and case.category else ""
        grade, party, disposition = INSPECTION_GUESS.get(attribution, ("A", "merchant", "restock"))
        return {**super().initial_for(case), "grade": grade, "responsible_party": party, "disposition": disposition}


class ReceiveInspectForm(ReceiveForm, InspectForm):
    """The parcel is at hand: its receipt and its inspection in one form."""

    field_order = ("carrier", "tracking_number", "note", "grade", "responsible_party", "disposition", "findings")


class SendOfferForm(VersionedForm):
    """The offer with one compensation in it (the suggestion, filled in), sent in one step; without an amount the
    offer goes as it is."""

    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *Compensation.Kind.choices], required=False)
    amount = forms.DecimalField(
        label=_("Amount (CNY)"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    compensation_note = forms.CharField(label=_("Basis"), max_length=200, required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveEscalationForm(VersionedForm):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[(state, CaseState(state).label) for state in ESCALATION_RESOLUTIONS]
    )
    note = forms.CharField(
        label=_("Decision note"),
        help_text=_("The reason for the decision: the customer and the channel are told it."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


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
        empty_label="—",
    )
    queue = forms.ModelChoiceField(
        label=_("queue"), queryset=Queue.objects.filter(active=True), required=False, empty_label="—"
    )
    assignee = StaffChoiceField(label=_("assignee"), queryset=None, required=False, empty_label=_("unassigned"))
    note = forms.CharField(label=_("Note"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = working_staff()

    def initial_for(self, case) -> dict:
        return {
            **super().initial_for(case),
            "urgency": case.urgency,
            "priority": case.priority,
            "crisis": case.crisis,
            "category": case.category_id,
            "queue": case.queue_id,
            "assignee": case.assignee_id,
        }

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "changes": {name: data[name] for name in TRIAGE_FIELDS},
            "note": data.get("note", ""),
            "expected_version": data.get("expected_version"),
        }


class CaseNoteForm(ActionForm):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}))
    to_customer = forms.BooleanField(label=_("Send to the customer as a reply"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.user is not None and not may_reply_to_customers(self.user):
            del self.fields["to_customer"]

    def clean(self):
        data = super().clean()
        data.setdefault("to_customer", False)
        return data


class CompensationAddForm(ActionForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=Compensation.Kind.choices)
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=12, decimal_places=2, min_value=0.01)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PayoutForm(ActionForm):
    payout_reference = forms.CharField(
        label=_("Reference"),
        max_length=64,
        help_text=_(
            "The payout's transaction number; for a coupon its code, for a gift or replacement the dispatch number."
        ),
    )


class CompensationNoteForm(ActionForm):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CompensationRequiredNoteForm(ActionForm):
    note = forms.CharField(label=_("Note"), max_length=200)


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` beside the field it names (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)

"""The input of each staff action as a DRF serializer, for the REST API.

Field for field these are the keyword arguments of the action's service, like the page forms in
``aftersales.workflow.forms`` (``tests/aftersales/test_registry.py`` checks both against the service). The
response shapes live with the API (``aftersales.api.serializers``).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from aftersales.models import ESCALATION_RESOLUTIONS, CaseState, Compensation, Inspection


class VersionedSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**31,
        help_text=_("The case version you read; if someone changed the case since, the action is refused (409)."),
    )


class ClaimSerializer(VersionedSerializer):
    pass


class ApproveSerializer(VersionedSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    override_window = serializers.BooleanField(required=False, default=False)


class StaffReasonSerializer(VersionedSerializer):
    reason = serializers.CharField(max_length=1000)


class StaffOptionalReasonSerializer(VersionedSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class StaffNoteSerializer(VersionedSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class StaffRequiredNoteSerializer(VersionedSerializer):
    note = serializers.CharField(max_length=1000)


class ReceiveSerializer(VersionedSerializer):
    tracking_number = serializers.CharField(max_length=40)
    carrier = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class InspectSerializer(VersionedSerializer):
    grade = serializers.ChoiceField(choices=Inspection.Grade.choices)
    responsible_party = serializers.ChoiceField(choices=Inspection.Party.choices)
    disposition = serializers.ChoiceField(choices=Inspection.Disposition.choices)
    findings = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ResolveSerializer(VersionedSerializer):
    decision = serializers.ChoiceField(choices=[(s, CaseState(s).label) for s in ESCALATION_RESOLUTIONS])
    note = serializers.CharField(max_length=1000)


class CompensationAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Compensation.Kind.choices)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("9999999999.99")
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CompensationNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CompensationRequiredNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200)


class PayoutSerializer(serializers.Serializer):
    payout_reference = serializers.CharField(max_length=64)

"""Professional-claimant flags: raised by transparent thresholds, cleared only by a supervisor with a written reason."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.automation.risk import claimant_reasons, customer_facts
from aftersales.errors import NotAllowed
from aftersales.models import Case, RiskThresholds
from aftersales.notifications.outbox import alert_staff
from aftersales.permissions import SUPERVISOR
from aftersales.services._base import now
from customers.models import Customer, CustomerRiskFlag

if TYPE_CHECKING:
    from django.contrib.auth.models import User

KIND = CustomerRiskFlag.Kind.PROFESSIONAL_CLAIMANT
#: A justification shorter than this is not a justification.
MIN_JUSTIFICATION = 10


def _sync_customer_flags(customer: Customer) -> None:
    kinds = sorted(set(CustomerRiskFlag.objects.filter(customer=customer, active=True).values_list("kind", flat=True)))
    if list(customer.risk_flags or []) != kinds:
        customer.risk_flags = kinds
        customer.save(update_fields=["risk_flags"])


@transaction.atomic
def customer_flag_refresh(
    *, customer_id: int, at: datetime | None = None, thresholds: RiskThresholds | None = None
) -> CustomerRiskFlag | None:
    """Check one customer against the thresholds; raise or update their flag. Returns the active flag, if any.

    A flag a supervisor cleared comes back only with a new claim after the clearing.
    Flags are never lowered automatically: that takes a supervisor's written justification.
    """
    at = now(at)
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    thresholds = thresholds or RiskThresholds.current()  # callers that already read them pass them in
    facts = customer_facts(customer_id, at=at)
    reasons = claimant_reasons(facts, thresholds)
    active = CustomerRiskFlag.objects.filter(customer=customer, kind=KIND, active=True).first()
    if not reasons:
        return active
    if active is not None:
        if active.reasons != reasons:
            active.reasons, active.metrics = reasons, facts.as_dict()
            active.save(update_fields=["reasons", "metrics"])
        return active
    cleared = (
        CustomerRiskFlag.objects.filter(customer=customer, kind=KIND, active=False).order_by("-cleared_at").first()
    )
    if cleared is not None and not Case.objects.filter(customer=customer, opened_at__gt=cleared.cleared_at).exists():
        return None
    flag = CustomerRiskFlag.objects.create(
        customer=customer, kind=KIND, reasons=reasons, metrics=facts.as_dict(), flagged_at=at
    )
    _sync_customer_flags(customer)
    alert_staff(
        [SUPERVISOR],
        subject=_("Possible professional claimant: %(name)s") % {"name": customer.name},
        body=_("%(name)s (%(phone)s) reached the claimant thresholds: %(reasons)s")
        % {"name": customer.name, "phone": customer.masked_phone, "reasons": " ".join(reasons)},
        key=f"claimant:{flag.pk}",
    )
    return flag


@transaction.atomic
def customer_flag_clear(
    *, flag_id: int, actor: User | None, justification: str, at: datetime | None = None
) -> CustomerRiskFlag:
    """A supervisor clears a flag; the written justification is kept with it."""
    at = now(at)
    if actor is None or not actor.has_perm("customers.change_customer"):
        raise PermissionDenied(_("Only a supervisor may clear a risk flag."))
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise ValidationError(
            {
                "justification": _("Write why the flag is cleared (at least %(count)s characters).")
                % {"count": MIN_JUSTIFICATION}
            }
        )
    customer_id = CustomerRiskFlag.objects.filter(pk=flag_id).values_list("customer_id", flat=True).first()
    if customer_id is None:
        raise ValidationError({"flag": _("Unknown risk flag %(id)s.") % {"id": flag_id}})
    # Customer row first, then the flag: the same order as opening a case and the sweep (no deadlock).
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    flag = CustomerRiskFlag.objects.select_for_update().select_related("customer").get(pk=flag_id)
    if not flag.active:
        raise NotAllowed(_("This flag was already cleared on %(date)s.") % {"date": flag.cleared_at.date().isoformat()})
    flag.active, flag.cleared_at, flag.cleared_by, flag.justification = False, at, actor, justification
    flag.save(update_fields=["active", "cleared_at", "cleared_by", "justification"])
    _sync_customer_flags(customer)
    return flag

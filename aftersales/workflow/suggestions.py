"""The suggested compensation: from the goods in the case and the QC result. Pure: no queries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from aftersales.models import Compensation, Inspection, RequestType
from aftersales.workflow.money import money

#: Share of the goods' value suggested for a price adjustment (partial refund).
PRICE_ADJUSTMENT_SHARE = Decimal("0.10")
#: Goodwill coupon for a complaint, regular and VIP customers.
COMPLAINT_COUPON = Decimal("20.00")
COMPLAINT_COUPON_VIP = Decimal("50.00")
#: The VIP compensation upgrade (offered by a rule): a coupon of a share of the goods' value, with a floor.
VIP_UPGRADE_SHARE = Decimal("0.10")
VIP_UPGRADE_MIN = Decimal("30.00")


@dataclass(frozen=True)
class Suggestion:
    kind: str
    amount: Decimal
    basis: str


def suggest_compensation(
    *,
    request_type: str,
    claim_value: Decimal,
    already: dict[str, Decimal],
    grade: str | None,
    responsible_party: str | None,
    policy,
    is_vip: bool,
    vip_upgrade: bool = False,
) -> list[Suggestion]:
    """What an agent would offer, with the reason for each amount.

    ``already`` holds the live compensation per kind (quick refunds included),
    so a suggestion never repeats what is already offered or paid.
    """
    K, G, P = Compensation.Kind, Inspection.Grade, Inspection.Party
    if responsible_party == P.CUSTOMER:
        return []  # the customer is at fault: QC rejects the case, nothing to offer
    merchant_side = responsible_party in (P.MERCHANT, P.LOGISTICS)
    out: list[Suggestion] = []

    def add(kind: str, amount: Decimal, basis) -> None:
        amount = money(amount) - already.get(kind, Decimal("0.00"))
        if amount > 0:
            out.append(Suggestion(kind, money(amount), str(basis)))

    if request_type in (RequestType.REFUND_ONLY, RequestType.RETURN_REFUND):
        add(K.REFUND, claim_value, _("Full refund of the goods in this case."))
    elif request_type == RequestType.EXCHANGE:
        add(K.REPLACEMENT, claim_value, _("A replacement of the same value."))
    elif request_type == RequestType.REPAIR and grade == G.D:
        add(K.REPLACEMENT, claim_value, _("QC found the item unusable: replace it instead of repairing it."))
    elif request_type == RequestType.PRICE_ADJUSTMENT:
        add(K.REFUND, claim_value * PRICE_ADJUSTMENT_SHARE, _("Partial refund of 10% of the goods' value."))
    elif request_type == RequestType.COMPLAINT:
        coupon = COMPLAINT_COUPON_VIP if is_vip else COMPLAINT_COUPON
        add(
            K.COUPON,
            coupon,
            _("Goodwill coupon for the trouble (VIP rate).") if is_vip else _("Goodwill coupon for the trouble."),
        )
    if vip_upgrade and request_type != RequestType.COMPLAINT:
        add(
            K.COUPON,
            max(VIP_UPGRADE_MIN, claim_value * VIP_UPGRADE_SHARE),
            _("VIP compensation upgrade: a coupon of 10% of the goods' value (at least ¥30)."),
        )
    if grade is not None and merchant_side and not policy.shipping_insurance:
        add(
            K.RETURN_SHIPPING,
            policy.return_shipping_allowance,
            _("Return postage: the merchant's side is at fault and no shipping insurance covers it."),
        )
    return out

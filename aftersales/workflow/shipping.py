"""Shipping rules: where goods come back to (from the case's policy version), the carriers and the format each
carrier's tracking numbers take, where it is known.

Pure rules, no queries. A number is normalised first (spaces and dashes dropped, letters upper-cased), then
checked against its carrier's format; ``Carrier.OTHER`` takes any 6–32 letters and digits. The formats are the
public shapes of the carriers' waybill numbers (as the tracking aggregators recognise them):

- 顺丰 SF: ``SF`` + 13 digits, or 12 digits (older waybills);
- 中通 ZTO, 申通 STO: 12 to 15 digits;
- 圆通 YTO: ``YT`` + 13 to 15 digits;
- 韵达 YUNDA: 13 or 15 digits;
- 京东 JD: ``JD`` + 11 to 16 letters and digits (``JDVA…``, ``JDX…``);
- 邮政 EMS: 13 digits, or the UPU form of two letters, 9 digits, two letters (``EA123456789CN``);
- 极兔 JTEXPRESS: ``JT`` + 13 digits.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from aftersales.models import Carrier, CaseState

#: carrier → (pattern of a whole number, an example shown in the error)
FORMATS: dict[str, tuple[re.Pattern, str]] = {
    Carrier.SF: (re.compile(r"SF\d{13}|\d{12}"), "SF1234567890123"),
    Carrier.ZTO: (re.compile(r"\d{12,15}"), "731234567890123"),
    Carrier.YTO: (re.compile(r"YT\d{13,15}"), "YT1234567890123"),
    Carrier.YUNDA: (re.compile(r"\d{13}|\d{15}"), "4312345678901"),
    Carrier.STO: (re.compile(r"\d{12,15}"), "773123456789012"),
    Carrier.JD: (re.compile(r"JD[0-9A-Z]{11,16}"), "JDVA12345678901"),
    Carrier.EMS: (re.compile(r"\d{13}|[A-Z]{2}\d{9}[A-Z]{2}"), "1123456789012"),
    Carrier.JTEXPRESS: (re.compile(r"JT\d{13}"), "JT1234567890123"),
    Carrier.OTHER: (re.compile(r"[0-9A-Z]{6,32}"), "DPK123456789"),
}
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_tracking_number(number: str) -> str:
    """What people type, as the carrier prints it: no spaces or dashes, letters upper-case."""
    return _SEPARATORS.sub("", number or "").upper()


def carrier_label(code: str) -> str:
    """The carrier's name (a code we do not know is shown as it is)."""
    return str(Carrier(code).label) if code in Carrier.values else code


def clean_shipment(carrier: str, tracking_number: str) -> tuple[str, str]:
    """``(carrier, tracking number)`` checked and normalised, or a ``ValidationError`` naming the field."""
    carrier = (carrier or "").strip().upper()
    if carrier not in Carrier.values:
        choices = ", ".join(f"{code} ({Carrier(code).label})" for code in Carrier.values)
        raise ValidationError({"carrier": _("Choose a carrier by its code: %(choices)s.") % {"choices": choices}})
    number = normalise_tracking_number(tracking_number)
    if not number:
        raise ValidationError({"tracking_number": _("Give the tracking number.")})
    pattern, example = FORMATS[carrier]
    if not pattern.fullmatch(number):
        raise ValidationError(
            {
                "tracking_number": _("%(number)s is not a %(carrier)s tracking number (they look like %(example)s).")
                % {"number": number, "carrier": carrier_label(carrier), "example": example}
            }
        )
    return carrier, number


def return_address_line(version) -> str:
    """The policy (version)'s return address as one line, ``recipient phone, address`` ("" without an address)."""
    if not version.return_address:
        return ""
    who = " ".join(part for part in (version.return_recipient, version.return_phone) if part)
    return f"{who}, {version.return_address}" if who else version.return_address


def return_details(case) -> dict:
    """Where and by when the customer sends the goods back, and whether a pickup is offered (the channel's data)."""
    version = case.policy_version
    return {
        "recipient": version.return_recipient,
        "phone": version.return_phone,
        "address": version.return_address,
        "instructions": version.return_instructions,
        "pickup_offered": version.pickup_offered,
        "send_by": case.stage_due_at if case.state == CaseState.AWAITING_RETURN else None,
        "carriers": list(Carrier.values),
    }

"""Parcels of a case: the customer's return to the warehouse, and (later) goods shipped back out to them.

A case has at most one active return shipment: a second report replaces the first (the old row is kept,
inactive, with when it was replaced), so the timeline can say what the customer sent and when they corrected it.
The case's ``return_carrier`` / ``return_tracking_number`` mirror the active one (search and the QC bench read
them without a join).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.cases import Case
from aftersales.models.choices import Carrier


class Shipment(models.Model):
    class Direction(models.TextChoices):
        RETURN = "return", _("Return to the warehouse")
        OUTBOUND = "outbound", _("To the customer")

    class Status(models.TextChoices):
        REPORTED = "reported", _("Tracking number given")
        COLLECTED = "collected", _("Collected")
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Delivery problem")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="shipments")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.RETURN)
    carrier = models.CharField(_("carrier"), max_length=12, choices=Carrier.choices)
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    pickup = models.BooleanField(
        _("door-to-door pickup"), default=False, help_text=_("The customer asked the carrier to collect at the door.")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REPORTED)
    active = models.BooleanField(_("active"), default=True, help_text=_("Off once another shipment replaced it."))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The channel's account for the customer, or the staff member who recorded it."),
    )
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_scan_at = models.DateTimeField(_("latest scan at"), null=True, blank=True)
    quiet_since = models.DateTimeField(
        _("no news since"), default=timezone.now, help_text=_("The latest scan, or the report while there is none.")
    )
    stuck_alerted_at = models.DateTimeField(
        _("stuck alert sent at"), null=True, blank=True, help_text=_("Reset by the next scan.")
    )
    subscribed_at = models.DateTimeField(
        _("tracking subscribed at"), null=True, blank=True, help_text=_("When the tracking provider took it on.")
    )
    polled_at = models.DateTimeField(_("tracking last asked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "direction"],
                condition=Q(active=True),
                name="shipment_one_active_per_direction",
                violation_error_message=_("A case has one active shipment each way."),
            ),
        ]
        indexes = [
            models.Index(fields=["tracking_number", "carrier"], name="shipment_tracking"),
            # Parcels on their way by how long they have been quiet: the stuck-parcel sweep and the tracking pull.
            models.Index(
                fields=["quiet_since"], name="shipment_on_its_way", condition=Q(active=True, delivered_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_carrier_display()} {self.tracking_number}"

    @property
    def on_its_way(self) -> bool:
        return self.active and self.delivered_at is None


class ShipmentEvent(models.Model):
    """One scan of a parcel as the carrier reported it (through the tracking provider's push or a query)."""

    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="scans")
    at = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=20, choices=Shipment.Status.choices)
    place = models.CharField(_("place"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=500)
    code = models.CharField(
        _("provider's status code"), max_length=10, blank=True, help_text=_("As the tracking provider sent it.")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("parcel scan")
        verbose_name_plural = _("parcel scans")
        ordering = ["-at", "-id"]
        constraints = [
            # A provider sends the whole history with every push: a scan is recorded once.
            models.UniqueConstraint(fields=["shipment", "at", "description"], name="shipmentevent_once"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_status_display()} {self.place}"


__all__ = ["Shipment", "ShipmentEvent"]

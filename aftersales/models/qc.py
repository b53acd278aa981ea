"""QC: the inspection of returned goods (grade, responsible party, disposition) and its photos."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.cases import Case


class Inspection(models.Model):
    class Grade(models.TextChoices):
        A = "A", _("A – as new")
        B = "B", _("B – opened, resaleable")
        C = "C", _("C – damaged")
        D = "D", _("D – unusable")
        WRONG_ITEM = "wrong_item", _("Wrong item returned")
        MISSING = "missing", _("Parts missing")

    class Party(models.TextChoices):
        MERCHANT = "merchant", _("Merchant")
        LOGISTICS = "logistics", _("Logistics")
        CUSTOMER = "customer", _("Customer")

    class Disposition(models.TextChoices):
        RESTOCK = "restock", _("Restock")
        REFURBISH = "refurbish", _("Refurbish")
        SCRAP = "scrap", _("Scrap")
        RETURN_TO_CUSTOMER = "return_to_customer", _("Return to customer")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="inspections")
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices)
    findings = models.TextField(_("findings"), blank=True)
    responsible_party = models.CharField(_("responsible party"), max_length=20, choices=Party.choices)
    disposition = models.CharField(_("disposition"), max_length=20, choices=Disposition.choices)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    inspected_at = models.DateTimeField(_("inspected at"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_grade_display()} / {self.get_responsible_party_display()}"


def _photo_path(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"inspections/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext}"


class InspectionPhoto(models.Model):
    """A photo taken at QC; served only through the case page's permission check."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("photo"), upload_to=_photo_path)
    original_name = models.CharField(_("file name"), max_length=200, blank=True)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name or self.image.name


__all__ = [
    "Inspection",
    "InspectionPhoto",
]

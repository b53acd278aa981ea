"""QC photos: checked by size and by content (not by the name or the browser's word), then stored."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from aftersales.models import Inspection, InspectionPhoto

#: content type → (magic-byte test, allowed file-name extensions)
PHOTO_TYPES = {
    "image/jpeg": (lambda head: head[:3] == b"\xff\xd8\xff", {"jpg", "jpeg"}),
    "image/png": (lambda head: head[:8] == b"\x89PNG\r\n\x1a\n", {"png"}),
    "image/webp": (lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", {"webp"}),
}


def _sniff(upload) -> str | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for content_type, (test, _extensions) in PHOTO_TYPES.items():
        if test(head):
            return content_type
    return None


def validate_photos(photos: Sequence) -> list[tuple[object, str]]:
    """``[(upload, content_type)]``, or a ``ValidationError`` on ``photos`` naming each bad file."""
    photos = [p for p in photos if p]
    limit = settings.QC_PHOTO_MAX_COUNT
    if len(photos) > limit:
        raise ValidationError({"photos": _("At most %(count)s photos per inspection.") % {"count": limit}})
    problems, accepted = [], []
    max_bytes = settings.QC_PHOTO_MAX_BYTES
    for upload in photos:
        name = getattr(upload, "name", "") or "?"
        if upload.size > max_bytes:
            problems.append(
                _("%(name)s is %(size)s; a photo may be at most %(max)s.")
                % {"name": name, "size": filesizeformat(upload.size), "max": filesizeformat(max_bytes)}
            )
            continue
        content_type = _sniff(upload)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if content_type is None or extension not in PHOTO_TYPES[content_type][1]:
            problems.append(_("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name})
            continue
        accepted.append((upload, content_type))
    if problems:
        raise ValidationError({"photos": problems})
    return accepted


def store_photos(inspection: Inspection, accepted: list[tuple[object, str]]) -> list[InspectionPhoto]:
    """Write the files and their rows; if any fails, the files already written are removed again."""
    stored: list[InspectionPhoto] = []
    try:
        for upload, content_type in accepted:
            photo = InspectionPhoto(
                inspection=inspection,
                original_name=(getattr(upload, "name", "") or "")[:200],
                content_type=content_type,
                size=upload.size,
            )
            photo.image.save(upload.name, upload, save=False)
            stored.append(photo)
            photo.save()
    except BaseException:
        for photo in stored:
            photo.image.delete(save=False)
        raise
    return stored

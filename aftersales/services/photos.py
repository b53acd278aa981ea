"""Uploaded photos and videos (QC photos, the customer's evidence): checked by size and by content — not by the
name or the browser's word — and stripped of their metadata (EXIF and XMP with the camera's GPS position, text
chunks, a video's user data) before they are stored. Nothing is re-encoded: metadata segments are dropped (a
video's are blanked in place), and a photo's orientation is kept so it still shows upright.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from aftersales.models import Inspection, InspectionPhoto

#: content type → (magic-byte test, allowed file-name extensions)
PHOTO_TYPES = {
    "image/jpeg": (lambda head: head[:3] == b"\xff\xd8\xff", {"jpg", "jpeg"}),
    "image/png": (lambda head: head[:8] == b"\x89PNG\r\n\x1a\n", {"png"}),
    "image/webp": (lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", {"webp"}),
}
VIDEO_TYPES = {
    # ISO base media: a box of type ``ftyp`` first, with an MP4-family brand.
    "video/mp4": (
        lambda head: head[4:8] == b"ftyp" and head[8:11] in (b"iso", b"mp4", b"avc", b"M4V", b"qt "),
        {"mp4"},
    ),
}


@dataclass
class Accepted:
    upload: object
    content_type: str
    content: bytes  # the file as it will be stored (metadata removed)

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


def _sniff(head: bytes, types: dict) -> str | None:
    for content_type, (test, _extensions) in types.items():
        if test(head):
            return content_type
    return None


def validate_media(
    files: Sequence, *, field: str, max_count: int, videos: bool = False, already: int = 0
) -> list[Accepted]:
    """The files checked, their metadata stripped; or a ``ValidationError`` on ``field`` naming each bad file."""
    files = [f for f in files if f]
    if already + len(files) > max_count:
        raise ValidationError(
            {field: _("At most %(count)s files (%(already)s already here).") % {"count": max_count, "already": already}}
        )
    types = {**PHOTO_TYPES, **(VIDEO_TYPES if videos else {})}
    problems, accepted = [], []
    for upload in files:
        name = getattr(upload, "name", "") or "?"
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        content_type = _sniff(head, types)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if content_type is None or extension not in types[content_type][1]:
            kinds = _("a JPEG, PNG or WebP photo or an MP4 video") if videos else _("a JPEG, PNG or WebP photo")
            problems.append(_("%(name)s is not %(kinds)s.") % {"name": name, "kinds": kinds})
            continue
        limit = settings.EVIDENCE_VIDEO_MAX_BYTES if content_type in VIDEO_TYPES else settings.QC_PHOTO_MAX_BYTES
        if upload.size > limit:
            problems.append(
                _("%(name)s is %(size)s; it may be at most %(max)s.")
                % {"name": name, "size": filesizeformat(upload.size), "max": filesizeformat(limit)}
            )
            continue
        content = upload.read()
        upload.seek(0)
        try:
            content = strip_metadata(content, content_type)
        except ValueError:
            problems.append(_("%(name)s is damaged and cannot be read.") % {"name": name})
            continue
        accepted.append(Accepted(upload, content_type, content))
    if problems:
        raise ValidationError({field: problems})
    return accepted


def validate_photos(photos: Sequence) -> list[Accepted]:
    return validate_media(photos, field="photos", max_count=settings.QC_PHOTO_MAX_COUNT)


# --------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------
def strip_metadata(content: bytes, content_type: str) -> bytes:
    """The file without its metadata (``ValueError`` when its structure is broken)."""
    if content_type == "image/jpeg":
        return _strip_jpeg(content)
    if content_type == "image/png":
        return _strip_png(content)
    if content_type == "image/webp":
        return _strip_webp(content)
    if content_type == "video/mp4":
        return _strip_mp4(content)
    raise ValueError(f"no metadata rules for {content_type}")


def _exif_orientation(exif: bytes) -> int | None:
    """The Orientation tag (1–8) of an EXIF block (``Exif\\0\\0`` + TIFF), if it has one."""
    tiff = exif[6:]
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        for n in range(count):
            entry = tiff[ifd + 2 + 12 * n : ifd + 14 + 12 * n]
            tag, kind, _count = struct.unpack(order + "HHI", entry[:8])
            if tag == 0x0112 and kind == 3:  # SHORT
                (value,) = struct.unpack(order + "H", entry[8:10])
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def _orientation_segment(orientation: int) -> bytes:
    """A minimal EXIF segment holding only the Orientation tag (so a phone's portrait photo stays upright)."""
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _strip_jpeg(data: bytes) -> bytes:
    """Drop APP1–APP15 (EXIF, XMP, MPF …) and comments, keep JFIF, the ICC profile and Adobe's APP14, keep the
    Orientation (in a new minimal EXIF segment), and end the file at the image's end marker: what phones append
    after it (preview images with their own EXIF, motion-photo videos) goes too."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, i, orientation = bytearray(b"\xff\xd8"), 2, None
    while i < len(data):
        if data[i] != 0xFF:
            raise ValueError("bad JPEG marker")
        if i + 1 >= len(data):
            raise ValueError("truncated JPEG")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: entropy-coded data up to the end marker (0xFF is stuffed in it)
            end = data.find(b"\xff\xd9", i + 2)
            if end < 0:
                raise ValueError("JPEG without its end")
            if orientation and orientation != 1:
                at = 2  # after JFIF's APP0, which must come first
                if out[2:4] == b"\xff\xe0":
                    at = 4 + struct.unpack(">H", out[4:6])[0]
                out[at:at] = _orientation_segment(orientation)
            out += data[i : end + 2]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += data[i : i + 2]
            i += 2
            continue
        if i + 4 > len(data):
            raise ValueError("truncated JPEG")
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        end = i + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("bad JPEG segment")
        payload = data[i + 4 : end]
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00") and orientation is None:
            orientation = _exif_orientation(payload)
        keep = (
            marker == 0xE0
            or (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"))
            or marker == 0xEE
            or not (0xE1 <= marker <= 0xEF or marker == 0xFE)
        )
        if keep:
            out += data[i:end]
        i = end
    raise ValueError("JPEG without image data")


#: PNG chunks that carry metadata: EXIF, text, time.
_PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def _strip_png(data: bytes) -> bytes:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    out, i = bytearray(data[:8]), 8
    while i < len(data):
        if i + 8 > len(data):
            raise ValueError("truncated PNG")
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            raise ValueError("bad PNG chunk")
        if kind not in _PNG_DROP:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            return bytes(out)
    raise ValueError("PNG without its end")


def _strip_webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    (riff_size,) = struct.unpack("<I", data[4:8])
    limit = min(len(data), 8 + riff_size)  # bytes after the RIFF container are not part of the image
    chunks, i = [], 12
    while i < limit:
        if i + 8 > limit:
            raise ValueError("truncated WebP")
        kind = data[i : i + 4]
        (length,) = struct.unpack("<I", data[i + 4 : i + 8])
        if i + 8 + length > limit:
            raise ValueError("bad WebP chunk")
        chunk = bytearray(data[i : i + 8 + length])
        if length & 1:
            chunk += b"\x00"  # chunks are padded to an even size (a missing last pad byte is restored)
        if kind not in (b"EXIF", b"XMP "):
            if kind == b"VP8X" and length >= 1:
                chunk[8] &= ~0x0C & 0xFF  # the extended header no longer announces EXIF (0x08) or XMP (0x04)
            chunks.append(bytes(chunk))
        i += 8 + length + (length & 1)
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


#: MP4 boxes that hold other boxes (walked), and those that hold metadata (blanked).
_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts"}
_MP4_METADATA = {b"udta", b"meta", b"uuid"}


def _strip_mp4(data: bytes) -> bytes:
    """Blank the metadata boxes (``udta``/``meta``/``uuid``: the phone's GPS position ``©xyz``, its model, XMP) into
    ``free`` boxes of the same size, so the offsets of the media data stay right and the video plays as it did."""
    out = bytearray(data)

    def walk(start: int, end: int) -> None:
        i = start
        while i + 8 <= end:
            (size,) = struct.unpack(">I", out[i : i + 4])
            kind = bytes(out[i + 4 : i + 8])
            header = 8
            if size == 1:  # 64-bit size
                if i + 16 > end:
                    raise ValueError("truncated MP4 box")
                (size,) = struct.unpack(">Q", out[i + 8 : i + 16])
                header = 16
            elif size == 0:  # to the end of its container
                size = end - i
            if size < header or i + size > end:
                raise ValueError("bad MP4 box")
            if kind in _MP4_METADATA:
                out[i + 4 : i + 8] = b"free"
                out[i + header : i + size] = bytes(size - header)
            elif kind in _MP4_CONTAINERS:
                walk(i + header, i + size)
            i += size

    walk(0, len(out))
    return bytes(out)


# --------------------------------------------------------------------------
# Storing
# --------------------------------------------------------------------------
def store_files(rows_and_files: list[tuple[object, str, Accepted]]) -> None:
    """Save each ``(row, file field name, accepted)``: the file through the storage, then the row. If any fails, the
    files already written are removed again."""
    stored = []
    try:
        for row, field_name, accepted in rows_and_files:
            field = getattr(row, field_name)
            field.save(getattr(accepted.upload, "name", "") or "upload", ContentFile(accepted.content), save=False)
            stored.append(field)
            row.save()
    except BaseException:
        for field in stored:
            field.delete(save=False)
        raise


def store_photos(inspection: Inspection, accepted: list[Accepted]) -> list[InspectionPhoto]:
    photos = [
        InspectionPhoto(
            inspection=inspection,
            original_name=(getattr(item.upload, "name", "") or "")[:200],
            content_type=item.content_type,
            size=len(item.content),
        )
        for item in accepted
    ]
    store_files([(photo, "image", item) for photo, item in zip(photos, accepted, strict=True)])
    return photos

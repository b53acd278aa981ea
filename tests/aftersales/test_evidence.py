"""The customer's evidence: photos and short videos uploaded through the channel (or by an agent), checked by their
content, stripped of their metadata, stored through the storage API and served only to those who may see the case."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales import services
from aftersales.models import ApiKey, CaseEvent, CaseState, EventName, Evidence
from aftersales.services.photos import strip_metadata

S = CaseState
GPS = b"GPSLatitude 31.2304N GPSLongitude 121.4737E"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_exif() -> bytes:
    """SOI, JFIF, an EXIF segment with a position in it, a comment, a quantisation table, the scan, EOI."""
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xE1, b"Exif\x00\x00" + GPS)
        + _segment(0xFE, b"shot on a phone")
        + _segment(0xDB, b"\x00" + bytes(range(64)))
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\x34\x56\x78\xff\x00\x9a"  # entropy-coded data (with a stuffed 0xFF)
        + b"\xff\xd9"
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_exif() -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + _chunk(b"eXIf", b"MM\x00*" + GPS)
        + _chunk(b"tEXt", b"Comment\x00from the camera")
        + _chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + _chunk(b"IEND", b"")
    )


def webp_with_exif() -> bytes:
    def chunk(kind, data):
        return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")

    body = b"WEBP" + chunk(b"VP8X", bytes([0x08 | 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0])) + chunk(b"VP8 ", b"\x10" * 11)
    body += chunk(b"EXIF", b"MM\x00*" + GPS) + chunk(b"XMP ", b"<x:xmpmeta/>")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mp4() -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def api(users):
    key = ApiKey(name="App", channel="app", user=users["channel"])
    raw = key.issue()
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def evidence_url(case):
    return reverse("api:case-evidence", args=[case.number])


# -- metadata --------------------------------------------------------------------------------------------
def test_a_jpeg_loses_its_exif_and_comment_but_keeps_its_image_data():
    original = jpeg_with_exif()
    stripped = strip_metadata(original, "image/jpeg")
    assert GPS not in stripped and b"Exif" not in stripped and b"shot on a phone" not in stripped
    assert b"JFIF" in stripped and stripped.endswith(b"\x12\x34\x56\x78\xff\x00\x9a\xff\xd9")
    assert len(stripped) == len(original) - (4 + 6 + len(GPS)) - (4 + len(b"shot on a phone"))


def test_a_png_loses_its_exif_and_text_chunks_only():
    stripped = strip_metadata(png_with_exif(), "image/png")
    assert GPS not in stripped and b"tEXt" not in stripped
    assert b"IHDR" in stripped and b"IDAT" in stripped and stripped.endswith(_chunk(b"IEND", b""))


def test_a_webp_loses_its_exif_and_xmp_and_no_longer_announces_them():
    stripped = strip_metadata(webp_with_exif(), "image/webp")
    assert GPS not in stripped and b"XMP " not in stripped
    assert struct.unpack("<I", stripped[4:8])[0] == len(stripped) - 8
    flags = stripped[stripped.index(b"VP8X") + 8]
    assert flags & 0x0C == 0


def _exif_with_orientation(value: int) -> bytes:
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 2)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, value, 0)  # Orientation
    tiff += struct.pack("<HHII", 0x8825, 4, 1, 0)  # a pointer to GPS data
    return b"Exif\x00\x00" + tiff + struct.pack("<I", 0) + GPS


def test_a_phone_photo_keeps_its_orientation_and_loses_what_follows_the_image():
    from aftersales.services.photos import _exif_orientation

    phone = (
        b"\xff\xd8"
        + _segment(0xE1, _exif_with_orientation(6))
        + _segment(0xE2, b"MPF\x00" + b"\x00" * 8)  # the index of the preview appended below
        + _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 16)
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\xff\x00\x34"
        + b"\xff\xd9"
        + b"\xff\xd8"
        + _segment(0xE1, b"Exif\x00\x00" + GPS)
        + b"\xff\xd9"  # a preview with its own EXIF
    )
    stripped = strip_metadata(phone, "image/jpeg")
    assert GPS not in stripped and b"MPF" not in stripped and b"ICC_PROFILE" in stripped
    assert stripped.endswith(b"\x12\xff\x00\x34\xff\xd9") and stripped.count(b"\xff\xd8") == 1
    app1 = stripped.index(b"\xff\xe1")
    (length,) = struct.unpack(">H", stripped[app1 + 2 : app1 + 4])
    assert _exif_orientation(stripped[app1 + 4 : app1 + 2 + length]) == 6


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload) + 8) + kind + payload


def test_a_video_loses_its_location_and_keeps_its_size_and_media():
    xyz = _box(b"\xa9xyz", b"\x00\x12\x15\xc7+31.2304+121.4737/")
    movie = (
        _box(b"ftyp", b"mp42\x00\x00\x00\x00mp42isom")
        + _box(b"moov", _box(b"mvhd", b"\x00" * 100) + _box(b"trak", _box(b"tkhd", b"\x00" * 84)) + _box(b"udta", xyz))
        + _box(b"mdat", b"\x01\x02\x03\x04" * 8)
    )
    stripped = strip_metadata(movie, "video/mp4")
    assert len(stripped) == len(movie) and b"+31.2304" not in stripped and b"udta" not in stripped
    assert stripped.endswith(_box(b"mdat", b"\x01\x02\x03\x04" * 8)) and b"free" in stripped
    with pytest.raises(ValueError):
        strip_metadata(movie + struct.pack(">I", 999) + b"free", "video/mp4")  # a box larger than the file


def test_a_webp_with_bytes_after_its_container_is_read_within_it():
    photo = webp_with_exif()
    stripped = strip_metadata(photo + b"trailing", "image/webp")
    assert stripped == strip_metadata(photo, "image/webp") and b"trailing" not in stripped


def test_a_broken_jpeg_is_reported_not_stored():
    with pytest.raises(ValueError):
        strip_metadata(b"\xff\xd8\xff\xe1\x00", "image/jpeg")


# -- the channel uploads -------------------------------------------------------------------------------
def test_the_channel_uploads_a_photo_and_a_video_and_downloads_them_back(api, case_in, _media):
    case = case_in(S.PENDING_REVIEW)
    response = api.post(
        evidence_url(case),
        {
            "files": [
                SimpleUploadedFile("破损.jpg", jpeg_with_exif(), content_type="image/jpeg"),
                SimpleUploadedFile("开箱.mp4", mp4(), content_type="video/mp4"),
            ]
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    files = response.json()["evidence_files"]
    assert [(f["name"], f["content_type"]) for f in files] == [("破损.jpg", "image/jpeg"), ("开箱.mp4", "video/mp4")]
    photo = Evidence.objects.get(original_name="破损.jpg")
    assert photo.size == len(strip_metadata(jpeg_with_exif(), "image/jpeg"))
    stored = photo.file.open("rb").read()
    assert GPS not in stored and stored.startswith(b"\xff\xd8")
    download = api.get(files[0]["url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/jpeg"
    assert b"".join(download.streaming_content) == stored
    event = CaseEvent.objects.get(case=case, name=EventName.EVIDENCE)
    assert event.data["evidence"] == [f["id"] for f in files] and "破损.jpg" in event.note


@pytest.mark.parametrize(
    ("upload", "setting", "message"),
    [
        (SimpleUploadedFile("photo.jpg", b"this is a text file", content_type="image/jpeg"), None, "photo.jpg"),
        (SimpleUploadedFile("photo.png", jpeg_with_exif(), content_type="image/png"), None, "photo.png"),
        (SimpleUploadedFile("clip.mp4", mp4(), content_type="video/mp4"), ("EVIDENCE_VIDEO_MAX_BYTES", 50), "clip.mp4"),
        (
            SimpleUploadedFile("big.jpg", jpeg_with_exif(), content_type="image/jpeg"),
            ("QC_PHOTO_MAX_BYTES", 20),
            "big.jpg",
        ),
        (SimpleUploadedFile("bad.jpg", b"\xff\xd8\xff\xe1\x00", content_type="image/jpeg"), None, "bad.jpg"),
    ],
)
def test_a_file_that_is_not_what_it_says_or_too_big_is_refused_by_name_and_nothing_is_written(
    api, case_in, settings, _media, upload, setting, message
):
    if setting:
        setattr(settings, *setting)
    case = case_in(S.PENDING_REVIEW)
    version = case.version
    good = SimpleUploadedFile("good.jpg", jpeg_with_exif(), content_type="image/jpeg")
    response = api.post(evidence_url(case), {"files": [good, upload]}, format="multipart")
    assert response.status_code == 400 and message in str(response.json()["files"]), response.json()
    assert not Evidence.objects.exists() and stored_files(_media) == []
    assert case.__class__.objects.get(pk=case.pk).version == version


def test_more_files_than_a_case_may_hold_are_refused(api, case_in, settings):
    settings.EVIDENCE_MAX_COUNT = 2
    case = case_in(S.PENDING_REVIEW)
    photo = jpeg_with_exif()
    first = api.post(evidence_url(case), {"files": [SimpleUploadedFile("1.jpg", photo)]}, format="multipart")
    assert first.status_code == 201
    files = [SimpleUploadedFile("2.jpg", photo), SimpleUploadedFile("3.jpg", photo)]
    response = api.post(evidence_url(case), {"files": files}, format="multipart")
    assert response.status_code == 400 and "2" in str(response.json()["files"])
    assert Evidence.objects.count() == 1


def test_no_files_and_a_finished_case_are_refused(api, case_in, order):
    case = case_in(S.PENDING_REVIEW)
    assert api.post(evidence_url(case), {}, format="multipart").status_code == 400
    closed = case_in(S.REJECTED, lines=[(order.lines.get(sku="JK-002").pk, 1)])
    response = api.post(
        evidence_url(closed), {"files": [SimpleUploadedFile("1.jpg", jpeg_with_exif())]}, format="multipart"
    )
    assert response.status_code == 409 and not Evidence.objects.exists()


def test_another_channels_case_and_its_files_are_not_found(api, case_in, users):
    case = case_in(S.PENDING_REVIEW)
    [evidence] = services.case_add_evidence(
        case_id=case.pk, actor=users["agent"], files=[SimpleUploadedFile("1.jpg", jpeg_with_exif())]
    )
    case.__class__.objects.filter(pk=case.pk).update(channel="live_stream")
    assert api.get(reverse("api:case-evidence-file", args=[case.number, evidence.pk])).status_code == 404
    response = api.post(
        evidence_url(case), {"files": [SimpleUploadedFile("2.jpg", jpeg_with_exif())]}, format="multipart"
    )
    assert response.status_code == 404 and Evidence.objects.count() == 1


# -- staff -------------------------------------------------------------------------------------------------
def test_an_agent_adds_evidence_on_the_case_page_and_sees_the_thumbnails(login, agent, case_in):
    case = case_in(S.PENDING_REVIEW)
    client = login(agent)
    response = client.post(
        reverse("desk:evidence_add", args=[case.pk]),
        {"files": [SimpleUploadedFile("聊天截图.png", png_with_exif()), SimpleUploadedFile("开箱.mp4", mp4())]},
    )
    assert response.status_code == 302
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    photo, video = Evidence.objects.order_by("id")
    assert f'data-evidence="{photo.pk}"' in page and "<video" in page and f'data-evidence="{video.pk}"' in page
    served = client.get(reverse("desk:evidence", args=[case.pk, photo.pk]))
    assert served.status_code == 200 and GPS not in b"".join(served.streaming_content)


def test_a_wrong_file_on_the_case_page_is_named_beside_the_field(login, agent, case_in):
    case = case_in(S.PENDING_REVIEW)
    response = login(agent).post(
        reverse("desk:evidence_add", args=[case.pk]), {"files": [SimpleUploadedFile("合同.pdf", b"%PDF-1.7 ...")]}
    )
    assert response.status_code == 400 and "合同.pdf" in response.content.decode()
    assert not Evidence.objects.exists()


def test_evidence_is_served_only_to_those_who_may_see_the_case(login, users, case_in):
    case = case_in(S.PENDING_REVIEW)
    [evidence] = services.case_add_evidence(
        case_id=case.pk, actor=users["agent"], files=[SimpleUploadedFile("1.jpg", jpeg_with_exif())]
    )
    url = reverse("desk:evidence", args=[case.pk, evidence.pk])
    assert login(users["finance"]).get(url).status_code == 404  # finance sees cases with compensation only
    assert login(users["supervisor"]).get(url).status_code == 200


def test_qc_photos_are_stripped_too(case_in, qc):
    case = case_in(S.IN_QC)
    services.case_inspect(
        case_id=case.pk,
        actor=qc,
        grade="C",
        responsible_party="merchant",
        disposition="refurbish",
        findings="外壳破损",
        photos=[SimpleUploadedFile("qc.jpg", jpeg_with_exif())],
    )
    photo = case.inspections.get().photos.get()
    assert GPS not in photo.image.open("rb").read()


def _settings_in_a_fresh_process(env: dict) -> tuple[int, str]:
    import os
    import subprocess
    import sys

    code = "import django; django.setup(); from django.conf import settings; print(settings.STORAGES['default'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_files_go_to_an_s3_compatible_bucket_by_setting_and_a_wrong_setting_stops_startup():
    code, out = _settings_in_a_fresh_process(
        {"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "aftersales-media", "MEDIA_S3_ENDPOINT_URL": "https://minio.local"}
    )
    assert code == 0 and "storages.backends.s3.S3Storage" in out and "aftersales-media" in out
    assert "'default_acl': 'private'" in out and "https://minio.local" in out
    code, out = _settings_in_a_fresh_process({"MEDIA_STORAGE": "ftp"})
    assert code != 0 and "MEDIA_STORAGE must be local or s3" in out
    code, out = _settings_in_a_fresh_process({})
    assert code == 0 and "FileSystemStorage" in out

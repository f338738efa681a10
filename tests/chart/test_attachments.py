"""Attachments: X-rays, photos and scans are checked by content, stored under a
generated name with a thumbnail, opened only by those who read the chart, and
soft-deleted."""
import io
import re

import pytest
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import func, select

from stompro.chart.attachments import detect_content_type, store_attachment
from stompro.chart.models import Attachment
from stompro.errors import DomainError
from stompro.extensions import db

# A one-page PDF, written by hand (xref offsets are not checked by readers we rely on).
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
LINUX_PROGRAM = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def image_bytes(fmt, size=(640, 480), mode="RGB", colour=(180, 40, 40)):
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def xray_png():
    """A 16-bit greyscale gradient, as X-ray software exports."""
    image = Image.new("I;16", (300, 200))
    image.putdata([x * 12 for y in range(200) for x in range(300)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def storage(app, tmp_path, monkeypatch):
    directory = tmp_path / "attachments"
    monkeypatch.setitem(app.config, "ATTACHMENTS_DIR", str(directory))
    return directory


def files_under(directory):
    return sorted(p.relative_to(directory) for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def attachments_of(patient):
    return db.session.execute(select(Attachment).where(Attachment.patient_id == patient.id)).scalars().all()


def upload(client, auth, patient, content, filename, kind="xray", note=""):
    return client.post(
        f"/admin/attachment/upload/{patient.id}",
        data={
            "file": (io.BytesIO(content), filename, "image/jpeg"),
            "kind": kind,
            "note": note,
            "csrf_token": auth.csrf_token(),
        },
        content_type="multipart/form-data",
    )


def page_text(response):
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    "filename, content, content_type, has_thumbnail",
    [
        ("panorama.jpg", image_bytes("JPEG"), "image/jpeg", True),
        ("smile.png", image_bytes("PNG", mode="RGBA", colour=(0, 120, 0, 128)), "image/png", True),
        ("ct-report.pdf", TINY_PDF, "application/pdf", False),
    ],
)
def test_a_jpeg_a_png_and_a_pdf_are_stored_with_their_thumbnails(
    client, auth, storage, patient, filename, content, content_type, has_thumbnail
):
    auth.as_role("doctor")
    response = upload(client, auth, patient, content, filename, note="before treatment")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/attachment/patient/{patient.id}")

    [attachment] = attachments_of(patient)
    assert (attachment.content_type, attachment.size_bytes, attachment.filename) == (content_type, len(content), filename)
    assert attachment.uploaded_by.login == "doctor"
    assert attachment.note == "before treatment"
    stored = storage / attachment.storage_path
    assert stored.read_bytes() == content
    assert re.fullmatch(rf"{patient.id}/[0-9a-f]{{32}}\.(jpg|png|pdf)", attachment.storage_path)
    thumbnail = stored.with_name(stored.stem + ".thumb.jpg")
    assert thumbnail.exists() == has_thumbnail
    if has_thumbnail:
        with Image.open(thumbnail) as small:
            assert small.format == "JPEG" and max(small.size) <= 320
    assert not list(storage.glob(".incoming-*"))

    gallery = page_text(client.get(f"/admin/attachment/patient/{patient.id}"))
    assert f"Attached: {filename}" in gallery
    assert filename in gallery and "before treatment" in gallery


def test_a_16_bit_xray_gets_a_thumbnail_with_its_greys(storage, patient, doctor):
    attachment = store_attachment(
        db.session, patient, doctor, io.BytesIO(xray_png()), "xray.png", "xray", storage_dir=storage, max_bytes=2**20
    )
    thumbnail = storage / attachment.storage_path.replace(".png", ".thumb.jpg")
    with Image.open(thumbnail) as small:
        darkest, lightest = small.convert("L").getextrema()
    assert darkest < 20 and lightest > 235


@pytest.mark.parametrize(
    "content, what",
    [(WINDOWS_PROGRAM, "a Windows program"), (LINUX_PROGRAM, "a Linux program"), (b"<html><script>", "a text or HTML file")],
)
def test_an_executable_renamed_jpg_is_refused_and_nothing_is_written(client, auth, storage, patient, content, what):
    auth.as_role("doctor")
    response = upload(client, auth, patient, content, "tooth.jpg")
    assert response.status_code == 200
    assert f"Only JPEG, PNG and PDF files can be attached. This file is {what}." in page_text(response)
    assert attachments_of(patient) == []
    assert files_under(storage) == []


def test_a_damaged_jpeg_is_refused(storage, patient, doctor):
    truncated = image_bytes("JPEG")[:600]
    with force_locale("en"), pytest.raises(DomainError, match="starts like a JPEG image but cannot be read"):
        store_attachment(db.session, patient, doctor, io.BytesIO(truncated), "x.jpg", "xray", storage_dir=storage, max_bytes=2**20)
    assert attachments_of(patient) == []
    assert files_under(storage) == []


def test_an_empty_file_is_refused(storage, patient, doctor):
    with force_locale("en"), pytest.raises(DomainError, match="The file is empty"):
        store_attachment(db.session, patient, doctor, io.BytesIO(b""), "x.jpg", "xray", storage_dir=storage, max_bytes=2**20)
    assert files_under(storage) == []


def test_a_file_over_the_configured_limit_is_refused(app, client, auth, storage, patient, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_MB", 0.01)  # restored after the test
    auth.as_role("doctor")
    content = image_bytes("PNG", size=(400, 400), mode="RGB", colour=(1, 2, 3)) + b"\x00" * 20000
    assert len(content) > 0.01 * 2**20
    response = upload(client, auth, patient, content, "big.png")
    assert "The file is larger than the limit of 0.01 MB." in page_text(response)
    assert attachments_of(patient) == []
    assert files_under(storage) == []


def test_a_request_over_max_content_length_gets_a_clear_page(app, client, auth, storage, patient, monkeypatch):
    auth.as_role("doctor")
    token = auth.csrf_token()
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = client.post(
        f"/admin/attachment/upload/{patient.id}",
        data={"file": (io.BytesIO(b"\xff\xd8\xff" + b"\x00" * 10000), "big.jpg"), "kind": "xray", "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "The file is too large." in page_text(response)
    assert attachments_of(patient) == []


def test_files_are_removed_when_the_row_cannot_be_saved(storage, patient, doctor, monkeypatch):
    def broken_flush(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "flush", broken_flush)
    with pytest.raises(RuntimeError):
        store_attachment(
            db.session, patient, doctor, io.BytesIO(image_bytes("JPEG")), "x.jpg", "xray", storage_dir=storage, max_bytes=2**20
        )
    assert files_under(storage) == []


def test_the_users_file_name_never_becomes_a_path(storage, patient, doctor):
    attachment = store_attachment(
        db.session, patient, doctor, io.BytesIO(image_bytes("PNG")), "../../etc/cron.d/evil.png", "photo",
        storage_dir=storage, max_bytes=2**20,
    )
    assert attachment.filename == "evil.png"
    assert [p.parts[0] for p in files_under(storage)] == [str(patient.id), str(patient.id)]
    assert not (storage.parent / "etc").exists()


def test_detect_content_type_reads_magic_bytes_not_names():
    assert detect_content_type(image_bytes("JPEG")[:16]) == "image/jpeg"
    assert detect_content_type(image_bytes("PNG")[:16]) == "image/png"
    assert detect_content_type(TINY_PDF[:16]) == "application/pdf"
    assert detect_content_type(WINDOWS_PROGRAM[:16]) is None
    assert detect_content_type(image_bytes("GIF")[:16]) is None


@pytest.fixture
def stored_jpeg(storage, patient, doctor):
    content = image_bytes("JPEG")
    attachment = store_attachment(
        db.session, patient, doctor, io.BytesIO(content), "панорама.jpg", "xray", storage_dir=storage, max_bytes=2**20
    )
    db.session.commit()
    return attachment, content


@pytest.mark.parametrize("role", ["doctor", "owner", "coordinator"])
def test_the_file_opens_inline_for_those_who_read_the_chart(client, auth, stored_jpeg, role):
    attachment, content = stored_jpeg
    auth.as_role(role)
    response = client.get(f"/admin/attachment/file/{attachment.id}")
    assert response.status_code == 200
    assert response.data == content
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    thumbnail = client.get(f"/admin/attachment/thumb/{attachment.id}")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert thumbnail.data.startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("role", ["cashier", "administrator", "call_center"])
def test_other_roles_cannot_open_the_file(client, auth, stored_jpeg, role):
    attachment, _ = stored_jpeg
    auth.as_role(role)
    assert client.get(f"/admin/attachment/file/{attachment.id}").status_code == 403
    assert client.get(f"/admin/attachment/thumb/{attachment.id}").status_code == 403
    assert client.get(f"/admin/attachment/patient/{attachment.patient_id}").status_code == 403


def test_the_coordinator_sees_the_gallery_but_cannot_upload_or_delete(client, auth, stored_jpeg, patient):
    auth.as_role("coordinator")
    gallery = page_text(client.get(f"/admin/attachment/patient/{patient.id}"))
    assert "панорама.jpg" in gallery
    assert f"/admin/attachment/upload/{patient.id}" not in gallery
    assert "/admin/attachment/delete/" not in gallery
    assert upload(client, auth, patient, image_bytes("PNG"), "x.png").status_code == 403


def test_the_list_shows_a_thumbnail_that_opens_the_file(client, auth, stored_jpeg):
    attachment, _ = stored_jpeg
    auth.as_role("doctor")
    listing = page_text(client.get("/admin/attachment/"))
    assert f'src="/admin/attachment/thumb/{attachment.id}"' in listing
    assert f'href="/admin/attachment/file/{attachment.id}"' in listing


def test_soft_delete_hides_the_attachment_and_keeps_the_file(client, auth, storage, stored_jpeg, patient):
    attachment, content = stored_jpeg
    auth.as_role("doctor")
    gallery_url = f"/admin/attachment/patient/{patient.id}"
    assert "панорама.jpg" in page_text(client.get(gallery_url))

    response = client.post(
        "/admin/attachment/delete/", data={"id": attachment.id, "url": gallery_url, "csrf_token": auth.csrf_token()}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(gallery_url)

    gallery = page_text(client.get(gallery_url))
    assert "панорама.jpg" not in gallery and "No X-rays or photos yet." in gallery
    db.session.expire_all()
    assert db.session.get(Attachment, attachment.id).deleted_at is not None
    assert (storage / attachment.storage_path).read_bytes() == content
    assert client.get(f"/admin/attachment/file/{attachment.id}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.id == attachment.id)) == 1

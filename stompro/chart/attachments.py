"""X-rays, photos and scans: checked by their content, stored under a
generated name, with a small JPEG thumbnail next to every image.

Layout under the attachments directory::

    <patient_id>/<uuid>.<ext>         the file as uploaded
    <patient_id>/<uuid>.thumb.jpg     its thumbnail (JPEG and PNG only)

The name the user gave is kept only in the database, for display; it never
becomes a path."""
import os
import re
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from flask import abort, send_file
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..errors import DomainError, NotAllowed
from ..org.roles import DOCTOR, OWNER
from ..records import soft_delete
from .models import ATTACHMENT_KINDS, Attachment
from .services import open_exam

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG"}
IMAGE_TYPES = frozenset(PILLOW_FORMATS)

HEAD_BYTES = 512  # enough for every signature below (DICOM's sits at 128)
CHUNK_BYTES = 64 * 1024
THUMBNAIL_PIXELS = 320
INCOMING_PREFIX = ".incoming-"
CLINICIANS = frozenset({OWNER, DOCTOR})

# What a refused file really is, so the message can say it.
_KNOWN_OTHERS = (
    (0, b"MZ", _l("a Windows program")),
    (0, b"\x7fELF", _l("a Linux program")),
    (0, b"\xcf\xfa\xed\xfe", _l("a macOS program")),
    (0, b"#!", _l("a script")),
    (0, b"PK\x03\x04", _l("a ZIP archive or an Office document")),
    (0, b"GIF8", _l("a GIF image")),
    (0, b"II*\x00", _l("a TIFF image")),
    (0, b"MM\x00*", _l("a TIFF image")),
    (8, b"WEBP", _l("a WebP image")),
    (4, b"ftypheic", _l("a HEIC photo")),
    (4, b"ftypmif1", _l("a HEIC photo")),
    (128, b"DICM", _l("a DICOM file (export it as JPEG or PNG)")),
)


def detect_content_type(head_bytes):
    """"image/jpeg", "image/png" or "application/pdf" by the file's first
    bytes (its magic number), or None. The name and the browser's
    Content-Type are never trusted; whether an image really decodes is
    checked on the whole file by ``store_attachment``."""
    if head_bytes.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head_bytes.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head_bytes.startswith(b"%PDF-"):
        return PDF
    return None


def describe_content(head_bytes):
    """A few words on what a refused file is, for the error message."""
    for offset, signature, description in _KNOWN_OTHERS:
        if head_bytes[offset:offset + len(signature)] == signature:
            return description
    if head_bytes and b"\x00" not in head_bytes and _decodes_as_utf8(head_bytes):
        return _l("a text or HTML file")
    return _l("of an unknown kind")


def _decodes_as_utf8(head_bytes):
    try:
        head_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head_bytes) - 3  # only a character cut at the end of the head
    return True


def store_attachment(
    session, patient, uploaded_by, stream, filename, kind, exam=None, taken_at=None, note=None,
    *, storage_dir, max_bytes, join_open_exam=True,
):
    """Check an uploaded file, store it and its thumbnail, and add its row.

    ``stream`` is anything with ``read(n)``. The file is refused with a
    DomainError — and nothing is left on disk or in the session — when it is
    empty, larger than ``max_bytes``, not a JPEG, PNG or PDF by content, or an
    image that does not decode. Without ``exam`` it joins the patient's open
    exam, if any (unless ``join_open_exam`` is false: a signed document's scan). Files are written to a temporary name and renamed into
    place, so a reader never sees half a file. Flushes, never commits."""
    if kind not in ATTACHMENT_KINDS:
        raise DomainError(_l("Choose what kind of file this is."), field="kind")
    if exam is not None and exam.patient_id != patient.id:
        raise DomainError(_l("This exam belongs to another patient."), field="exam")
    root = Path(storage_dir)
    root.mkdir(parents=True, exist_ok=True)
    incoming, size, head = _receive(stream, root, max_bytes)
    thumbnail = final = None
    try:
        content_type = detect_content_type(head)
        if content_type is None:
            raise DomainError(
                _l("Only JPEG, PNG and PDF files can be attached. This file is %(what)s.", what=describe_content(head)),
                field="file",
            )
        if content_type in IMAGE_TYPES:
            thumbnail = _write_thumbnail(incoming, content_type, root)
        relative = PurePosixPath(str(patient.id), f"{uuid.uuid4().hex}.{EXTENSIONS[content_type]}")
        final = root / relative
        final.parent.mkdir(exist_ok=True)
        if thumbnail is not None:
            os.replace(thumbnail, _thumbnail_of(final))
        os.replace(incoming, final)
        attachment = Attachment(
            patient=patient,
            uploaded_by=uploaded_by,
            exam=exam if exam is not None or not join_open_exam else open_exam(session, patient.id, uploaded_by.id),
            kind=kind,
            filename=display_filename(filename, kind, content_type),
            content_type=content_type,
            size_bytes=size,
            storage_path=str(relative),
            taken_at=taken_at or utcnow(),
            note=(note or "").strip() or None,
        )
        session.add(attachment)
        session.flush()
    except BaseException:
        leftovers = [incoming, thumbnail] + ([final, _thumbnail_of(final)] if final is not None else [])
        for path in leftovers:
            if path is not None:
                path.unlink(missing_ok=True)
        raise
    return attachment


def _receive(stream, root, max_bytes):
    """Copy ``stream`` to a temporary file under ``root``, counting bytes.
    Returns (path, size, first bytes)."""
    handle, name = tempfile.mkstemp(prefix=INCOMING_PREFIX, dir=root)
    path = Path(name)
    size = 0
    head = b""
    try:
        with os.fdopen(handle, "wb") as target:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise DomainError(
                        _l("The file is larger than the limit of %(limit)s MB.", limit=f"{round(max_bytes / 2**20, 2):g}"),
                        field="file",
                    )
                if len(head) < HEAD_BYTES:
                    head += chunk[:HEAD_BYTES - len(head)]
                target.write(chunk)
        if size == 0:
            raise DomainError(_l("The file is empty."), field="file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, head


def _write_thumbnail(source, content_type, root):
    """Decode the whole image (proving it is one) and write a small JPEG of it
    to a temporary file under ``root``; returns that file's path."""
    handle, name = tempfile.mkstemp(prefix=INCOMING_PREFIX, suffix=".jpg", dir=root)
    os.close(handle)
    target = Path(name)
    try:
        with Image.open(source, formats=[PILLOW_FORMATS[content_type]]) as image:
            limit = Image.MAX_IMAGE_PIXELS
            if limit and image.width * image.height > limit:
                raise Image.DecompressionBombError
            image.draft("RGB", (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # JPEG only: decode at a smaller scale
            image.load()
            small = _eight_bit_rgb(ImageOps.exif_transpose(image))
            small.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            small.save(target, "JPEG", quality=80)
    except Image.DecompressionBombError as error:
        target.unlink(missing_ok=True)
        raise DomainError(
            _l("The image has more than %(limit)s million pixels; reduce it before attaching.",
               limit=Image.MAX_IMAGE_PIXELS // 10**6),
            field="file",
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        target.unlink(missing_ok=True)
        raise DomainError(
            _l("The file starts like a %(kind)s image but cannot be read; it may be damaged.",
               kind=PILLOW_FORMATS[content_type]),
            field="file",
        ) from error
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _eight_bit_rgb(image):
    """RGB for a JPEG thumbnail. 16-bit greyscale (common for X-rays) is
    stretched to its own range first, or it would come out white."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = image.convert("I")
        low, high = image.getextrema()
        scale = 255 / (high - low) if high > low else 0
        image = image.point(lambda value: (value - low) * scale).convert("L")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


def display_filename(filename, kind, content_type):
    """The user's file name, for display only: no folders, no control
    characters, at most 255 characters; a neutral name if nothing is left."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE_CHARACTERS.sub("", name).strip().lstrip(".")
    if not name:
        return f"{kind}.{EXTENSIONS[content_type]}"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:254 - len(extension)] + dot + extension) if dot and len(extension) < 16 else name[:255]
    return name


def _thumbnail_of(path):
    return path.with_name(f"{path.stem}.thumb.jpg")


def attachment_path(storage_dir, attachment):
    """Where the file of ``attachment`` lies. A stored path that would lead
    outside the attachments directory is refused (ValueError)."""
    root = Path(storage_dir).resolve()
    path = (root / attachment.storage_path).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"attachment {attachment.id} points outside the attachments directory")
    return path


def thumbnail_path(storage_dir, attachment):
    """Where the thumbnail of ``attachment`` lies; None for a PDF."""
    if attachment.content_type not in IMAGE_TYPES:
        return None
    return _thumbnail_of(attachment_path(storage_dir, attachment))


def list_attachments(session, patient_id):
    """The patient's attachments that are not deleted, newest first, with
    their uploader loaded (one query)."""
    return session.execute(
        select(Attachment)
        .options(joinedload(Attachment.uploaded_by))
        .where(Attachment.patient_id == patient_id, Attachment.deleted_at.is_(None))
        .order_by(Attachment.taken_at.desc(), Attachment.id.desc())
    ).scalars().all()


def describe_attachment(session, actor, attachment, kind=None, taken_at=None, note=None):
    """Change what is said about a stored file: its kind, when it was taken,
    the note. The file itself never changes."""
    _require_clinician(actor)
    if kind not in ATTACHMENT_KINDS:
        raise DomainError(_l("Choose what kind of file this is."), field="kind")
    if taken_at is None:
        raise DomainError(_l("Give the time the image was taken."), field="taken_at")
    if taken_at > utcnow():
        raise DomainError(_l("An image cannot be taken in the future."), field="taken_at")
    attachment.kind = kind
    attachment.taken_at = taken_at
    attachment.note = (note or "").strip() or None
    session.flush()
    return attachment


def discard_attachment(session, actor, attachment):
    """Move a file to the recycle bin (the owner can restore it); the file
    stays on disk."""
    _require_clinician(actor)
    soft_delete(session, attachment)


def _require_clinician(actor):
    if not actor.has_any_role(CLINICIANS):
        raise NotAllowed(_l("Only a doctor or the owner changes X-rays and photos."))


def file_response(path, content_type, filename):
    """The stored file inline, with the type checked at upload; never sniffed."""
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=content_type, download_name=filename, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    return response

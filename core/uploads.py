"""Safe handling of files patients upload (photo IDs, clinical photos).

The type is decided by the file's bytes (puremagic), never by its name or the browser's
content type. Images are decoded only after their header dimensions pass the pixel limit,
then re-encoded without metadata, so EXIF (GPS, device) never reaches storage or a
clinician. Files are encrypted, then stored under server-generated names in private storage
(a local folder or a private S3 bucket) that no URL maps to; views that serve them check who is
asking.
"""

import io
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import puremagic
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps
from pillow_heif import register_heif_opener

from core import crypto
from core.exceptions import DomainError

register_heif_opener()

JPEG, PNG, HEIC, PDF = "image/jpeg", "image/png", "image/heic", "application/pdf"
ALL_TYPES = frozenset({JPEG, PNG, HEIC, PDF})
IMAGE_TYPES = frozenset({JPEG, PNG, HEIC})
EXTENSIONS = {JPEG: ".jpg", PNG: ".png", PDF: ".pdf"}
LABELS = {JPEG: "JPEG", PNG: "PNG", HEIC: "HEIC", PDF: "PDF"}
# puremagic names these by extension; HEIC has several brand spellings.
_SNIFFED_EXTENSIONS = {
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".png": PNG,
    ".pdf": PDF,
    ".heic": HEIC,
    ".heif": HEIC,
}


TOO_MANY_PIXELS = "This image's dimensions are too large. Please upload a normal photo or a scan."
UNREADABLE = "We couldn't read this image. Please take the photo again."
# A PNG cannot be decoded at a reduced scale, and a 100 KB one can unpack to hundreds of MB:
# its own, lower cap (phones save photos as JPEG or HEIC; a PNG is a screenshot or a scan).
PNG_MAX_PIXELS = 16_000_000
# A JPEG larger than this is decoded at half scale (DCT scaling): still ~6 MP for a clinician.
JPEG_FULL_DECODE_PIXELS = 8_000_000
# Decoding is where memory goes (a 150 KB PNG can unpack to 100 MB): at most this many at once
# per process, so a burst of uploads queues instead of exhausting the server.
_DECODE_SLOTS = threading.BoundedSemaphore(2)


class UploadRejected(DomainError):
    """The file cannot be accepted; the message tells the patient what to do instead."""


@dataclass(frozen=True)
class SanitizedUpload:
    content: bytes
    mime_type: str
    extension: str
    size: int


def _read_bounded(uploaded: UploadedFile, max_bytes: int) -> bytes:
    too_big = (
        f"This file is larger than {max_bytes // (1024 * 1024)} MB. Please upload a smaller one."
    )
    if uploaded.size is not None and uploaded.size > max_bytes:
        raise UploadRejected(too_big)
    uploaded.seek(0)
    data = uploaded.read(max_bytes + 1)  # never read more than the limit allows
    if len(data) > max_bytes:
        raise UploadRejected(too_big)
    if not data:
        raise UploadRejected("This file is empty. Please choose the file again.")
    return data


def _sniff(data: bytes) -> str | None:
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypmsf1"):
        return HEIC
    try:
        matches = puremagic.magic_string(data[:8192])
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        mime = _SNIFFED_EXTENSIONS.get(match.extension.lower())
        if mime:
            return mime
    return None


def _reencode_image(data: bytes, mime_type: str) -> tuple[bytes, str]:
    """Check dimensions from the header, then decode and re-encode without metadata.

    Memory is bounded three ways: the pixel caps are checked before decoding (lower for PNG),
    a large JPEG is decoded straight at half scale (draft), and at most two images decode at
    once per process; nothing is copied while decoding. HEIC becomes JPEG: clinicians' tools
    and browsers read JPEG everywhere. `benchmarks/upload_memory.py` prints the peak.
    """
    with _DECODE_SLOTS:
        image = _decode(data)
        # Drop every metadata block Pillow carried over (EXIF, XMP, text chunks) before saving.
        image.info = {}
        out = io.BytesIO()
        if mime_type == PNG:
            image.save(out, format="PNG")
            return out.getvalue(), PNG
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90)
        return out.getvalue(), JPEG


def pixel_cap(*, image_format: str | None) -> int:
    cap = settings.UPLOAD_MAX_PIXELS
    return min(cap, PNG_MAX_PIXELS) if image_format == "PNG" else cap


def _decode(data: bytes) -> Image.Image:
    try:
        probe = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # Pillow's own, stricter guard fired first
        raise UploadRejected(TOO_MANY_PIXELS) from exc
    except Exception as exc:  # every decoder failure is the patient's "take it again"
        raise UploadRejected(UNREADABLE) from exc
    width, height = probe.size  # read from the header, nothing decoded yet
    if width * height > pixel_cap(image_format=probe.format):
        raise UploadRejected(TOO_MANY_PIXELS)
    try:
        if probe.format == "JPEG" and width * height > JPEG_FULL_DECODE_PIXELS:
            probe.draft(probe.mode, (width // 2, height // 2))
        probe.load()
        ImageOps.exif_transpose(probe, in_place=True)  # the orientation the EXIF asked for
    except Image.DecompressionBombError as exc:
        raise UploadRejected(TOO_MANY_PIXELS) from exc
    except Exception as exc:  # truncated data, oversized text or profile chunks, bad headers
        raise UploadRejected(UNREADABLE) from exc
    return probe


def upload_sanitize(
    *,
    uploaded: UploadedFile,
    allowed_types: Collection[str] | None = None,
    max_bytes: int | None = None,
) -> SanitizedUpload:
    """Validate and clean one upload. Raises UploadRejected with a patient-facing message."""
    allowed = frozenset(allowed_types or ALL_TYPES) & ALL_TYPES
    data = _read_bounded(uploaded, max_bytes or settings.UPLOAD_MAX_BYTES)
    mime_type = _sniff(data)
    if mime_type is None or mime_type not in allowed:
        names = ", ".join(sorted(LABELS[t] for t in allowed))
        raise UploadRejected(f"This file type isn't accepted. Please upload a {names} file.")
    if mime_type in IMAGE_TYPES:
        data, mime_type = _reencode_image(data, mime_type)
    elif data.lstrip()[:5] != b"%PDF-":
        raise UploadRejected("This PDF looks damaged. Please export it again.")
    return SanitizedUpload(
        content=data, mime_type=mime_type, extension=EXTENSIONS[mime_type], size=len(data)
    )


def private_storage() -> Storage:
    """STORAGES["private"]: a local folder or a private bucket (config/settings/base.py).

    Looked up per call; Django builds it once and builds it again when STORAGES changes (tests).
    Nothing else in the app touches it, and nothing asks it for a URL: files reach a browser
    only through views that check who is asking and call upload_open."""
    return storages["private"]


def _store_encrypted(*, content: bytes, folder: str, extension: str) -> str:
    name = f"{folder}/{uuid.uuid4().hex}{extension}"
    return private_storage().save(name, ContentFile(crypto.encrypt_bytes(content)))


def upload_store(*, sanitized: SanitizedUpload, folder: str) -> str:
    """Encrypt and write to private storage under a random name; returns the stored name.

    The bytes on disk (or in a bucket) are a Fernet token under FIELD_ENCRYPTION_KEYS, so a
    copied disk or backup holds no readable photo ID."""
    return _store_encrypted(content=sanitized.content, folder=folder, extension=sanitized.extension)


def upload_delete(*, names: list[str]) -> None:
    """Remove stored files whose rows were never kept (a refused step, a rolled-back save)."""
    storage = private_storage()
    for name in names:
        storage.delete(name)


def _read_raw(name: str) -> bytes:
    with private_storage().open(name, "rb") as handle:
        return handle.read()


def upload_open(*, name: str) -> bytes:
    """The file's plaintext. A file stored before encryption at rest (no token) is returned
    as it is; `rotate_encryption_keys` encrypts such files."""
    raw = _read_raw(name)
    return crypto.decrypt_bytes(raw) if crypto.is_token(raw) else raw


def upload_rotate(*, name: str) -> str:
    """Write the file again under the newest key, as a new file; returns the new name.

    A new name rather than an overwrite: the caller swaps names under the owning row's lock
    and deletes the old file only after commit, so a crash or rollback never leaves a row
    pointing at a half-written file (and object stores have no atomic rename)."""
    folder, _, filename = name.rpartition("/")
    extension = filename[filename.rfind(".") :] if "." in filename else ""
    return _store_encrypted(content=upload_open(name=name), folder=folder, extension=extension)

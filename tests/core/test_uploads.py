import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.uploads import (
    JPEG,
    PDF,
    PNG,
    UploadRejected,
    private_storage,
    upload_sanitize,
    upload_store,
)


def jpeg_bytes(*, size: tuple[int, int] = (40, 30), gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 120, 90))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 25.0, 10.0)}  # GPS IFD
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG whose header claims huge dimensions; its pixel data is never built."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_php_script_renamed_jpg_is_rejected_by_its_content():
    script = b"<?php system($_GET['cmd']); ?>\n" * 10
    with pytest.raises(UploadRejected, match="file type isn't accepted"):
        upload_sanitize(uploaded=upload("id.jpg", script, "image/jpeg"))


def test_a_30_mb_file_is_rejected_before_it_is_read_whole():
    big = upload("id.jpg", jpeg_bytes() + b"\x00" * (30 * 1024 * 1024))
    with pytest.raises(UploadRejected, match="larger than 10 MB"):
        upload_sanitize(uploaded=big)


def test_a_20000_by_20000_png_is_rejected_as_a_decompression_bomb():
    with pytest.raises(UploadRejected, match="dimensions are too large"):
        upload_sanitize(uploaded=upload("id.png", png_header_claiming(20_000, 20_000), "image/png"))


def test_gps_exif_is_stripped_from_an_accepted_jpeg():
    original = jpeg_bytes(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the fixture really has GPS
    clean = upload_sanitize(uploaded=upload("photo.jpg", original))
    assert clean.mime_type == JPEG
    reopened = Image.open(io.BytesIO(clean.content))
    assert not reopened.getexif()
    assert b"PhoneMaker" not in clean.content
    assert reopened.size == (40, 30)


def test_the_extension_and_browser_type_are_ignored_a_png_named_pdf_is_a_png():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="PNG")
    clean = upload_sanitize(uploaded=upload("scan.pdf", out.getvalue(), "application/pdf"))
    assert (clean.mime_type, clean.extension) == (PNG, ".png")


def test_heic_is_accepted_and_converted_to_jpeg():
    from pillow_heif import from_pillow

    out = io.BytesIO()
    from_pillow(Image.new("RGB", (16, 16), (10, 200, 10))).save(out, quality=80)
    clean = upload_sanitize(uploaded=upload("IMG_0001.HEIC", out.getvalue(), "image/heic"))
    assert clean.mime_type == JPEG
    assert Image.open(io.BytesIO(clean.content)).format == "JPEG"


def test_a_pdf_is_accepted_as_is_and_allowed_types_are_enforced():
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert upload_sanitize(uploaded=upload("id.pdf", pdf, "application/pdf")).mime_type == PDF
    with pytest.raises(UploadRejected, match="JPEG, PNG"):
        upload_sanitize(
            uploaded=upload("id.pdf", pdf, "application/pdf"), allowed_types={JPEG, PNG}
        )


def test_an_empty_or_truncated_image_is_a_clear_error():
    with pytest.raises(UploadRejected, match="empty"):
        upload_sanitize(uploaded=upload("id.jpg", b""))
    with pytest.raises(UploadRejected):
        upload_sanitize(uploaded=upload("id.jpg", jpeg_bytes()[:40]))


def test_stored_files_get_server_generated_private_names(settings):
    clean = upload_sanitize(uploaded=upload("../../etc/passwd.jpg", jpeg_bytes()))
    name = upload_store(sanitized=clean, folder="identity")
    assert name.startswith("identity/") and name.endswith(".jpg")
    assert "passwd" not in name
    path = private_storage().path(name)
    assert str(path).startswith(str(settings.PRIVATE_MEDIA_ROOT))
    import os
    import stat

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_our_pixel_limit_applies_below_pillows_own_bomb_threshold(settings):
    settings.UPLOAD_MAX_PIXELS = 1_000_000
    with pytest.raises(UploadRejected, match="dimensions are too large"):
        upload_sanitize(uploaded=upload("id.png", png_header_claiming(2_000, 1_000), "image/png"))


def test_a_png_under_the_general_cap_but_over_the_png_cap_is_refused_before_decoding():
    from core.uploads import PNG_MAX_PIXELS

    width = 5_000
    height = PNG_MAX_PIXELS // width + 1  # a handful of bytes that would unpack to ~64 MB
    with pytest.raises(UploadRejected, match="dimensions are too large"):
        upload_sanitize(uploaded=upload("id.png", png_header_claiming(width, height), "image/png"))


def test_a_png_with_a_huge_text_chunk_is_a_clear_error_not_a_500():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 30_000_000, zip=True)  # ~30 KB compressed, 30 MB unpacked
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, format="PNG", pnginfo=info)
    with pytest.raises(UploadRejected, match="couldn't read this image"):
        upload_sanitize(uploaded=upload("id.png", out.getvalue(), "image/png"))


def test_a_large_jpeg_is_decoded_at_half_scale_and_kept_readable():
    out = io.BytesIO()
    Image.new("RGB", (4_000, 3_000), (120, 110, 100)).save(out, format="JPEG")
    clean = upload_sanitize(uploaded=upload("photo.jpg", out.getvalue()))
    with Image.open(io.BytesIO(clean.content)) as kept:
        assert kept.size == (2_000, 1_500)


def test_a_declared_150_mb_upload_is_refused_before_its_body_is_read(client, db):
    from django.urls import reverse

    response = client.post(
        reverse("accounts:signup"),
        data=b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(150 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert b"That file is too large" in response.content and b"10 MB" in response.content

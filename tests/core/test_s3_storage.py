"""Private files on S3-compatible object storage, against a real local S3 server (moto's,
started by tests/conftest.py on 127.0.0.1): what lands in the bucket is ciphertext, reads go
through the access-checked views, deletion and key rotation reach the bucket, and no object
is readable without credentials."""

import io

import httpx
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image
from storages.backends.s3 import S3Storage

from core import crypto
from core.models import AccessLog
from core.roles import SUPPORT_STAFF
from core.uploads import (
    PDF,
    SanitizedUpload,
    private_storage,
    upload_delete,
    upload_open,
    upload_rotate,
    upload_store,
)
from patients.models import IdentityDocument
from tests.accounts.factories import StaffUserFactory
from tests.patients.factories import PatientFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n" + b"Dana Example, licence D1234567, born 1988-04-12\n" * 20 + b"%%EOF"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def _pdf() -> SanitizedUpload:
    return SanitizedUpload(content=PDF_BYTES, mime_type=PDF, extension=".pdf", size=len(PDF_BYTES))


def _jpeg() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 40), (120, 130, 140)).save(out, format="JPEG")
    return SimpleUploadedFile("license.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def owner_client(client):
    """A patient signed in on `client` (the `document` fixture uploads their photo ID)."""
    client.force_login(PatientFactory(identified=True).user)
    return client


@pytest.fixture
def document(s3_private_storage, owner_client):
    owner_client.post(reverse("patients:photo_id"), {"photo_id": _jpeg()})
    return IdentityDocument.objects.get()


def test_the_embedded_default_keeps_private_files_in_the_local_folder(settings):
    storage = private_storage()
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(settings.PRIVATE_MEDIA_ROOT)


def test_an_upload_lands_in_the_bucket_as_ciphertext_and_reads_back_as_the_original(
    s3_private_storage,
):
    assert isinstance(private_storage(), S3Storage)
    name = upload_store(sanitized=_pdf(), folder="identity")

    key = f"{s3_private_storage.prefix}/{name}"
    assert s3_private_storage.object_keys() == [key]
    stored = s3_private_storage.raw(key)
    assert stored != PDF_BYTES
    assert b"Dana Example" not in stored and b"%PDF" not in stored
    assert crypto.is_token(stored)
    assert crypto.decrypt_bytes(stored) == PDF_BYTES
    assert upload_open(name=name) == PDF_BYTES
    # Opaque to the bucket too: no content type that invites a browser to render it.
    head = s3_private_storage.client.head_object(Bucket=s3_private_storage.bucket, Key=key)
    assert head["ContentType"] == "application/octet-stream"


def test_a_photo_id_in_the_bucket_is_served_only_through_the_access_checked_view(
    owner_client, document, s3_private_storage
):
    [key] = s3_private_storage.object_keys()
    assert key == f"{s3_private_storage.prefix}/{document.stored_name}"
    stored = s3_private_storage.raw(key)
    assert crypto.is_token(stored) and b"\xff\xd8" not in stored
    url = reverse("patients:document", args=[document.public_id])

    own = owner_client.get(url)
    assert own.status_code == 200
    assert own.content[:2] == b"\xff\xd8"  # the JPEG itself, decrypted by the app
    assert own.content == upload_open(name=document.stored_name)
    assert not AccessLog.objects.exists()  # a patient reading their own file is not "access"

    other = owner_client  # the same browser, now signed in as someone else
    other.force_login(PatientFactory(identified=True).user)
    assert other.get(url).status_code == 404

    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff = staff_login(other, support)
    assert staff.get(url).content == own.content
    entry = AccessLog.objects.get()
    assert (entry.actor, entry.object_id, entry.patient_user_id) == (
        support,
        str(document.pk),
        document.patient.user_id,
    )


def test_upload_delete_removes_the_object_from_the_bucket(s3_private_storage):
    kept = upload_store(sanitized=_pdf(), folder="identity")
    dropped = upload_store(sanitized=_pdf(), folder="identity")
    assert len(s3_private_storage.object_keys()) == 2

    upload_delete(names=[dropped])

    assert s3_private_storage.object_keys() == [f"{s3_private_storage.prefix}/{kept}"]
    assert not private_storage().exists(dropped)


def test_upload_rotate_writes_a_new_object_under_the_newest_key(settings, s3_private_storage):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    before = upload_store(sanitized=_pdf(), folder="identity")
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    after = upload_rotate(name=before)

    assert after != before and after.startswith("identity/") and after.endswith(".pdf")
    stored = s3_private_storage.raw(f"{s3_private_storage.prefix}/{after}")
    assert Fernet(new_key).decrypt(stored) == PDF_BYTES
    assert upload_open(name=after) == PDF_BYTES


def test_key_rotation_of_a_photo_id_replaces_its_object_in_the_bucket(
    settings, document, s3_private_storage, owner_client, django_capture_on_commit_callbacks
):
    before = document.stored_name
    url = reverse("patients:document", args=[document.public_id])
    plaintext = owner_client.get(url).content
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "rotate_encryption_keys", model=["patients.IdentityDocument"], stdout=io.StringIO()
        )

    document.refresh_from_db()
    key = f"{s3_private_storage.prefix}/{document.stored_name}"
    assert s3_private_storage.object_keys() == [key]  # the old object is gone after commit
    assert document.stored_name != before
    assert Fernet(new_key).decrypt(s3_private_storage.raw(key)) == plaintext
    assert owner_client.get(url).content == plaintext


def test_no_object_is_readable_without_credentials(s3_private_storage):
    name = upload_store(sanitized=_pdf(), folder="identity")
    key = f"{s3_private_storage.prefix}/{name}"
    s3 = s3_private_storage

    # The storage sets no ACL of its own: the object has only its owner's grant.
    grants = s3.client.get_object_acl(Bucket=s3.bucket, Key=key)["Grants"]
    grantees = {grant["Grantee"].get("URI") for grant in grants}
    assert not grantees & {ALL_USERS, AUTHENTICATED_USERS}
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]

    anonymous = httpx.get(f"{s3.endpoint_url}/{s3.bucket}/{key}", timeout=10)
    assert anonymous.status_code == 403
    assert b"Dana Example" not in anonymous.content


def test_a_url_the_storage_builds_is_signed_and_short_lived(s3_private_storage):
    """The app never hands out object URLs; should one ever be built, it is not a bare one."""
    name = upload_store(sanitized=_pdf(), folder="identity")
    url = private_storage().url(name)
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=60&" in url
    # Signed, it is the object (still ciphertext); the bare address is refused.
    assert crypto.is_token(httpx.get(url, timeout=10).content)
    assert httpx.get(url.split("?")[0], timeout=10).status_code == 403

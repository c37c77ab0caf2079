"""Uploaded files are encrypted at rest under the same keys, and rotate with them."""

import io

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse

from core import crypto
from core.uploads import private_storage
from patients.models import IdentityDocument

pytestmark = pytest.mark.django_db


def _raw(name: str) -> bytes:
    with private_storage().open(name, "rb") as handle:
        return handle.read()


def _rotate() -> None:
    call_command(
        "rotate_encryption_keys", model=["patients.IdentityDocument"], stdout=io.StringIO()
    )


@pytest.fixture
def old_key(settings):
    key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [key]
    return key


@pytest.fixture
def upload_id(identified_client, identified_patient, jpeg_file):
    def upload() -> IdentityDocument:
        identified_client.post(reverse("patients:photo_id"), {"photo_id": jpeg_file()})
        return IdentityDocument.objects.get(patient=identified_patient)

    return upload


def test_the_file_on_disk_is_a_token_not_the_image_and_the_owner_still_sees_the_image(
    old_key, upload_id, identified_client
):
    document = upload_id()
    raw = _raw(document.stored_name)
    assert crypto.is_token(raw)
    assert b"\xff\xd8" not in raw[:4]  # no JPEG start-of-image marker
    response = identified_client.get(reverse("patients:document", args=[document.public_id]))
    assert response.content[:2] == b"\xff\xd8"


def test_rotation_rewrites_each_file_under_the_new_key_and_removes_the_old_file(
    settings, old_key, upload_id, identified_client, django_capture_on_commit_callbacks
):
    document = upload_id()
    before = document.stored_name
    plaintext = identified_client.get(
        reverse("patients:document", args=[document.public_id])
    ).content
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    with django_capture_on_commit_callbacks(execute=True):
        _rotate()

    document.refresh_from_db()
    assert document.stored_name != before
    assert document.stored_name.startswith("identity/")
    assert not private_storage().exists(before)
    assert Fernet(new_key).decrypt(_raw(document.stored_name)) == plaintext
    response = identified_client.get(reverse("patients:document", args=[document.public_id]))
    assert response.content == plaintext


def test_a_file_stored_before_encryption_at_rest_is_served_and_then_encrypted_by_rotation(
    old_key, upload_id, identified_client
):
    document = upload_id()
    plaintext = crypto.decrypt_bytes(_raw(document.stored_name))
    with private_storage().open(document.stored_name, "wb") as handle:
        handle.write(plaintext)  # as a file written by the previous release

    url = reverse("patients:document", args=[document.public_id])
    assert identified_client.get(url).content == plaintext
    _rotate()
    document.refresh_from_db()
    assert crypto.is_token(_raw(document.stored_name))
    assert identified_client.get(url).content == plaintext


def test_a_failed_rotation_keeps_the_row_on_its_old_file_and_leaves_no_new_file(
    settings, old_key, upload_id, monkeypatch
):
    document = upload_id()
    before = document.stored_name
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    def fail_update(self, **changes):
        raise RuntimeError("database went away")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", fail_update)
    with pytest.raises(RuntimeError):
        _rotate()
    monkeypatch.undo()

    document.refresh_from_db()
    assert document.stored_name == before
    assert private_storage().exists(before)
    folder = django_settings.PRIVATE_MEDIA_ROOT / "identity"
    assert [p.name for p in folder.iterdir()] == [before.split("/")[1]]

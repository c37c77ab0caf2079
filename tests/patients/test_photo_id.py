import html

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import AccessLog
from core.roles import MEDICAL_ADVISORS, SUPPORT_STAFF
from patients.models import IdentityDocument
from tests.accounts.factories import StaffUserFactory
from tests.patients.factories import PatientFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def test_a_photo_id_upload_is_stored_privately_and_moves_the_patient_on(
    identified_client, identified_patient, jpeg_file
):
    page = identified_client.get(reverse("patients:photo_id")).content.decode()
    assert '<label for="id_photo_id">Photo ID</label>' in page
    response = identified_client.post(
        reverse("patients:photo_id"), {"photo_id": jpeg_file("My Name License.jpg")}
    )
    assert response.url == reverse("patients:start")
    document = IdentityDocument.objects.get(patient=identified_patient)
    assert document.mime_type == "image/jpeg"
    assert "My Name" not in document.stored_name
    assert identified_client.get(reverse("patients:start")).url == reverse("intake:start")


def test_a_disguised_file_is_refused_with_a_message_and_nothing_stored(
    identified_client, identified_patient
):
    script = SimpleUploadedFile(
        "id.jpg", b"<?php system($_GET['c']); ?>" * 10, content_type="image/jpeg"
    )
    response = identified_client.post(reverse("patients:photo_id"), {"photo_id": script})
    assert response.status_code == 200
    assert "file type isn't accepted" in html.unescape(response.content.decode())
    assert not IdentityDocument.objects.exists()


def test_an_oversized_file_is_refused(identified_client, settings, jpeg_file):
    settings.UPLOAD_MAX_BYTES = 100
    response = identified_client.post(reverse("patients:photo_id"), {"photo_id": jpeg_file()})
    assert "larger than" in html.unescape(response.content.decode())
    assert not IdentityDocument.objects.exists()


@pytest.fixture
def document(identified_client, identified_patient, jpeg_file):
    identified_client.post(reverse("patients:photo_id"), {"photo_id": jpeg_file()})
    return IdentityDocument.objects.get(patient=identified_patient)


def test_the_owner_can_open_their_id_with_safe_headers(identified_client, document):
    response = identified_client.get(reverse("patients:document", args=[document.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'inline; filename="photo-id.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert not AccessLog.objects.exists()  # patients reading their own file are not "access"


def test_another_patient_gets_a_404(client, document):
    client.force_login(PatientFactory(identified=True).user)
    assert client.get(reverse("patients:document", args=[document.public_id])).status_code == 404


def test_anonymous_gets_the_login_page(client, document):
    client.logout()
    response = client.get(reverse("patients:document", args=[document.public_id]))
    assert reverse("accounts:login") in response.url


def test_support_staff_can_open_it_and_the_access_is_logged(client, document):
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff_login(client, support)
    assert client.get(reverse("patients:document", args=[document.public_id])).status_code == 200
    entry = AccessLog.objects.get()
    assert (entry.actor, entry.object_id, entry.patient_user_id) == (
        support,
        str(document.pk),
        document.patient.user_id,
    )


def test_advisors_cannot_open_ids(client, document):
    advisor = StaffUserFactory()
    advisor.groups.add(Group.objects.get(name=MEDICAL_ADVISORS))
    staff_login(client, advisor)
    assert client.get(reverse("patients:document", args=[document.public_id])).status_code == 404


def test_support_staff_viewing_a_patient_in_admin_is_logged_and_identity_is_read_only(
    client, identified_patient
):
    """Support may correct only the state and date of birth (tests/patients/
    test_eligibility_freeze.py); a posted name is ignored."""
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff_login(client, support)
    url = reverse("admin:patients_patient_change", args=[identified_patient.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Dana" in page.content.decode()
    assert AccessLog.objects.filter(object_type="patients.Patient", actor=support).count() == 1
    client.post(
        url, {"legal_first_name": "X", "state_of_residence": "CA", "date_of_birth": "1988-04-12"}
    )
    identified_patient.refresh_from_db()
    assert identified_patient.legal_first_name == "Dana"

"""Every read of patient identity data."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.shortcuts import get_object_or_404

from core.security import get_owned_or_404
from patients.limits import MDI_ADDRESS_LINE_MAX, MDI_CITY_MAX, MDI_EMAIL_MAX, MDI_NAME_MAX
from patients.models import DocumentKind, IdentityDocument, Patient


def patient_next_step(*, patient: Patient) -> str:
    """The URL name of the first identity step this patient has not finished, or "" if none."""
    if patient.eligibility_confirmed_at is None:
        return "patients:eligibility"
    if patient.identity_completed_at is None:
        return "patients:identity"
    if not patient.documents.filter(kind=DocumentKind.PHOTO_ID).exists():
        return "patients:photo_id"
    return ""


def patient_eligibility_is_frozen(*, patient: Patient) -> bool:
    """True once any visit of this patient has been submitted: a case exists only from
    submission on (there are no draft cases), and its clinician relied on the state and date
    of birth, so the patient can no longer change them; support corrects them in the admin."""
    return patient.pk is not None and patient.cases.exists()


def identity_document_latest(
    *, patient: Patient, kind: str = DocumentKind.PHOTO_ID
) -> IdentityDocument | None:
    return patient.documents.filter(kind=kind).order_by("-created_at").first()


def identity_document_get_for_viewer(
    *, user: AbstractBaseUser, document_id: str
) -> IdentityDocument:
    """The one way to reach an ID file: its owner, or staff allowed to view IDs. Anyone else
    (another patient, staff without the permission) gets a 404, never a hint it exists."""
    documents = IdentityDocument.objects.select_related("patient")
    if user.is_staff and user.has_perm("patients.view_identitydocument"):
        return get_object_or_404(documents, public_id=document_id)
    return get_owned_or_404(documents, owner={"patient__user": user}, public_id=document_id)


def patient_mdi_identity_problems(*, patient: Patient) -> list[str]:
    """One message per identity field longer than MD Integrations accepts; empty when all fit.

    The forms refuse these lengths now, but patients who entered their details earlier may
    still have longer values stored. Sending them would have MDI refuse the patient or, worse,
    a sender cut them (a cut street ships to the wrong address), so the "ready to send" gate
    holds such a patient until the value is corrected. Messages name the field and its length,
    never the value: they may be shown to staff or logged, and the values are PHI.
    """
    address = patient.shipping_address or {}
    checks = [
        ("Legal first name", patient.legal_first_name, MDI_NAME_MAX),
        ("Legal last name", patient.legal_last_name, MDI_NAME_MAX),
        ("Street address (line 1)", address.get("line1"), MDI_ADDRESS_LINE_MAX),
        ("Street address (line 2)", address.get("line2"), MDI_ADDRESS_LINE_MAX),
        ("City", address.get("city"), MDI_CITY_MAX),
        ("Email address", patient.user.email, MDI_EMAIL_MAX),
    ]
    return [
        f"{label} is {len(value)} characters; MD Integrations accepts at most {limit}."
        for label, value, limit in checks
        if value and len(value) > limit
    ]

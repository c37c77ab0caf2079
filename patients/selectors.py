"""Every read of patient identity data."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.shortcuts import get_object_or_404

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
    return get_object_or_404(documents, public_id=document_id, patient__user=user)

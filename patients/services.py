"""Every write to a patient's identity and eligibility."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.exceptions import DomainError
from core.uploads import ALL_TYPES, upload_sanitize, upload_store
from patients.models import DocumentKind, IdentityDocument, Patient, StateWaitlistEntry
from patients.selectors import patient_eligibility_is_frozen
from patients.states import US_STATES


class EligibilityFrozen(DomainError):
    """The patient has a submitted visit: state and date of birth are changed by support only."""

    def __init__(self) -> None:
        super().__init__(
            "Your state and date of birth can't be changed after a visit has been submitted. "
            "To correct these, contact support."
        )


def patient_get_or_create(*, user: User) -> Patient:
    """The user's patient record, created on first need. Safe to call on every request."""
    patient = Patient.objects.filter(user=user).first()
    if patient is not None:
        return patient
    try:
        with transaction.atomic():
            return Patient.objects.create(user=user)
    except IntegrityError:  # another request created it first
        return Patient.objects.get(user=user)


@dataclass(frozen=True)
class EligibilityDecision:
    is_eligible: bool
    reason: str = ""  # "unsupported_state" | "under_age"; empty when eligible
    state_name: str = ""
    minimum_age: int = 0


def age_on(*, date_of_birth: datetime.date, today: datetime.date) -> int:
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday


def patient_check_eligibility(
    *, patient: Patient, state: str, date_of_birth: datetime.date, minimum_age: int | None = None
) -> EligibilityDecision:
    """Decide whether a case could exist for this patient, before any long form.

    Only an eligible answer is stored: we keep nothing about people we cannot serve. Raises
    EligibilityFrozen, changing nothing, once the patient has submitted a visit.
    """
    if patient_eligibility_is_frozen(patient=patient):
        raise EligibilityFrozen()
    minimum_age = max(minimum_age or 0, settings.MINIMUM_PATIENT_AGE)
    state_name = US_STATES.get(state, state)
    if state not in settings.SUPPORTED_STATES:
        return EligibilityDecision(False, "unsupported_state", state_name, minimum_age)
    if age_on(date_of_birth=date_of_birth, today=timezone.localdate()) < minimum_age:
        return EligibilityDecision(False, "under_age", state_name, minimum_age)
    patient.state_of_residence = state
    patient.date_of_birth = date_of_birth
    patient.eligibility_confirmed_at = timezone.now()
    patient.save(
        update_fields=[
            "state_of_residence",
            "date_of_birth",
            "eligibility_confirmed_at",
            "updated_at",
        ]
    )
    return EligibilityDecision(True, "", state_name, minimum_age)


def patient_eligibility_problems(*, state: str, date_of_birth: datetime.date) -> list[str]:
    """Why these values would make the patient ineligible, in staff's words; empty if none.

    Support's correction may fix a typo but never turn an ineligible patient into an eligible
    one, so it is held to the same rules as the patient's own answer.
    """
    problems = []
    if state not in settings.SUPPORTED_STATES:
        problems.append(f"{US_STATES.get(state, state)} is not a state we serve.")
    today = timezone.localdate()
    if date_of_birth > today:
        problems.append("The date of birth is in the future.")
    elif age_on(date_of_birth=date_of_birth, today=today) < settings.MINIMUM_PATIENT_AGE:
        problems.append(f"The patient would be under {settings.MINIMUM_PATIENT_AGE}.")
    return problems


@transaction.atomic
def patient_correct_eligibility(
    *, patient: Patient, state: str, date_of_birth: datetime.date
) -> Patient:
    """Support's correction of the state and date of birth, allowed after submission too.

    The caller records the change in the access log (it knows who asked, and from where).
    Raises DomainError, changing nothing, if the values would make the patient ineligible.
    """
    if problems := patient_eligibility_problems(state=state, date_of_birth=date_of_birth):
        raise DomainError(" ".join(problems))
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    patient.state_of_residence = state
    patient.date_of_birth = date_of_birth
    patient.save(update_fields=["state_of_residence", "date_of_birth", "updated_at"])
    return patient


def state_waitlist_join(*, email: str, state: str) -> StateWaitlistEntry:
    """Idempotent: joining twice for the same state keeps one entry."""
    entry, _ = StateWaitlistEntry.objects.get_or_create(email=email.strip().lower(), state=state)
    return entry


@transaction.atomic
def patient_update_identity(
    *,
    patient: Patient,
    legal_first_name: str,
    legal_last_name: str,
    sex_at_birth: str,
    phone: str,
    shipping_address: dict[str, str],
) -> Patient:
    patient.legal_first_name = legal_first_name
    patient.legal_last_name = legal_last_name
    patient.sex_at_birth = sex_at_birth
    patient.phone = phone
    patient.shipping_address = shipping_address
    patient.identity_completed_at = patient.identity_completed_at or timezone.now()
    patient.save()
    return patient


def patient_update_notification_preferences(
    *, patient: Patient, notify_by_email: bool, notify_by_sms: bool, phone: str
) -> Patient:
    """How the patient hears about their visits; applies to notifications created from now
    on. An empty `phone` keeps the number on file (texts need one; the form checks)."""
    patient.notify_by_email = notify_by_email
    patient.notify_by_sms = notify_by_sms
    patient.phone = phone or patient.phone
    patient.full_clean()
    patient.save(update_fields=["notify_by_email", "notify_by_sms", "phone", "updated_at"])
    return patient


def identity_document_upload(
    *, patient: Patient, uploaded: UploadedFile, kind: str = DocumentKind.PHOTO_ID
) -> IdentityDocument:
    """Sanitise and store an ID. Raises core.uploads.UploadRejected with a patient message.

    The file is checked and written before the row exists, so a rejected upload leaves nothing.
    """
    clean = upload_sanitize(uploaded=uploaded, allowed_types=ALL_TYPES)
    name = upload_store(sanitized=clean, folder="identity")
    return IdentityDocument.objects.create(
        patient=patient, kind=kind, stored_name=name, mime_type=clean.mime_type, size=clean.size
    )


def patient_link_mdi(*, patient: Patient, mdi_patient_id: str) -> None:
    """Remember MDI's id for this patient (case submission found or created it)."""
    Patient.objects.filter(pk=patient.pk).update(mdi_patient_id=mdi_patient_id)
    patient.mdi_patient_id = mdi_patient_id


def identity_document_link_mdi_file(*, document: IdentityDocument, mdi_file_id: str) -> None:
    """Remember MDI's id for an uploaded identity file, so it is never uploaded twice."""
    IdentityDocument.objects.filter(pk=document.pk).update(mdi_file_id=mdi_file_id)
    document.mdi_file_id = mdi_file_id

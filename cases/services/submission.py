"""Sending a visit to MDI: at most one MDI patient and one active MDI case per visit, under any
fault. The HTTP rules (what may be re-sent, how a create is reconciled) live in the client;
this module owns the submission state machine around them.

A submission is claimed under a row lock with a lease (pending -> sending), so a task, the
sweeper and support's retry can never send the same visit at once. Every MDI id is saved as
soon as it is known; an MDI case that turns up beside the linked one (a create MDI performed
late) is recorded as a duplicate and cancelled at MDI, never applied.
"""

import datetime
import logging
import random
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed

from cases.mdi_client import MdiCaseLink, MdiClient
from cases.models import (
    Case,
    DuplicateMdiCase,
    NotificationKind,
    Offering,
    SubmissionStatus,
    is_mdi_offering_id,
)
from cases.payloads import (
    mdi_case_payload,
    mdi_case_questions,
    mdi_earlier_stop_questions,
    mdi_patient_payload,
)
from cases.services.notifications import notification_request
from core.exceptions import DomainError, PermanentError, TransientError
from core.tasks import task_enqueue
from core.uploads import upload_open
from intake.models import QuestionnaireResponse, ResponseAttachment, ResponseStatus
from intake.selectors import questionnaire_response_earlier_stops
from intake.services import response_attachment_link_mdi_file
from intake.structure import version_structure_load
from intake.validation import validate_response
from patients.models import IdentityDocument, Patient
from patients.selectors import (
    identity_document_latest,
    patient_mdi_identity_problems,
    patient_next_step,
)
from patients.services import identity_document_link_mdi_file, patient_link_mdi
from payments.models import Payment, PaymentStatus

logger = logging.getLogger(__name__)

# A transient failure postpones the send; after this many attempts support takes over.
MAX_SUBMISSION_ATTEMPTS = 8
RETRY_BASE_DELAY = datetime.timedelta(seconds=30)
RETRY_MAX_DELAY = datetime.timedelta(hours=1)
# A pending submission nobody has claimed for this long lost its task (broker down, crash).
UNCLAIMED_AFTER = datetime.timedelta(seconds=60)
# Earlier stopped intakes of the same questionnaire this far back are shown to the clinician.
EARLIER_STOPS_SHOWN_DAYS = 365
DUPLICATE_CANCEL_REASON = (
    "Duplicate: another case for the same visit is active (a retried create landed late)."
)


class CaseNotReady(DomainError):
    """The case cannot be sent: the intake, identity or offering is not in order."""


def case_offering_ids(*, case: Case) -> list[str]:
    """The MDI offerings the clinician reviews for this intake (valid UUIDs only)."""
    slug = case.intake_response.version.questionnaire.slug
    ids = Offering.objects.filter(is_active=True, questionnaire_slug=slug).values_list(
        "mdi_offering_id", flat=True
    )
    return [offering_id for offering_id in ids if is_mdi_offering_id(offering_id)]


def case_ready_to_send(*, case: Case) -> None:
    """The one gate before anything reaches MDI. Raises CaseNotReady with the reason."""
    case_ready_for_checkout(case=case)
    # Payment clears before a case exists, and before anything reaches MDI.
    if case.payment is None or case.payment.status != PaymentStatus.AUTHORIZED:
        raise CaseNotReady("The payment is not authorized.")


def case_ready_for_checkout(*, case: Case) -> None:
    """Everything but the payment: checked before the card is authorized, so nobody pays
    for a visit that could not be sent. Raises CaseNotReady with the reason.
    """
    response = case.intake_response
    if response is None or response.status != ResponseStatus.COMPLETED:
        raise CaseNotReady("The intake is not complete.")
    if response.patient_id != case.patient_id:
        raise CaseNotReady("The intake belongs to another patient.")
    # Never trust an earlier validation: the whole response is checked again.
    result = validate_response(
        structure=version_structure_load(version=response.version),
        answers={k: v["value"] for k, v in response.answers.items()},
    )
    if not result.is_valid or result.disqualifications:
        raise CaseNotReady("The intake has answers that are missing or not allowed.")
    patient = case.patient
    # Anyone can type someone else's address at sign-up; an unconfirmed one must never get
    # a case filed (or a card held) in its name.
    if not patient.user.email_verified:
        raise CaseNotReady("Please confirm your email address first: open the link we emailed you.")
    if patient.identity_completed_at is None or patient_next_step(patient=patient):
        raise CaseNotReady("Identity details or the photo ID are missing.")
    if problems := patient_mdi_identity_problems(patient=patient):
        raise CaseNotReady(" ".join(problems))
    if not case_offering_ids(case=case):
        raise CaseNotReady("No treatment is configured for this intake yet.")


@transaction.atomic
def case_submit(*, patient: Patient, response: QuestionnaireResponse) -> Case:
    """Create the case for a completed intake (status submitted) before any call to MDI, then
    send it after commit. Safe to call twice, concurrently too (a double click): the intake
    row is locked first, so the second call finds and returns the first call's case."""
    QuestionnaireResponse.objects.select_for_update().filter(pk=response.pk).first()
    existing = Case.objects.filter(intake_response=response).first()
    if existing is not None:
        return existing
    payment = Payment.objects.filter(intake_response=response).first()
    case = Case(patient=patient, intake_response=response, payment=payment)
    case_ready_to_send(case=case)
    case.save()
    notification_request(
        case=case, kind=NotificationKind.SUBMITTED, key=f"case:{case.pk}:submitted"
    )
    # A lambda, not functools.partial: Django logs a failing robust callback by __qualname__.
    transaction.on_commit(lambda case_id=case.pk: _enqueue_send(case_id), robust=True)
    return case


def _enqueue_send(case_id: int) -> None:
    from cases.tasks import case_send_to_mdi_task

    task_enqueue(case_send_to_mdi_task, case_id=case_id)  # down: the sweeper sends it


def case_submission_claim(*, case_id: int) -> Case | None:
    """Take the submission (pending, or sending with an expired lease) for one sender.
    Returns the claimed case, or None when it is sent, failed, not due, or held by another."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if not can_proceed(case.submission_claim):
            return None
        case.submission_claim()
        case.save()
    return Case.objects.select_related("patient__user", "intake_response__version").get(pk=case_id)


def _ensure_file(
    *,
    record: IdentityDocument | ResponseAttachment,
    name: str,
    file_type: str,
    client: MdiClient,
    link: Callable[[str], None],
) -> str:
    """Upload a file MDI does not have yet and save its id at once."""
    if not record.mdi_file_id:
        suffix = record.stored_name[record.stored_name.rfind(".") :]
        mdi_file_id = client.file_upload(
            content=upload_open(name=record.stored_name),
            name=f"{name}{suffix}",
            mime_type=record.mime_type,
            file_type=file_type,
        )
        link(mdi_file_id)
    return record.mdi_file_id


def _ensure_mdi_patient(*, patient: Patient, client: MdiClient) -> str:
    """The MDI patient, with the photo ID set as its `driver_license_id` (reference §3).
    A patient MDI already knew (a returning patient, or a create whose reply was lost) is
    brought up to date with a PATCH, which is safe to repeat."""
    photo_id = identity_document_latest(patient=patient)
    license_file_id = (
        _ensure_file(
            record=photo_id,
            name="photo-id",
            file_type="driver-license",
            client=client,
            link=lambda file_id: identity_document_link_mdi_file(
                document=photo_id, mdi_file_id=file_id
            ),
        )
        if photo_id
        else None
    )
    payload = mdi_patient_payload(
        patient=patient, email=patient.user.email, driver_license_file_id=license_file_id
    )
    created = False
    mdi_patient_id = patient.mdi_patient_id
    if not mdi_patient_id:
        mdi_patient_id, created = client.patient_ensure(payload=payload)
        patient_link_mdi(patient=patient, mdi_patient_id=mdi_patient_id)
    if not created:
        update = {k: v for k, v in payload.items() if k not in {"email", "metadata"}}
        client.patient_update(patient_id=mdi_patient_id, payload=update)
    return mdi_patient_id


def _send(*, case: Case, client: MdiClient) -> MdiCaseLink:
    mdi_patient_id = _ensure_mdi_patient(patient=case.patient, client=client)
    file_ids = [
        _ensure_file(
            record=attachment,
            name=attachment.link_id,
            file_type="photo",
            client=client,
            link=lambda file_id, attachment=attachment: response_attachment_link_mdi_file(
                attachment=attachment, mdi_file_id=file_id
            ),
        )
        for attachment in case.intake_response.attachments.order_by("pk")
    ]
    return client.case_ensure(
        payload=mdi_case_payload(
            patient_id=mdi_patient_id,
            case_public_id=str(case.public_id),
            questions=[
                *mdi_case_questions(response=case.intake_response),
                *mdi_earlier_stop_questions(
                    stops=questionnaire_response_earlier_stops(
                        patient=case.patient,
                        questionnaire=case.intake_response.version.questionnaire,
                        # The case's own time, so a retried send says the same thing.
                        before=case.created_at,
                        days=EARLIER_STOPS_SHOWN_DAYS,
                    )
                ),
            ],
            file_ids=file_ids,
            offering_ids=case_offering_ids(case=case),
        )
    )


def case_send_to_mdi(*, case_id: int, client: MdiClient) -> Case:
    """Send one visit to MDI: photo ID, patient, intake photos, case. Safe to run again and
    concurrently: only the holder of the submission's lease sends, and every create is looked
    up before it is made. Network calls run outside any transaction.

    Outcomes: sent (MDI case linked); postponed (MDI unavailable: the sweeper retries it);
    failed (MDI refused, the visit is not sendable, or too many attempts: support sees why).
    """
    case = case_submission_claim(case_id=case_id)
    if case is None:
        return Case.objects.get(pk=case_id)
    try:
        case_ready_to_send(case=case)
        link = _send(case=case, client=client)
    except CaseNotReady as exc:
        _submission_fail(case_id=case_id, reason=f"Not sendable: {exc}")
    except PermanentError as exc:
        _submission_fail(case_id=case_id, reason=f"MDI refused the case: {exc}")
    except TransientError as exc:
        _submission_postpone(case_id=case_id, reason=str(exc))
    else:
        _submission_link(case_id=case_id, link=link)
    return Case.objects.get(pk=case_id)


def _submission_link(*, case_id: int, link: MdiCaseLink) -> None:
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        # A webhook may have linked an MDI case already (matched by metadata): it stays.
        if case.mdi_case_id is None:
            case.mdi_case_id = link.case_id
        for mdi_case_id in (link.case_id, *link.duplicates):
            if mdi_case_id != case.mdi_case_id:
                case_duplicate_record(case=case, mdi_case_id=mdi_case_id, found_by="listing")
        if can_proceed(case.submission_succeed):
            case.submission_succeed()
        case.save()


def _submission_postpone(*, case_id: int, reason: str) -> None:
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.submission_status != SubmissionStatus.SENDING:
            return
        if case.submission_attempts >= MAX_SUBMISSION_ATTEMPTS:
            case.submission_fail(
                reason=f"MDI unavailable after {case.submission_attempts} attempts: {reason}"
            )
        else:
            delay = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** (case.submission_attempts - 1))
            jitter = random.uniform(1.0, 1.25)  # noqa: S311 - jitter, not crypto
            case.submission_postpone(until=timezone.now() + delay * jitter, reason=reason)
        case.save()
    logger.info("sending case %s to MDI postponed or failed after a transient error", case_id)


def _submission_fail(*, case_id: int, reason: str) -> None:
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if can_proceed(case.submission_fail):
            case.submission_fail(reason=reason[:2000])
            case.save()
    logger.warning("sending case %s to MDI failed for good", case_id)


def case_submission_retry(*, case: Case) -> bool:
    """Support's retry: a failed submission goes back to pending and is sent again. Safe to
    repeat, and never races a send in flight (that one holds the lease). True if queued."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if can_proceed(case.submission_requeue):
            case.submission_requeue()
            case.save()
        if case.submission_status != SubmissionStatus.PENDING:
            return False
        transaction.on_commit(lambda case_id=case.pk: _enqueue_send(case_id), robust=True)
    return True


# --- duplicates -------------------------------------------------------------------------------


def case_duplicate_record(*, case: Case, mdi_case_id: str, found_by: str) -> DuplicateMdiCase:
    """Record an MDI case that duplicates the visit's linked one and cancel it at MDI after
    commit. Recording the same MDI case again changes nothing (unique on its id)."""
    duplicate, created = DuplicateMdiCase.objects.get_or_create(
        mdi_case_id=mdi_case_id, defaults={"case": case, "found_by": found_by}
    )
    if created:
        logger.warning(
            "MDI case %s duplicates case %s (found by %s); cancelling it at MDI",
            mdi_case_id,
            case.pk,
            found_by,
        )
        transaction.on_commit(
            lambda duplicate_id=duplicate.pk: _enqueue_cancel(duplicate_id), robust=True
        )
    return duplicate


def _enqueue_cancel(duplicate_id: int) -> None:
    from cases.tasks import case_duplicate_cancel_task

    task_enqueue(case_duplicate_cancel_task, duplicate_id=duplicate_id)  # down: the sweeper


def case_duplicate_cancel(*, duplicate_id: int, client: MdiClient) -> DuplicateMdiCase:
    """Cancel a duplicate at MDI through the partner cancel route. Safe to repeat; a refusal
    stays on the row for support, an outage is retried by the sweeper."""
    duplicate = DuplicateMdiCase.objects.get(pk=duplicate_id)
    if duplicate.cancelled_at is not None:
        return duplicate
    duplicate.cancel_attempts += 1
    try:
        client.case_cancel(case_id=duplicate.mdi_case_id, reason=DUPLICATE_CANCEL_REASON)
    except TransientError as exc:
        duplicate.cancel_error = str(exc)[:2000]
        delay = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** (duplicate.cancel_attempts - 1))
        duplicate.next_cancel_attempt_at = timezone.now() + delay
    except PermanentError as exc:
        duplicate.cancel_error = str(exc)[:2000]
        duplicate.next_cancel_attempt_at = None
    else:
        duplicate.cancelled_at = timezone.now()
        duplicate.cancel_error = ""
        duplicate.next_cancel_attempt_at = None
    duplicate.save()
    return duplicate


# --- the sweeper ------------------------------------------------------------------------------


def case_submissions_sweep(*, now: datetime.datetime | None = None) -> int:
    """Re-enqueue what a lost task or a crash left behind: pending submissions that are due
    or were never picked up, sends whose lease ran out, and duplicates still to cancel."""
    now = now or timezone.now()
    due = (
        Q(
            submission_status=SubmissionStatus.PENDING,
            submission_next_attempt_at__isnull=True,
            updated_at__lte=now - UNCLAIMED_AFTER,
        )
        | Q(submission_status=SubmissionStatus.PENDING, submission_next_attempt_at__lte=now)
        | Q(submission_status=SubmissionStatus.SENDING, submission_lease_expires_at__lt=now)
    )
    case_ids = list(Case.objects.filter(due).values_list("pk", flat=True)[:200])
    for case_id in case_ids:
        _enqueue_send(case_id)
    never_tried = Q(cancel_attempts=0, created_at__lte=now - UNCLAIMED_AFTER)
    duplicate_ids = list(
        DuplicateMdiCase.objects.filter(
            never_tried | Q(next_cancel_attempt_at__lte=now), cancelled_at__isnull=True
        ).values_list("pk", flat=True)[:200]
    )
    for duplicate_id in duplicate_ids:
        _enqueue_cancel(duplicate_id)
    return len(case_ids) + len(duplicate_ids)

"""Which visit an MDI event belongs to, and what a cancellation means: an event is applied only
to the visit linked to the MDI case it names; a cancellation is a clinical decline only when
MDI's status history says a clinician made it."""

import datetime
import html

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    CancelledBy,
    Case,
    CaseStatus,
    CaseTimelineEntry,
    DuplicateMdiCase,
    Notification,
    TimelineOutcome,
)
from core.roles import SUPPORT_STAFF
from tests.accounts.factories import StaffUserFactory
from tests.cases.factories import CaseFactory
from tests.payments.factories import requested_payment_moves
from tests.staff import staff_login
from webhooks.models import EventStatus, WebhookEvent
from webhooks.services import webhook_events_work

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(db) -> Case:
    return CaseFactory()


def _effects(case: Case) -> list[str]:
    return requested_payment_moves(case.payment)


def test_a_cancellation_of_another_mdi_case_with_our_metadata_is_never_applied(
    case, deliver, fake_mdi
):
    """The measured defect: an orphan duplicate's case_cancelled declined the real case."""
    fake_mdi.add_case("orphan-1", metadata=str(case.public_id))
    fake_mdi.cancels("orphan-1", reason="Duplicate", by="Partner")
    deliver("case_assigned_to_clinician", case, timestamp=100)
    deliver("case_cancelled", case_id="orphan-1", metadata=str(case.public_id), timestamp=110)
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW
    assert _effects(case) == []  # the payment hold is untouched
    duplicate = DuplicateMdiCase.objects.get()
    assert (duplicate.case_id, duplicate.mdi_case_id, duplicate.found_by) == (
        case.pk,
        "orphan-1",
        "webhook",
    )
    event = WebhookEvent.objects.get(external_id="orphan-1")
    assert (event.status, event.outcome_note) == (EventStatus.IGNORED, "duplicate_mdi_case")
    entry = CaseTimelineEntry.objects.get(event=event)
    assert (entry.outcome, entry.to_status) == (TimelineOutcome.DUPLICATE_MDI_CASE, "under_review")
    # Later events for the real case still apply.
    deliver("case_approved", case, timestamp=120)
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED and _effects(case) == ["capture"]


def test_a_duplicate_announced_by_its_own_webhook_is_cancelled_at_mdi(case, deliver, fake_mdi):
    fake_mdi.add_case("late-dup", metadata=str(case.public_id))
    deliver("case_created", case_id="late-dup", metadata=str(case.public_id), timestamp=100)
    duplicate = DuplicateMdiCase.objects.get(mdi_case_id="late-dup")
    assert duplicate.cancelled_at is not None
    assert fake_mdi.cases["late-dup"].status == "cancelled"
    assert "POST /v1/partner/cases/late-dup/cancel" in fake_mdi.requests
    assert Case.objects.get(pk=case.pk).mdi_case_id == case.mdi_case_id  # still the real one


def test_metadata_links_a_visit_that_has_no_mdi_case_yet_and_only_then(deliver, fake_mdi):
    case = CaseFactory(mdi_case_id=None)
    deliver("case_created", case_id="first", metadata=str(case.public_id), timestamp=100)
    deliver("case_assigned_to_clinician", case_id="first", metadata="", timestamp=110)
    case.refresh_from_db()
    assert (case.mdi_case_id, case.status) == ("first", CaseStatus.UNDER_REVIEW)
    fake_mdi.add_case("second", metadata=str(case.public_id))
    deliver("case_approved", case_id="second", metadata=str(case.public_id), timestamp=120)
    case.refresh_from_db()
    assert (case.mdi_case_id, case.status) == ("first", CaseStatus.UNDER_REVIEW)
    assert DuplicateMdiCase.objects.filter(mdi_case_id="second").exists()


def test_an_event_naming_another_patients_case_cannot_move_ours(deliver):
    ours, theirs = CaseFactory(), CaseFactory()
    # Their MDI case id with our metadata: matched by the id, so it is theirs, not ours.
    deliver("case_approved", case_id=theirs.mdi_case_id, metadata=str(ours.public_id))
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, theirs.status) == (CaseStatus.SUBMITTED, CaseStatus.APPROVED)
    assert DuplicateMdiCase.objects.count() == 0


def test_support_filters_duplicate_events_and_sees_a_count_on_the_case(
    case, deliver, fake_mdi, client
):
    fake_mdi.add_case("orphan-2", metadata=str(case.public_id))
    deliver("case_created", case_id="orphan-2", metadata=str(case.public_id), timestamp=100)
    deliver("case_waiting", case_id="orphan-2", metadata=str(case.public_id), timestamp=101)
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff_login(client, support)
    listing = client.get(
        reverse("admin:webhooks_webhookevent_changelist"), {"outcome": "duplicate_mdi_case"}
    ).content.decode()
    assert "Duplicate MDI case" in listing and listing.count("orphan-2") >= 2
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert "Events naming a duplicate MDI case" in page
    assert "orphan-2" in page
    entries = CaseTimelineEntry.objects.filter(
        case=case, outcome=TimelineOutcome.DUPLICATE_MDI_CASE
    )
    assert entries.count() == 2


# --- who cancelled ----------------------------------------------------------------------------


def test_a_clinicians_cancellation_is_a_decline_with_its_reason(case, deliver, fake_mdi, client):
    fake_mdi.cancels(case.mdi_case_id, reason="Not a candidate for finasteride")
    deliver("case_cancelled", case, timestamp=200)
    case.refresh_from_db()
    assert (case.status, case.cancelled_by, case.decline_reason) == (
        CaseStatus.DECLINED,
        CancelledBy.CLINICIAN,
        "Not a candidate for finasteride",
    )
    assert _effects(case) == ["release"]
    assert list(Notification.objects.values_list("kind", flat=True)) == ["declined"]
    client.force_login(case.patient.user)
    page = html.unescape(
        client.get(reverse("cases:detail", args=[case.public_id])).content.decode()
    )
    assert "decided this treatment isn't right for you" in page
    assert "Not a candidate for finasteride" in page


@pytest.mark.parametrize(
    ("by", "expected", "wording"),
    [
        ("Partner", CancelledBy.PARTNER, "Our team closed this visit"),
        ("Support", CancelledBy.SUPPORT, "support team closed this visit"),
    ],
)
def test_a_partner_or_support_cancellation_reads_neutrally(
    case, deliver, fake_mdi, client, by, expected, wording
):
    fake_mdi.cancels(case.mdi_case_id, reason="Duplicate order", by=by)
    deliver("case_cancelled", case, timestamp=200)
    case.refresh_from_db()
    assert (case.status, case.cancelled_by, case.decline_reason) == (
        CaseStatus.CANCELLED,
        expected,
        "",
    )
    assert _effects(case) == ["release"]  # released either way
    assert list(Notification.objects.values_list("kind", flat=True)) == ["cancelled"]
    client.force_login(case.patient.user)
    page = html.unescape(
        client.get(reverse("cases:detail", args=[case.public_id])).content.decode()
    )
    assert wording in page and "not a medical decision" in page
    assert "decided this treatment isn't right for you" not in page


def test_when_mdi_cannot_say_who_cancelled_the_patient_is_not_told_a_clinician_did(
    case, deliver, fake_mdi
):
    deliver("case_cancelled", case, timestamp=200)  # MDI answers 404 for the history
    case.refresh_from_db()
    assert (case.status, case.cancelled_by) == (CaseStatus.CANCELLED, CancelledBy.UNKNOWN)


def test_an_outage_while_asking_who_cancelled_retries_instead_of_guessing(case, deliver, fake_mdi):
    fake_mdi.cancels(case.mdi_case_id, reason="Not a candidate")
    fake_mdi.fail("GET cases", *["500_before"] * 24)  # every attempt of every task retry
    deliver("case_cancelled", case, timestamp=200)
    event = WebhookEvent.objects.get(event_type="case_cancelled")
    assert event.status == EventStatus.RECEIVED and event.next_attempt_at  # retried later
    later = timezone.now()
    while webhook_events_work(now=(later := later + datetime.timedelta(hours=1))):
        pass  # every retry meets the outage
    case.refresh_from_db()
    event.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED and _effects(case) == []
    assert event.status == EventStatus.FAILED and "MDI unavailable" in event.last_error
    fake_mdi.faults.clear()
    from webhooks.services import webhook_event_process, webhook_event_reprocess

    webhook_event_reprocess(event=event)
    webhook_event_process(event_id=event.pk)
    case.refresh_from_db()
    assert case.status == CaseStatus.DECLINED


def test_a_case_event_without_a_case_id_is_kept_for_support_and_moves_nothing(case, deliver):
    deliver("case_approved", metadata=str(case.public_id), timestamp=100)
    case.refresh_from_db()
    event = WebhookEvent.objects.get()
    assert case.status == CaseStatus.SUBMITTED
    assert (event.status, event.outcome_note) == (EventStatus.IGNORED, "no_mdi_case_id")

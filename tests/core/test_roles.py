"""Each staff role, screen by screen: what it may open in the admin, which actions it may run,
and that clinical answers need their own permission (core.roles.VIEW_CLINICAL_ANSWERS)."""

import html
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from cases.models import Case
from core.audit import access_log_record
from core.models import AccessLog
from core.roles import ADMINISTRATORS, MEDICAL_ADVISORS, SUPPORT_STAFF, VIEW_CLINICAL_ANSWERS
from intake.models import Item
from payments.models import Payment, PaymentStatus
from payments.services import payment_capture
from tests.accounts.factories import StaffUserFactory
from tests.cases.factories import CaseFactory
from tests.intake.factories import PREGNANCY_QUESTION, stopped_intake
from tests.patients.factories import PatientFactory
from tests.staff import staff_login
from webhooks.models import EventStatus, WebhookEvent

pytestmark = pytest.mark.django_db

# What the demo intake's answers look like once shown (tests/intake/test_validation.py STEP1).
ANSWER_TEXT = "Thinning at the crown"
QUESTION_TEXT = "Which best describes where you are losing hair?"


@pytest.fixture
def world(completed, deliver, demo_version):
    """One of everything a staff screen shows, made through factories and real services."""
    patient, response = completed
    payment = Payment.objects.get(intake_response=response)
    case = CaseFactory(patient=patient, intake_response=response, payment=payment)
    deliver("case_assigned_to_clinician", case, timestamp=100)
    access_log_record(request=None, obj=patient, patient_user_id=patient.user_id)
    return {
        "patient": patient,
        "document": patient.documents.get(),
        "response": response,
        "case": case,
        "payment": payment,
        "event": WebhookEvent.objects.get(),
        "delivery": WebhookEvent.objects.get().deliveries.get(),
        "version": demo_version,
        "item": Item.objects.filter(version=demo_version).first(),
        "access_log": AccessLog.objects.get(),
    }


def _staff(client, group: str | None, *, superuser: bool = False):
    user = StaffUserFactory(is_superuser=superuser)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return staff_login(client, user), user


# (url name, the object in `world` whose pk it takes, or None): every screen a role may need.
SCREENS = {
    "index": ("admin:index", None),
    "patients": ("admin:patients_patient_changelist", None),
    "patient": ("admin:patients_patient_change", "patient"),
    "photo_id": ("patients:document", "document"),
    "cases": ("admin:cases_case_changelist", None),
    "case": ("admin:cases_case_change", "case"),
    "notifications": ("admin:cases_notification_changelist", None),
    "responses": ("admin:intake_questionnaireresponse_changelist", None),
    "response": ("admin:intake_questionnaireresponse_change", "response"),
    "payments": ("admin:payments_payment_changelist", None),
    "payment": ("admin:payments_payment_change", "payment"),
    "events": ("admin:webhooks_webhookevent_changelist", None),
    "event": ("admin:webhooks_webhookevent_change", "event"),
    "deliveries": ("admin:webhooks_webhookdelivery_changelist", None),
    "delivery": ("admin:webhooks_webhookdelivery_change", "delivery"),
    "questionnaires": ("admin:intake_questionnaire_changelist", None),
    "versions": ("admin:intake_questionnaireversion_changelist", None),
    "version": ("admin:intake_questionnaireversion_change", "version"),
    "items": ("admin:intake_item_changelist", None),
    "item": ("admin:intake_item_change", "item"),
    "access_log": ("admin:core_accesslog_changelist", None),
    "access_log_entry": ("admin:core_accesslog_change", "access_log"),
    "users": ("admin:accounts_user_changelist", None),
}
SUPPORT_SEES = {
    "index", "patients", "patient", "photo_id", "cases", "case", "notifications", "responses",
    "response", "payments", "payment", "events", "event", "deliveries", "delivery",
    "access_log", "access_log_entry",  # to search and export it (read only)
}  # fmt: skip
ADVISOR_SEES = {"index", "questionnaires", "versions", "version", "items", "item"}
ROLE_SEES = {
    SUPPORT_STAFF: SUPPORT_SEES,
    MEDICAL_ADVISORS: ADVISOR_SEES,
    ADMINISTRATORS: set(SCREENS),
}


def _url(world: dict, screen: str) -> str:
    name, key = SCREENS[screen]
    if key is None:
        return reverse(name)
    obj = world[key]
    return reverse(name, args=[obj.public_id if screen == "photo_id" else obj.pk])


@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("role", [SUPPORT_STAFF, MEDICAL_ADVISORS, ADMINISTRATORS])
def test_each_role_opens_exactly_its_screens(client, world, role, screen):
    staff, _ = _staff(client, role)
    status = staff.get(_url(world, screen)).status_code
    if screen in ROLE_SEES[role]:
        assert status == 200
    elif screen == "photo_id":
        assert status == 404  # an ID file never admits it exists to someone who may not see it
    else:
        assert status == 403


@pytest.mark.parametrize(
    ("role", "absent"),
    [
        (MEDICAL_ADVISORS, ["patients", "cases", "payments", "events", "responses", "access_log"]),
        (SUPPORT_STAFF, ["questionnaires", "items", "users"]),
    ],
)
def test_the_index_lists_no_screen_a_role_may_not_open(client, world, role, absent):
    staff, _ = _staff(client, role)
    index = staff.get(reverse("admin:index")).content.decode()
    for screen in absent:
        assert _url(world, screen) not in index
    for screen in ROLE_SEES[role] - {"index", "photo_id"}:
        if SCREENS[screen][1] is None:
            assert _url(world, screen) in index


def test_a_patient_is_sent_away_from_the_staff_site(client, world):
    client.force_login(world["patient"].user)
    for screen in ("index", "patients", "case"):
        response = client.get(_url(world, screen))
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_anonymous_visitors_are_sent_to_the_staff_login(client, world):
    response = client.get(_url(world, "patient"))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


# --- actions ----------------------------------------------------------------------------------


def _reprocess(staff, event):
    return staff.post(
        reverse("admin:webhooks_webhookevent_changelist"),
        {"action": "reprocess", "_selected_action": [event.pk]},
    )


@pytest.mark.parametrize("role", [SUPPORT_STAFF, ADMINISTRATORS])
def test_support_and_administrators_reprocess_a_failed_event(
    client, world, role, django_capture_on_commit_callbacks
):
    event = world["event"]
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED)
    staff, _ = _staff(client, role)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert _reprocess(staff, event).status_code == 302
    event.refresh_from_db()
    assert event.status == EventStatus.RECEIVED and len(enqueued) == 1


def test_advisors_cannot_reprocess_an_event(client, world, django_capture_on_commit_callbacks):
    event = world["event"]
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED)
    staff, _ = _staff(client, MEDICAL_ADVISORS)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert _reprocess(staff, event).status_code == 403
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED and not enqueued


def _refund(staff, payment):
    return staff.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "refund", "_selected_action": [payment.pk], "confirm": "yes"},
    )


@pytest.mark.parametrize("role", [SUPPORT_STAFF, ADMINISTRATORS])
def test_support_and_administrators_refund_a_charged_payment(client, world, role):
    payment = world["payment"]
    payment_capture(payment_id=payment.pk)
    staff, _ = _staff(client, role)
    assert _refund(staff, payment).status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED


def test_advisors_cannot_refund(client, world):
    payment = world["payment"]
    payment_capture(payment_id=payment.pk)
    staff, _ = _staff(client, MEDICAL_ADVISORS)
    assert _refund(staff, payment).status_code == 403
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED


def test_staff_without_the_refund_permission_see_the_list_but_cannot_refund(client, world):
    """Viewing payments alone does not carry the refund action."""
    payment = world["payment"]
    payment_capture(payment_id=payment.pk)
    user = StaffUserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_payment"))
    staff = staff_login(client, user)
    assert staff.get(_url(world, "payments")).status_code == 200
    _refund(staff, payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED


# --- clinical answers need their own permission -----------------------------------------------


def _page(staff, url: str) -> str:
    response = staff.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_support_without_the_clinical_permission_sees_no_answers(client, world):
    staff, user = _staff(client, SUPPORT_STAFF)
    assert not user.has_perm(VIEW_CLINICAL_ANSWERS)
    for screen in ("case", "response", "responses", "cases"):
        page = _page(staff, _url(world, screen))
        assert ANSWER_TEXT not in page and QUESTION_TEXT not in page
    assert "Intake answers" not in _page(staff, _url(world, "case"))


def test_support_with_the_clinical_permission_sees_the_answers_as_the_patient_did(client, world):
    staff, user = _staff(client, SUPPORT_STAFF)
    user.user_permissions.add(Permission.objects.get(codename="view_clinical_answers"))
    for screen in ("case", "response"):
        page = _page(staff, _url(world, screen))
        assert ANSWER_TEXT in page and QUESTION_TEXT in page
    # Lists never carry answers, whoever looks.
    assert ANSWER_TEXT not in _page(staff, _url(world, "responses"))


def test_the_question_that_stopped_an_intake_is_clinical_too(client, demo_version, demo_structure):
    response = stopped_intake(
        patient=PatientFactory(identified=True), version=demo_version, structure=demo_structure
    )
    url = reverse("admin:intake_questionnaireresponse_change", args=[response.pk])
    staff, user = _staff(client, SUPPORT_STAFF)
    assert PREGNANCY_QUESTION not in _page(staff, url)
    user.user_permissions.add(Permission.objects.get(codename="view_clinical_answers"))
    assert PREGNANCY_QUESTION in _page(staff, url)


def test_no_role_but_administrators_holds_the_clinical_permission_by_default():
    holders = Group.objects.filter(
        permissions__codename="view_clinical_answers",
        permissions__content_type__app_label="intake",
    )
    assert list(holders.values_list("name", flat=True)) == [ADMINISTRATORS]


def test_opening_a_response_is_access_logged(client, world):
    staff, user = _staff(client, SUPPORT_STAFF)
    _page(staff, _url(world, "response"))
    entry = AccessLog.objects.get(actor=user)
    assert (entry.object_type, entry.object_id, entry.patient_user_id) == (
        "intake.QuestionnaireResponse",
        str(world["response"].pk),
        world["patient"].user_id,
    )


def test_responses_are_read_only_even_for_administrators(client, world):
    staff, _ = _staff(client, ADMINISTRATORS)
    url = _url(world, "response")
    assert staff.post(url, {"status": "in-progress"}).status_code == 403
    delete = reverse("admin:intake_questionnaireresponse_delete", args=[world["response"].pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403


# --- administrators ---------------------------------------------------------------------------

PROJECT_APPS = ["accounts", "core", "patients", "intake", "cases", "webhooks", "payments"]
# The audit tables (access log, security events, purge log) are append-only for everyone.
ACCESS_LOG_WRITES = {
    f"{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in ("accesslog", "securityevent", "purgelog")
}


def test_administrators_hold_every_project_permission_but_access_log_writes():
    """A model added later without a grant to Administrators fails here."""
    granted = set(
        Group.objects.get(name=ADMINISTRATORS).permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    expected = {
        (app_label, codename)
        for app_label, codename in Permission.objects.filter(
            content_type__app_label__in=PROJECT_APPS
        ).values_list("content_type__app_label", "codename")
        if codename not in ACCESS_LOG_WRITES
    } | {("otp_totp", "view_totpdevice"), ("otp_totp", "delete_totpdevice")}
    assert granted == expected
    assert not {codename for _, codename in granted} & ACCESS_LOG_WRITES
    assert ("core", "view_accesslog") in granted


@pytest.mark.parametrize("superuser", [False, True])
def test_nobody_edits_or_deletes_the_access_log(client, world, superuser):
    staff, _ = _staff(client, None if superuser else ADMINISTRATORS, superuser=superuser)
    entry = world["access_log"]
    change = reverse("admin:core_accesslog_change", args=[entry.pk])
    delete = reverse("admin:core_accesslog_delete", args=[entry.pk])
    assert staff.post(change, {"action": "change", "object_id": "999"}).status_code == 403
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    assert staff.get(reverse("admin:core_accesslog_add")).status_code == 403
    entry.refresh_from_db()
    assert entry.object_id == str(world["patient"].pk)
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_a_case_is_never_changed_or_deleted_from_the_admin(client, world):
    staff, _ = _staff(client, ADMINISTRATORS)
    case = world["case"]
    delete = reverse("admin:cases_case_delete", args=[case.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


# --- every staff sign-in goes through tests/staff.py -----------------------------------------

STAFF_WORDS = re.compile(r"force_login\([^)]*(staff|support|advisor|clinician|admin)", re.I)


def test_no_test_signs_staff_in_around_staff_login():
    """Admin sign-in is getting a second factor in tests/staff.py; a test calling
    force_login on a staff user itself would silently bypass it."""
    tests_dir = Path(__file__).resolve().parent.parent
    offenders = [
        f"{path.relative_to(tests_dir)}:{number}"
        for path in tests_dir.rglob("*.py")
        if path.name != "staff.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if STAFF_WORDS.search(line)
    ]
    assert offenders == []

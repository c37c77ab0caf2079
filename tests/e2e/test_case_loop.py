"""In a browser: a patient submits a finished intake, a staff member drives the sandbox
console through every button, and the patient's visit page follows what MDI reported."""

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from cases.models import Case, CaseStatus, PrescriptionStatus
from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Earlier transactional tests empty every table, the role groups included.
    pytest.mark.usefixtures("staff_roles"),
]


@pytest.fixture
def mdi_urls(settings, live_server):
    """The client calls the sandbox and the sandbox posts webhooks back, both over real HTTP
    to this live server."""
    settings.MDI_API_BASE_URL = f"{live_server.url}/mdi-sandbox/api"
    settings.MDI_SANDBOX_WEBHOOK_URL = f"{live_server.url}/webhooks/mdi/"


@pytest.fixture
def live_mdi(mdi_urls, live_server, task_runner):
    return live_server


@pytest.fixture
def finished_intake(demo_version, demo_structure):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from intake.services import questionnaire_response_complete
    from patients.services import identity_document_upload
    from tests.intake.test_validation import _answer_all
    from tests.patients.factories import PatientFactory

    def jpeg(name: str) -> SimpleUploadedFile:
        out = io.BytesIO()
        Image.new("RGB", (40, 30), (90, 80, 70)).save(out, format="JPEG")
        return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")

    from cases.demo import DEMO_OFFERING_ID
    from cases.models import Offering

    Offering.objects.create(
        name="Finasteride 1 mg",
        mdi_offering_id=DEMO_OFFERING_ID,
        questionnaire_slug="hair-loss",
        price_minor=4900,
    )
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=jpeg("id.jpg"))
    response = _answer_all(patient, demo_version, demo_structure, lambda: jpeg("scalp.jpg"))
    assert questionnaire_response_complete(response=response, structure=demo_structure).is_valid
    return patient, response


def _sign_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_label(re.compile("Email|Username")).fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    device = TOTPDevice.objects.filter(user__email=email, confirmed=True).first()
    if device is not None:  # staff: the second step, with the code their app would show
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.get_by_label(re.compile("6-digit code")).fill(f"{code:06d}")
        page.get_by_role("button", name="Continue").click()


def wait_for(condition, what: str, seconds: float = 30) -> None:
    """Background work (in-process or on the worker) has landed in the database."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def reload_until(locator, seconds: float = 20) -> None:
    """With a real worker, what a button caused shows up once the worker has processed the
    webhook: reload as a patient would until it does (the visit page also polls itself)."""
    import time

    from playwright.sync_api import expect

    deadline = time.monotonic() + seconds
    while True:
        try:
            expect(locator).to_be_visible(timeout=1000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            locator.page.reload()


def test_submit_and_drive_the_case_through_every_console_button(
    browser, live_mdi, finished_intake, screenshot, tmp_path
):
    from playwright.sync_api import expect

    patient, response = finished_intake
    photo = tmp_path / "crown.jpg"
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (150, 120, 100)).save(out, format="JPEG")
    photo.write_bytes(out.getvalue())
    photo = str(photo)
    patient_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    patient_page.device_name = "phone"
    _sign_in(patient_page, f"{live_mdi.url}/accounts/login/", patient.user.email)
    patient_page.goto(f"{live_mdi.url}/intake/{response.public_id}/complete/")
    patient_page.get_by_role("link", name="Continue to checkout").click()
    patient_page.get_by_role("button", name="Continue to secure payment").click()
    patient_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    patient_page.get_by_role("button", name="Authorize $49.00").click()
    # With a real worker the page first says, truthfully, that the visit is on its way.
    reload_until(patient_page.get_by_role("heading", name="Waiting for a clinician"))
    screenshot(patient_page, "20-case-sent")
    wait_for(lambda: Case.objects.filter(mdi_case_id__gt="").exists(), "the case to reach MDI")

    staff_user = StaffUserFactory(email="clinician-console@example.com")
    staff_user.user_permissions.add(Permission.objects.get(codename="act_as_clinician"))
    TOTPDevice.objects.create(user=staff_user, name="phone", confirmed=True)
    staff_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff_page.device_name = "desktop"
    _sign_in(staff_page, f"{live_mdi.url}/staff/login/", staff_user.email)
    staff_page.goto(f"{live_mdi.url}/mdi-sandbox/console/")
    case = Case.objects.get()

    def press(name: str, expected_heading: str | None = None) -> None:
        staff_page.get_by_role("button", name=name, exact=True).click()
        expect(staff_page.locator(".message-success")).to_contain_text("Sent")
        if expected_heading:
            reload_until(patient_page.get_by_role("heading", name=expected_heading))

    press("Assign", "Under review")
    staff_page.get_by_label("Message or reason").fill("How long have you used minoxidil?")
    press("Request more info", "More information requested")
    expect(patient_page.get_by_text("Your clinician asked for more information")).to_be_visible()
    staff_page.get_by_label("Message or reason").fill("Could you also send a photo of the crown?")
    press("Send message")
    reload_until(patient_page.get_by_text("Could you also send a photo of the crown?", exact=True))
    screenshot(patient_page, "21-case-more-info")

    # The patient answers with a photo, then signs out and back in on the way.
    patient_page.get_by_label("Your answer").fill("About two years, once a day.")
    patient_page.locator(
        "form:has(#{}) input[type=file]".format(
            patient_page.get_by_label("Your answer").get_attribute("id")
        )
    ).set_input_files(photo)
    patient_page.get_by_role("button", name="Send to your clinician").click()
    expect(patient_page.get_by_text("About two years, once a day.", exact=True)).to_be_visible()
    reload_until(patient_page.locator(".status-pill", has_text="Sent"))
    screenshot(patient_page, "21b-reply-sent")
    patient_page.get_by_role("button", name="Sign out").click()
    _sign_in(patient_page, f"{live_mdi.url}/accounts/login/", patient.user.email)
    expect(patient_page.get_by_role("heading", name="Your visits")).to_be_visible()
    screenshot(patient_page, "21c-dashboard")
    patient_page.get_by_role(
        "link", name=re.compile("Reply to your clinician|See this visit")
    ).click()
    from cases.models import CaseMessage

    reply = CaseMessage.objects.get(direction="out")
    assert (reply.status, bool(reply.mdi_file_id)) == ("sent", True)
    press("Transfer to support", "With our support team")
    press("Assign", "Under review")
    press("Approve", "Treatment approved")
    press("Write prescription", "Prescription sent")
    for button in ("Pharmacy received", "Filled", "Shipped", "Delivered"):
        press(button)
    reload_until(patient_page.get_by_role("heading", name="Delivered"))
    expect(patient_page.get_by_role("link", name=re.compile("^1Z"))).to_be_visible()
    screenshot(patient_page, "22-case-delivered")
    for chaos in (
        "Chaos: send last twice",
        "Chaos: last N in reverse",
        "Chaos: bad signature",
        "Chaos: redeliver later",
    ):
        press(chaos)
    staff_page.get_by_role("button", name="Deliver held webhooks now").click()
    screenshot(staff_page, "23-sandbox-console")
    press("Failed")  # after delivery, a late failure changes nothing
    from webhooks.models import EventStatus, WebhookEvent

    wait_for(
        lambda: not WebhookEvent.objects.filter(status=EventStatus.RECEIVED).exists(),
        "every webhook event to be processed",
    )
    wait_for(lambda: Case.objects.get(pk=case.pk).payment.status == "captured", "the capture")
    case.refresh_from_db()
    assert (case.status, case.prescription.status) == (
        CaseStatus.PRESCRIPTION_SENT,
        PrescriptionStatus.DELIVERED,
    )
    assert case.payment.status == "captured"
    # One capture, and one notification per kind and channel, however often MDI repeated
    # itself (the chaos buttons sent duplicates, reversed runs and late redeliveries).
    from collections import Counter

    from cases.models import Notification
    from payments.models import PaymentHistory

    assert PaymentHistory.objects.filter(payment=case.payment, to_status="captured").count() == 1
    sent = Counter(Notification.objects.filter(case=case).values_list("kind", "channel"))
    assert sent and set(sent.values()) == {1}, sent

    # Support finds the visit by the patient's email, reads its timeline and a raw payload,
    # and reprocesses an event: nothing changes, and the payload view is access-logged.
    from django.contrib.auth.models import Group

    from core.models import AccessLog
    from core.roles import SUPPORT_STAFF

    support = StaffUserFactory(email="support-desk@example.com")
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    TOTPDevice.objects.create(user=support, name="phone", confirmed=True)
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.device_name = "desktop"
    _sign_in(desk, f"{live_mdi.url}/staff/login/", support.email)
    desk.goto(f"{live_mdi.url}/staff/cases/case/?q={patient.user.email}")
    desk.locator("#result_list tbody tr a").first.click()
    expect(desk.get_by_role("heading", name=re.compile("timeline", re.I))).to_be_visible()
    screenshot(desk, "25-support-case-timeline")
    desk.goto(f"{live_mdi.url}/staff/webhooks/webhookevent/?q={patient.user.email}")
    desk.locator("#result_list tbody tr th a").first.click()
    expect(desk.locator(".payload-text")).to_contain_text("event_type")
    screenshot(desk, "26-support-raw-payload")
    viewed = AccessLog.objects.filter(actor=support, object_type="webhooks.WebhookEvent")
    assert viewed.filter(patient_user_id=patient.user_id).exists()

    before = (
        case.status,
        case.prescription.status,
        PaymentHistory.objects.filter(payment=case.payment).count(),
        Notification.objects.filter(case=case).count(),
    )
    desk.goto(f"{live_mdi.url}/staff/webhooks/webhookevent/?q={patient.user.email}")
    desk.locator("#result_list tbody tr input.action-select").first.check()
    desk.locator("select[name=action]").select_option("reprocess")
    desk.locator("button[name=index]").first.click()
    expect(desk.locator(".messagelist")).to_contain_text("sent for processing")
    wait_for(
        lambda: not WebhookEvent.objects.filter(status=EventStatus.RECEIVED).exists(),
        "the reprocessed event",
    )
    case.refresh_from_db()
    after = (
        case.status,
        case.prescription.status,
        PaymentHistory.objects.filter(payment=case.payment).count(),
        Notification.objects.filter(case=case).count(),
    )
    assert after == before


def _pay(page, base: str, response) -> None:
    page.goto(f"{base}/intake/{response.public_id}/complete/")
    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("button", name="Continue to secure payment").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Authorize $49.00").click()


def _console(browser, base: str):
    staff_user = StaffUserFactory(email="console-decline@example.com")
    staff_user.user_permissions.add(Permission.objects.get(codename="act_as_clinician"))
    TOTPDevice.objects.create(user=staff_user, name="phone", confirmed=True)
    staff_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff_page.device_name = "desktop"
    _sign_in(staff_page, f"{base}/staff/login/", staff_user.email)
    staff_page.goto(f"{base}/mdi-sandbox/console/")
    return staff_page


def test_a_declined_visit_is_explained_calmly_and_the_hold_is_released(
    browser, live_mdi, finished_intake, screenshot
):
    from playwright.sync_api import expect

    patient, response = finished_intake
    patient_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    patient_page.device_name = "phone"
    _sign_in(patient_page, f"{live_mdi.url}/accounts/login/", patient.user.email)
    _pay(patient_page, live_mdi.url, response)
    wait_for(lambda: Case.objects.filter(mdi_case_id__gt="").exists(), "the case to reach MDI")

    staff_page = _console(browser, live_mdi.url)
    staff_page.get_by_role("button", name="Assign", exact=True).click()
    expect(staff_page.locator(".message-success")).to_contain_text("Sent")
    staff_page.get_by_label("Message or reason").fill(
        "Finasteride is not suitable with your history."
    )
    staff_page.get_by_role("button", name="Decline", exact=True).click()
    expect(staff_page.locator(".message-success")).to_contain_text("Sent")

    reload_until(patient_page.get_by_role("heading", name="Treatment not prescribed"))
    expect(
        patient_page.get_by_text("This is a medical decision about what is safe for you")
    ).to_be_visible()
    wait_for(lambda: Case.objects.get().payment.status == "released", "the hold to be released")
    reload_until(patient_page.get_by_text(re.compile("was released on .* You were not charged")))
    # Calm, not an error: a normal page, no alarm words.
    page_text = patient_page.locator("main").inner_text()
    assert "error" not in page_text.lower()
    screenshot(patient_page, "24-case-declined")


def test_an_advisor_rewords_a_question_and_only_new_intakes_see_it(
    browser, live_mdi, finished_intake, screenshot
):
    from django.contrib.auth.models import Group
    from playwright.sync_api import expect

    from core.roles import MEDICAL_ADVISORS
    from patients.services import identity_document_upload
    from tests.patients.factories import PatientFactory

    old = "Has a parent or sibling had similar hair loss?"
    new = "Has anyone in your close family had hair loss like yours?"
    patient, response = finished_intake
    patient_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    patient_page.device_name = "phone"
    _sign_in(patient_page, f"{live_mdi.url}/accounts/login/", patient.user.email)
    _pay(patient_page, live_mdi.url, response)
    answers = patient_page.get_by_text("Your answers, as you submitted them")
    expect(answers).to_be_visible()

    advisor = StaffUserFactory(email="advisor@example.com")
    advisor.groups.add(Group.objects.get(name=MEDICAL_ADVISORS))
    TOTPDevice.objects.create(user=advisor, name="phone", confirmed=True)
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.device_name = "desktop"
    _sign_in(desk, f"{live_mdi.url}/staff/login/", advisor.email)

    def run_action(row_text: str, action: str) -> None:
        desk.goto(f"{live_mdi.url}/staff/intake/questionnaireversion/")
        desk.locator(f"#result_list tbody tr:has-text('{row_text}') input.action-select").check()
        desk.locator("select[name=action]").select_option(action)
        desk.locator("button[name=index]").first.click()
        expect(desk.locator(".messagelist")).to_be_visible()

    run_action("Published", "create_drafts")
    desk.goto(f"{live_mdi.url}/staff/intake/item/?q=family-history&version__status__exact=draft")
    desk.locator("#result_list tbody tr th a").first.click()
    desk.locator("#id_text").fill(new)
    desk.get_by_role("button", name="Save", exact=True).click()
    expect(desk.locator(".messagelist")).to_contain_text("changed successfully")
    run_action("Draft", "publish_versions")
    screenshot(desk, "27-advisor-published")

    # The first patient's submitted intake keeps the wording they answered.
    patient_page.reload()
    patient_page.get_by_text("Your answers, as you submitted them").click()
    expect(patient_page.get_by_text(old)).to_be_visible()
    expect(patient_page.get_by_text(new)).to_have_count(0)
    screenshot(patient_page, "28-old-wording-kept")

    # A new patient sees the new wording.
    second = PatientFactory(identified=True)
    from django.core.files.uploadedfile import SimpleUploadedFile

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 80, 70)).save(out, format="JPEG")
    identity_document_upload(
        patient=second,
        uploaded=SimpleUploadedFile("id.jpg", out.getvalue(), content_type="image/jpeg"),
    )
    newcomer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    newcomer.device_name = "phone"
    _sign_in(newcomer, f"{live_mdi.url}/accounts/login/", second.user.email)
    newcomer.goto(f"{live_mdi.url}/intake/start/")
    expect(newcomer.get_by_text(new)).to_be_visible()
    expect(newcomer.get_by_text(old)).to_have_count(0)
    screenshot(newcomer, "29-new-wording")

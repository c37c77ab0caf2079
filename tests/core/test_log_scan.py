"""A whole patient journey with every logger at DEBUG, then a scan: no log record (message
with its arguments rendered, exception text) and no email carries the patient's legal name,
address, date of birth in any common format, free-text answers or the clinician's reason."""

import io
import logging
import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cases.models import Case, CaseStatus, Offering
from tests.cases.conftest import DEMO_OFFERING_ID
from tests.intake.test_validation import STEP1, STEP2

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zephyrine", "Quillfeather"
STREET = "77 Larkspur Lane"
BIRTH = ("1987", "03", "14")
FREE_TEXT = {
    "medication-list": "Biotin xylophone-7731 every morning",
    "allergy-list": "Penicillin gave me marmalade-hives",
    "questions-for-clinician": "My aunt Octavianne-Brightwater lost her hair at 30",
}
DECLINE_REASON = "Quokka-contraindication with current medicines"


def _needles() -> list[str]:
    year, month, day = BIRTH
    return [
        FIRST,
        LAST,
        f"{FIRST} {LAST}",
        "Larkspur",
        f"{year}-{month}-{day}",
        f"{month}/{day}/{year}",
        f"{day}/{month}/{year}",
        f"{int(month)}/{int(day)}/{year}",
        f"{year}{month}{day}",
        f"{day}.{month}.{year}",
        "March 14, 1987",
        "Mar. 14, 1987",
        "14 March 1987",
        "datetime.date(1987, 3, 14)",
        "xylophone-7731",
        "marmalade-hives",
        "Octavianne",
        "Quokka-contraindication",
    ]


def _jpeg(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (120, 90, 60)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def every_logger_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _rendered(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), record.exc_text or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return " ".join(parts)


def test_a_whole_journey_logs_and_emails_no_health_information(
    client,
    demo_version,
    deliver,
    fake_mdi,
    every_logger_at_debug,
    django_capture_on_commit_callbacks,
):
    Offering.objects.create(
        name="Finasteride 1 mg",
        mdi_offering_id=DEMO_OFFERING_ID,
        questionnaire_slug="hair-loss",
        price_minor=4900,
    )

    def go(method: str, url: str, data: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, method)(url, data or {})
        assert response.status_code in (200, 302), (url, response.status_code)
        return response

    password = "a-long-unusual-pass-9"
    go(
        "post",
        reverse("accounts:signup"),
        {"email": "walker@example.com", "password1": password, "password2": password},
    )
    # The emailed confirmation link signs this browser in.
    go("post", re.search(r"/accounts/verify/\S+/", mail.outbox[0].body).group(0))
    go("post", reverse("patients:eligibility"), {"state": "CA", "date_of_birth": "-".join(BIRTH)})
    go(
        "post",
        reverse("patients:identity"),
        {
            "legal_first_name": FIRST,
            "legal_last_name": LAST,
            "sex_at_birth": "female",
            "phone": "415 555 0123",
            "address_line1": STREET,
            "address_line2": "",
            "city": "Oakland",
            "address_state": "CA",
            "zip_code": "94601",
        },
    )
    go("post", reverse("patients:photo_id"), {"photo_id": _jpeg("license.jpg")})
    step_one = go("get", reverse("intake:start")).url
    assert "/step/1/" in step_one
    steps = [
        STEP1,
        STEP2,
        {
            "takes-medications": "true",
            "medication-list": FREE_TEXT["medication-list"],
            "has-allergies": "true",
            "allergy-list": FREE_TEXT["allergy-list"],
        },
        {
            "treatment-preference": "both",
            "attestation": "confirmed",
            "questions-for-clinician": FREE_TEXT["questions-for-clinician"],
            "scalp-photo": _jpeg("scalp.jpg"),
        },
    ]
    for number, data in enumerate(steps, start=1):
        go("get", step_one.replace("/step/1/", f"/step/{number}/"))
        assert go("post", step_one.replace("/step/1/", f"/step/{number}/"), data).status_code == 302
    review = step_one.replace("step/1/", "review/")
    go("get", review)
    complete = go("post", review).url
    go("get", complete)

    response_id = complete.rstrip("/").split("/")[-2]
    checkout = reverse("cases:checkout", args=[response_id])
    go("get", checkout)
    processor = urlparse(go("post", checkout).url)
    go("get", processor.path)
    back = urlparse(go("post", processor.path, {"card_number": "4242 4242 4242 4242"}).url)
    visit = go("get", f"{back.path}?{back.query}").url

    case = Case.objects.get()
    assert case.mdi_case_id  # submitted to the fake MDI
    deliver("case_assigned_to_clinician", case, timestamp=1_700_000_100)
    fake_mdi.cancels(case.mdi_case_id, reason=DECLINE_REASON)
    deliver("case_cancelled", case, timestamp=1_700_000_200, reason=DECLINE_REASON)
    case.refresh_from_db()
    assert case.status == CaseStatus.DECLINED

    go("get", reverse("cases:dashboard"))
    page = go("get", visit).content.decode()
    assert FIRST not in visit and "Quokka" in page  # the page shows it; the logs must not

    records = every_logger_at_debug.records
    assert len(records) > 20  # the journey really was logged at DEBUG
    emails = [
        " ".join(
            [message.subject, message.body]
            + [str(content) for content, _ in getattr(message, "alternatives", [])]
        )
        for message in mail.outbox
    ]
    assert emails  # the patient was emailed (submitted, then declined)
    for needle in _needles():
        for record in records:
            assert needle.lower() not in _rendered(record).lower(), (needle, record.name)
        for text in emails:
            assert needle.lower() not in text.lower(), (needle, text[:200])

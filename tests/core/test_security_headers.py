"""Every page a patient or staff member can reach carries the security headers: a CSP that runs
only our own scripts, no referrer leaving the site, browser features denied, no framing, and
no caching of anything a signed-in user sees."""

import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from patients.models import IdentityDocument
from tests.accounts.factories import StaffUserFactory
from tests.cases.conftest import _jpeg, completed_unpaid  # noqa: F401 (a fixture)
from tests.cases.factories import CaseFactory
from tests.core.test_health_and_settings import PRODUCTION_ENV, REPO
from tests.intake.test_validation import _answer_all
from tests.patients.factories import PatientFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def _header_problems(response, *, signed_in: bool) -> list[str]:
    problems = []
    if "Content-Security-Policy" not in response:
        return ["no Content-Security-Policy"]
    csp = _directives(response)
    script_src = csp.get("script-src", csp.get("default-src", []))
    if not script_src or "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        problems.append(f"script-src {script_src}")
    if "'unsafe-inline'" in csp.get("style-src", []):
        problems.append("style-src allows inline styles")
    if csp.get("frame-ancestors") != ["'none'"] or response.get("X-Frame-Options") != "DENY":
        problems.append("framing allowed")
    if csp.get("object-src") != ["'none'"] or csp.get("base-uri") != ["'none'"]:
        problems.append("object-src/base-uri not 'none'")
    if response.get("Referrer-Policy") not in {"same-origin", "no-referrer"}:
        problems.append(f"Referrer-Policy {response.get('Referrer-Policy')}")
    permissions = response.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        if feature not in permissions:
            problems.append(f"Permissions-Policy lacks {feature}")
    cache_control = response.get("Cache-Control", "")
    if signed_in and not ("no-store" in cache_control and "private" in cache_control):
        problems.append(f"Cache-Control {cache_control!r}")
    return problems


@pytest.fixture
def pages(completed_unpaid, demo_version, demo_structure):  # noqa: F811
    """(who, client, url, expected status) for each kind of page, with the objects they show."""
    anonymous = Client()

    patient, unpaid_response = completed_unpaid
    case = CaseFactory(patient=patient)
    paying = Client()
    paying.force_login(patient.user)
    to_processor = paying.post(reverse("cases:checkout", args=[unpaid_response.public_id]))
    assert to_processor.status_code == 302, "checkout did not open a sandbox session"

    answering = PatientFactory(identified=True)
    in_progress = _answer_all(answering, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    answering_client = Client()
    answering_client.force_login(answering.user)

    staff = staff_login(Client(), StaffUserFactory(is_superuser=True))

    from django.contrib import admin

    changelists = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    ok, missing = 200, 404
    return [
        *[("staff", staff, url, ok) for url in changelists],
        ("anonymous", anonymous, reverse("home"), ok),
        ("anonymous", anonymous, reverse("accounts:login"), ok),
        ("anonymous", anonymous, reverse("accounts:signup"), ok),
        ("anonymous", anonymous, reverse("accounts:signup_check_email"), ok),
        ("anonymous", anonymous, reverse("accounts:password_reset"), ok),
        ("anonymous", anonymous, reverse("accounts:password_reset_done"), ok),
        ("anonymous", anonymous, "/no-such-page/", missing),
        ("patient", paying, reverse("home"), ok),
        ("patient", paying, reverse("patients:eligibility"), ok),
        ("patient", paying, reverse("patients:identity"), ok),
        ("patient", paying, reverse("patients:photo_id"), ok),
        ("patient", paying, reverse("patients:notification_preferences"), ok),
        ("patient", paying, reverse("accounts:password_change"), ok),
        ("patient", paying, reverse("accounts:settings"), ok),
        ("patient", paying, reverse("accounts:email_change"), ok),
        ("patient", paying, reverse("accounts:mfa_setup"), ok),
        ("patient", paying, reverse("cases:dashboard"), ok),
        ("patient", paying, reverse("cases:detail", args=[case.public_id]), ok),
        ("patient", paying, reverse("cases:detail_status", args=[case.public_id]), ok),
        ("patient", paying, reverse("cases:checkout", args=[unpaid_response.public_id]), ok),
        ("patient", paying, to_processor.url, ok),  # the sandbox processor's card page
        ("patient", paying, "/no-such-page/", missing),
        ("patient", answering_client, reverse("intake:step", args=[in_progress.public_id, 1]), ok),
        ("patient", answering_client, reverse("intake:review", args=[in_progress.public_id]), ok),
        ("staff", staff, reverse("admin:index"), ok),
        ("staff", staff, reverse("admin:cases_case_change", args=[case.pk]), ok),
        (
            "staff",
            staff,
            reverse("admin:intake_questionnaireversion_preview", args=[demo_version.pk]),
            ok,
        ),
        ("staff", staff, "/staff/no-such-page/", missing),
        ("staff", staff, reverse("mdi_sandbox:console"), ok),
    ]


def test_every_page_carries_the_security_headers(pages):
    problems = {}
    for who, client, url, expected_status in pages:
        response = client.get(url)
        assert response.status_code == expected_status, (who, url, response.status_code)
        found = _header_problems(response, signed_in=who != "anonymous")
        if found:
            problems[f"{who} {url}"] = found
    assert problems == {}


def test_the_policy_is_the_declared_one(client):
    csp = _directives(client.get(reverse("home")))
    assert csp == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }


def test_a_header_check_catches_a_weakened_policy(client, settings):
    """The walk's checker is not vacuous: a policy allowing inline scripts is reported."""
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "script-src": ["'self'", "'unsafe-inline'"],
        }
    }
    response = client.get(reverse("home"))
    problems = _header_problems(response, signed_in=False)
    assert len(problems) == 1 and problems[0].startswith("script-src")


def test_anonymous_pages_may_be_cached_but_signed_in_ones_never(patient_client):
    """The no-store comes from the sign-in, not from the page."""
    assert "no-store" not in Client().get(reverse("home")).get("Cache-Control", "")
    assert "no-store" in patient_client.get(reverse("home"))["Cache-Control"]


def test_the_photo_id_file_keeps_its_stricter_policy(patient_client, user):
    patient = PatientFactory(user=user, identified=True)
    doc = IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    with mock.patch("patients.views.upload_open", return_value=b"\xff\xd8"):
        response = patient_client.get(reverse("patients:document", args=[doc.public_id]))
    assert response.status_code == 200
    csp = _directives(response)
    assert csp == {"default-src": ["'none'"], "img-src": ["'self'"], "sandbox": []}
    assert "no-store" in response["Cache-Control"]


def test_stripe_checkout_is_an_allowed_form_target_only_with_the_stripe_gateway():
    """Chromium applies form-action to the redirect after checkout's POST, which goes to
    Stripe's hosted page. Settings are read at import, so each gateway gets its own process."""

    def form_action(module: str, extra: dict[str, str]) -> list[str]:
        code = (
            "import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']))"
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in PRODUCTION_ENV and k not in {"DJANGO_SETTINGS_MODULE", "PAYMENTS_GATEWAY"}
        }
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**env, "DJANGO_SETTINGS_MODULE": module, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout.strip().splitlines()[-1])

    assert form_action("config.settings.test", {}) == ["'self'"]
    assert form_action("config.settings.test", {"PAYMENTS_GATEWAY": "stripe"}) == [
        "'self'",
        "https://checkout.stripe.com",
    ]
    assert form_action("config.settings.production", PRODUCTION_ENV) == [
        "'self'",
        "https://checkout.stripe.com",
    ]

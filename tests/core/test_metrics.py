"""/metrics: what an operator alerts on, from the database, behind a token."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, SubmissionStatus
from tests.cases.factories import CaseFactory
from tests.webhooks.helpers import mdi_body, post_mdi
from webhooks.models import EventStatus, WebhookEvent

pytestmark = pytest.mark.django_db

TOKEN = "a-long-random-metrics-token"


@pytest.fixture
def protected(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.DEBUG = False


def _scrape(client) -> str:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_without_the_token_there_is_nothing_to_see(client, protected):
    assert client.get(reverse("metrics")).status_code == 404
    wrong = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 404


def test_without_a_configured_token_it_is_served_only_on_a_laptop(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get(reverse("metrics")).status_code == 404
    settings.DEBUG = True
    assert client.get(reverse("metrics")).status_code == 200


def test_webhook_deliveries_events_and_the_oldest_waiting_event_are_reported(
    client, protected, django_capture_on_commit_callbacks
):
    body = mdi_body("case_approved", case_id="unknown-case")
    with django_capture_on_commit_callbacks(execute=False):  # received, not yet processed
        post_mdi(client, body)
        post_mdi(client, body)  # a duplicate
    client.post(reverse("webhooks:mdi"), data=b"{}", content_type="application/json")
    WebhookEvent.objects.update(received_at=timezone.now() - datetime.timedelta(seconds=90))

    text = _scrape(client)
    assert 'thinclinic_webhook_deliveries_total{outcome="accepted",provider="mdi"} 1.0' in text
    assert 'thinclinic_webhook_deliveries_total{outcome="duplicate",provider="mdi"} 1.0' in text
    assert 'outcome="unauthenticated",provider="mdi"} 1.0' in text
    assert (
        'thinclinic_webhook_events{event_type="case_approved",provider="mdi",'
        f'status="{EventStatus.RECEIVED}"}} 1.0'
    ) in text
    oldest = next(
        line
        for line in text.splitlines()
        if line.startswith("thinclinic_webhook_oldest_unprocessed_seconds ")
    )
    assert 89 <= float(oldest.split()[1]) < 200


def test_submissions_waiting_or_failed_are_counted_by_status(client, protected):
    for status in (SubmissionStatus.PENDING, SubmissionStatus.FAILED, SubmissionStatus.FAILED):
        case = CaseFactory()
        Case.objects.filter(pk=case.pk).update(submission_status=status)
    text = _scrape(client)
    assert 'thinclinic_case_submissions{status="pending"} 1.0' in text
    assert 'thinclinic_case_submissions{status="failed"} 2.0' in text
    assert 'thinclinic_case_submissions{status="sending"} 0.0' in text


def test_no_patient_data_appears_in_the_metrics(client, protected):
    case = CaseFactory()
    text = _scrape(client)
    assert case.patient.user.email not in text
    assert str(case.public_id) not in text


def test_holds_awaiting_capture_and_near_expiry_are_counted(client, protected):
    from tests.payments.factories import PaymentFactory

    PaymentFactory()  # a week left, no capture asked: neither
    PaymentFactory(capture_requested_at=timezone.now())
    PaymentFactory(hold_expires_at=timezone.now() + datetime.timedelta(hours=3))
    text = _scrape(client)
    assert "thinclinic_payments_awaiting_capture 1.0" in text
    assert "thinclinic_payment_holds_expiring_soon 1.0" in text


def test_requests_are_counted_by_view_name_never_by_path(client, protected):
    case = CaseFactory()
    client.get(reverse("home"))
    client.get(reverse("cases:detail", args=[case.public_id]))  # signed out: a redirect
    client.get(f"/no-such-page/{case.public_id}/")
    text = _scrape(client)
    request_lines = [line for line in text.splitlines() if line.startswith("django_http_")]
    assert any(
        line.startswith("django_http_requests_total_by_view_transport_method_total{")
        and 'view="cases:detail"' in line
        and 'method="GET"' in line
        for line in request_lines
    )
    assert any(
        line.startswith("django_http_requests_latency_seconds_by_view_method_bucket{")
        and 'view="home"' in line
        for line in request_lines
    )
    assert any(
        line.startswith("django_http_responses_total_by_status_view_method_total{")
        and 'status="302"' in line
        and 'view="cases:detail"' in line
        for line in request_lines
    )
    # An unmatched URL is one label value, not one per path; no id reaches a label.
    assert any('view="<unnamed view>"' in line for line in request_lines)
    assert str(case.public_id) not in text
    assert "no-such-page" not in text


def test_under_gunicorn_every_workers_requests_are_added_up(
    client, protected, tmp_path, monkeypatch
):
    """gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR: each worker writes its counts there."""
    worker = (
        "from prometheus_client import Counter; "
        "Counter('thinclinic_test_requests', 'x', ['view']).labels('home').inc()"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes
        subprocess.run([sys.executable, "-c", worker], env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = _scrape(client)
    assert 'thinclinic_test_requests_total{view="home"} 2.0' in text
    assert "thinclinic_case_submissions" in text  # the database's figures are still there


def test_gunicorn_config_starts_each_run_from_zero(tmp_path, monkeypatch):
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prom"))
    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    (tmp_path / "prom").mkdir()
    (tmp_path / "prom" / "counter_123.db").write_bytes(b"stale")
    config["on_starting"](server=None)
    assert list((tmp_path / "prom").iterdir()) == []


def test_a_made_up_method_is_one_label_value_not_a_new_series(client, protected):
    client.generic("BREWCOFFEE", reverse("home"))
    text = _scrape(client)
    assert "BREWCOFFEE" not in text
    assert any(
        line.startswith("django_http_requests_latency_seconds_by_view_method_count{")
        and 'method="<invalid method>"' in line
        and 'view="home"' in line
        for line in text.splitlines()
    )

"""The client's own address, not the proxy's, in every record: behind production's proxy the
trusted X-Forwarded-For position counts, and what the client wrote left of it does not."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from core.audit import access_log_record
from core.http import client_ip
from core.models import AccessLog, SecurityEvent, SecurityEventKind
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.accounts.test_hardening import CLIENT_IP_SETTINGS, production_settings
from tests.webhooks.helpers import mdi_body, post_mdi
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
CLIENT = "203.0.113.9"
SPOOFED = "198.51.100.66"  # what a client writes itself, in front of the proxy's entry


@pytest.fixture
def behind_one_proxy(settings, monkeypatch):
    production = production_settings(monkeypatch, PROXY_COUNT="1")
    for name in CLIENT_IP_SETTINGS:
        if name in production:
            setattr(settings, name, production[name])


def _request(**meta):
    return RequestFactory().get("/staff/", **meta)


def test_behind_the_proxy_the_client_is_the_entry_the_proxy_appended(behind_one_proxy):
    assert client_ip(_request(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)) == CLIENT


def test_a_spoofed_leftmost_entry_is_not_believed(behind_one_proxy):
    request = _request(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}")
    assert client_ip(request) == CLIENT


def test_without_a_proxy_a_forwarded_for_header_is_ignored():
    request = _request(REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR=SPOOFED)
    assert client_ip(request) == CLIENT


def test_the_access_log_stores_the_client_not_the_proxy(behind_one_proxy):
    request = _request(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}")
    request.user = StaffUserFactory()
    patient = UserFactory()
    access_log_record(request=request, obj=patient, patient_user_id=patient.pk)
    assert AccessLog.objects.get().ip_address == CLIENT


def test_a_webhook_delivery_and_its_refusal_record_the_sender_not_the_proxy(
    behind_one_proxy, client
):
    forwarded = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{SPOOFED}, {CLIENT}"}
    client.defaults.update(forwarded)
    assert post_mdi(client, mdi_body("case_created", case_id="c-1")).status_code == 200
    assert post_mdi(client, mdi_body("case_created"), secret="wrong").status_code == 401
    assert set(WebhookDelivery.objects.values_list("client_ip", flat=True)) == {CLIENT}
    refused = SecurityEvent.objects.get(kind=SecurityEventKind.WEBHOOK_REFUSED)
    assert refused.ip_address == CLIENT


def test_a_failed_sign_in_records_the_client_not_the_proxy(behind_one_proxy, client):
    client.post(
        reverse("accounts:login"),
        {"username": "someone@example.com", "password": "wrong"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}",
    )
    assert SecurityEvent.objects.get(kind=SecurityEventKind.LOGIN_FAILED).ip_address == CLIENT


def test_the_security_log_line_for_a_bad_content_length_names_the_client(
    behind_one_proxy, client, caplog
):
    response = client.post(
        "/accounts/login/",
        data=b"x",
        content_type="text/plain",
        CONTENT_LENGTH="-5",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}",
    )
    assert response.status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert any(CLIENT in line for line in lines)
    assert not any(PROXY in line or SPOOFED in line for line in lines)

"""Receiving MDI webhooks: authentication, storage, duplicates, malformed bodies, outbox."""

import json

import pytest
from django.db import connection

from tests.webhooks.helpers import AUTHORIZATION, SECRET, mdi_body, php_json, post_mdi
from webhooks.models import DeliveryOutcome, EventStatus, WebhookDelivery, WebhookEvent
from webhooks.providers import mdi_sign

pytestmark = pytest.mark.django_db

URL_BODY = {"event_type": "patient_modified", "timestamp": 1700000000, "patient_id": "p-1",
            "access_link": "https://patient.mdintegrations.com/login/xyz"}  # fmt: skip


def test_a_signed_event_is_stored_encrypted_and_acknowledged(client):
    body = php_json(URL_BODY)
    assert b"\\/" in body  # PHP-style escaping, as MDI signs it
    response = post_mdi(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.raw_body == body
    assert (event.event_type, event.provider_timestamp) == ("patient_modified", 1700000000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw_body FROM webhooks_webhookevent WHERE id = %s", [event.pk])
        stored = cursor.fetchone()[0]
    assert "patient_modified" not in stored and "xyz" not in stored
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == DeliveryOutcome.ACCEPTED
    assert delivery.headers["Authorization"] == "[redacted]"
    assert delivery.headers["Signature"] == "[redacted]"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"secret": "wrong-secret"}, "signature"),
        ({"authorization": "Bearer wrong"}, "authorization"),
        ({"authorization": None}, "authorization"),
        ({"secret": None}, "signature-missing"),
        ({"signature": "0" * 64}, "signature"),
    ],
    ids=[
        "wrong-secret",
        "wrong-authorization",
        "missing-authorization",
        "missing-signature",
        "zero-signature",
    ],
)
def test_unauthenticated_deliveries_are_refused_recorded_and_apply_nothing(client, kwargs, reason):
    response = post_mdi(client, mdi_body("case_approved", case_id="c1"), **kwargs)
    assert response.status_code == 401
    assert response.content == b"unauthorized"
    assert not WebhookEvent.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.failure_reason, delivery.event) == (
        DeliveryOutcome.UNAUTHENTICATED,
        reason,
        None,
    )


def test_a_tampered_body_fails_the_signature(client):
    body = mdi_body("case_cancelled", case_id="c1", reason="x")
    signature = mdi_sign(body=body, secret=SECRET)
    tampered = body.replace(b"case_cancelled", b"case_approved")
    assert post_mdi(client, tampered, signature=signature).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_the_signature_covers_the_raw_bytes_not_a_re_serialisation(client):
    """MDI signs PHP's escaping; a Python re-serialisation of the same payload must not verify,
    and the original bytes must."""
    php_body = php_json(URL_BODY)
    signature = mdi_sign(body=php_body, secret=SECRET)
    python_body = json.dumps(URL_BODY).encode()
    assert python_body != php_body
    assert post_mdi(client, python_body, signature=signature).status_code == 401
    assert post_mdi(client, php_body, signature=signature).status_code == 200


def test_a_rotated_secret_and_authorization_are_both_accepted(client, settings):
    settings.MDI_WEBHOOK_SECRET = ["new-secret", SECRET]
    settings.MDI_WEBHOOK_AUTHORIZATION = ["Bearer new", AUTHORIZATION]
    assert post_mdi(client, mdi_body("patient_created", patient_id="a")).status_code == 200
    assert (
        post_mdi(
            client,
            mdi_body("patient_created", patient_id="b"),
            secret="new-secret",
            authorization="Bearer new",
        ).status_code
        == 200
    )
    settings.MDI_WEBHOOK_SECRET = ["new-secret"]
    assert post_mdi(client, mdi_body("patient_created", patient_id="c")).status_code == 401


def test_a_duplicate_delivery_is_a_recorded_delivery_of_the_same_event(client):
    body = mdi_body("case_created", case_id="c1")
    assert post_mdi(client, body).status_code == 200
    assert post_mdi(client, body).status_code == 200
    event = WebhookEvent.objects.get()
    assert sorted(event.deliveries.values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_the_event_key_is_notification_id_when_present_else_the_body_hash(client):
    post_mdi(client, mdi_body("notification_sent", notification_id="n-1", timestamp=1))
    post_mdi(
        client, mdi_body("notification_sent", notification_id="n-1", timestamp=2)
    )  # same id, new body
    post_mdi(client, mdi_body("case_created", case_id="c1"))
    keys = sorted(WebhookEvent.objects.values_list("event_key", flat=True))
    assert keys[0] == "notification:n-1"
    assert keys[1].startswith("sha256:") and len(keys) == 2


def test_malformed_json_that_passed_authentication_is_kept_for_support_and_acknowledged(client):
    assert post_mdi(client, b'{"event_type": "case_created", ').status_code == 200
    assert post_mdi(client, b"[1, 2, 3]").status_code == 200
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {EventStatus.MALFORMED}


def test_an_unknown_event_type_is_stored_and_marked_unhandled(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_mdi(client, mdi_body("brand_new_event", thing=1)).status_code == 200
    assert WebhookEvent.objects.get().status == EventStatus.UNHANDLED


def test_processing_is_enqueued_after_commit_not_during_the_request(
    client, django_capture_on_commit_callbacks, case
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_mdi(client, mdi_body("case_assigned_to_clinician", case_id=case.mdi_case_id))
    assert len(callbacks) == 1
    assert WebhookEvent.objects.get().status == EventStatus.RECEIVED  # nothing applied yet
    callbacks[0]()
    assert WebhookEvent.objects.get().status == EventStatus.PROCESSED


def test_get_and_oversized_bodies_are_refused(client):
    assert client.get("/webhooks/mdi/").status_code == 405
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = client.post("/webhooks/mdi/", data=huge, content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize("timestamp", [10**17, -5, "yesterday", True, 1.7e12])
def test_an_implausible_timestamp_is_stored_without_one_not_a_500(client, timestamp):
    response = post_mdi(client, php_json({"event_type": "patient_created", "timestamp": timestamp}))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    expected = 1_700_000_000 if timestamp == 1.7e12 else None  # milliseconds are understood
    assert event.provider_timestamp == expected

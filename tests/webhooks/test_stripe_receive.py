"""Receiving Stripe webhooks: Stripe's signature scheme, rotation, replay window, storage,
duplicates and the after-commit enqueue, through the same pipeline as MDI."""

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from webhooks.models import DeliveryOutcome, EventStatus, Provider, WebhookDelivery, WebhookEvent
from webhooks.providers import KNOWN_EVENT_TYPES

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"
SECRET = settings.STRIPE_WEBHOOK_SECRET[0]  # fresh for every test run (config/settings/test.py)


def stripe_signature(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    """What Stripe sends: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event_body(
    event_type: str = "checkout.session.completed", *, event_id: str = "evt_1", **obj: Any
) -> bytes:
    payload = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-01",
        "created": 1_700_000_000,
        "livemode": False,
        "type": event_type,
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session", **obj}},
    }
    return json.dumps(payload, indent=2).encode()


def post_stripe(client: Client, body: bytes, signature: str | None = "sign") -> Any:
    headers = {}
    if signature == "sign":
        signature = stripe_signature(body)
    if signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.post(URL, data=body, content_type="application/json", **headers)


def test_a_signed_event_is_stored_encrypted_and_acknowledged(client):
    body = event_body(client_reference_id="pay-123", metadata={"payment": "pay-other"})
    response = post_stripe(client, body)
    assert (response.status_code, response.content) == (200, b"ok")
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_key, event.event_type) == (
        Provider.STRIPE,
        "stripe:evt_1",
        "checkout.session.completed",
    )
    assert (event.external_id, event.reference) == ("cs_test_1", "pay-123")
    assert (event.provider_timestamp, event.occurred_at.timestamp()) == (1_700_000_000, 1.7e9)
    assert event.raw_body == body
    assert event.status == EventStatus.RECEIVED
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw_body FROM webhooks_webhookevent WHERE id = %s", [event.pk])
        assert "cs_test_1" not in cursor.fetchone()[0]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.provider, delivery.outcome, delivery.event) == ("stripe", "accepted", event)
    assert delivery.headers["Stripe-Signature"] == "[redacted]"


def test_the_reference_falls_back_to_the_payment_metadata(client):
    body = event_body("payment_intent.canceled", id="pi_1", metadata={"payment": "pay-9"})
    assert post_stripe(client, body).status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.external_id, event.reference) == (
        "payment_intent.canceled",
        "pi_1",
        "pay-9",
    )


def _refused(client, body: bytes, signature: str | None, reason: str) -> None:
    response = post_stripe(client, body, signature)
    assert (response.status_code, response.content) == (401, b"unauthorized")
    assert not WebhookEvent.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.provider, delivery.outcome, delivery.failure_reason, delivery.event) == (
        "stripe",
        DeliveryOutcome.UNAUTHENTICATED,
        reason,
        None,
    )


def test_a_wrong_secret_is_refused(client):
    body = event_body()
    _refused(client, body, stripe_signature(body, secret="whsec_wrong"), "signature")


def test_a_missing_header_is_refused(client):
    _refused(client, event_body(), None, "signature-missing")


def test_a_stale_timestamp_is_refused_even_with_a_correct_signature(client):
    body = event_body()
    stale = stripe_signature(body, timestamp=int(time.time()) - 301)
    _refused(client, body, stale, "stale")


def test_a_recent_timestamp_is_accepted(client):
    body = event_body()
    recent = stripe_signature(body, timestamp=int(time.time()) - 240)
    assert post_stripe(client, body, recent).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_a_tampered_body_is_refused(client):
    body = event_body("checkout.session.expired")
    signature = stripe_signature(body)
    tampered = body.replace(b"checkout.session.expired", b"checkout.session.completed")
    _refused(client, tampered, signature, "signature")


@pytest.mark.parametrize("header", ["garbage", "t=notanumber,v1=abc", "v1=abc", "t=1700000000"])
def test_a_malformed_header_is_refused(client, header):
    _refused(client, event_body(), header, "signature")


@pytest.mark.parametrize("body", [b'{"id": "evt_1", "type": ', b"[1, 2, 3]", b"\xff\xfe"])
def test_a_signed_body_that_is_not_an_event_is_refused(client, body):
    _refused(client, body, stripe_signature(body), "malformed")


def test_no_configured_secret_refuses_everything(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = []
    _refused(client, event_body(), "sign", "not-configured")


def test_a_rotated_secret_is_accepted(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ["whsec_old", SECRET]
    body = event_body(event_id="evt_rotated")
    assert post_stripe(client, body).status_code == 200  # signed with the second secret
    assert WebhookEvent.objects.get().event_key == "stripe:evt_rotated"
    settings.STRIPE_WEBHOOK_SECRET = ["whsec_old"]
    assert post_stripe(client, event_body(event_id="evt_2")).status_code == 401


def test_the_same_event_twice_is_one_event_and_two_deliveries(client):
    body = event_body()
    assert post_stripe(client, body).status_code == 200
    # Stripe's redelivery carries a new timestamp and signature but the same event id.
    again = stripe_signature(body, timestamp=int(time.time()) - 5)
    assert post_stripe(client, body, again).status_code == 200
    event = WebhookEvent.objects.get()
    assert sorted(event.deliveries.values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_processing_is_enqueued_after_commit_not_during_the_request(
    client, django_capture_on_commit_callbacks
):
    # A type nobody subscribes to, so the outcome does not depend on the payments handlers.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_stripe(client, event_body("customer.created", id="cus_1", object="customer"))
    assert len(callbacks) == 1
    assert WebhookEvent.objects.get().status == EventStatus.RECEIVED
    callbacks[0]()
    assert WebhookEvent.objects.get().status == EventStatus.UNHANDLED


def test_the_known_stripe_types_can_be_subscribed_to():
    assert {
        "checkout.session.completed",
        "checkout.session.expired",
        "checkout.session.async_payment_failed",
        "payment_intent.canceled",
        "payment_intent.amount_capturable_updated",
        "charge.refunded",
    } == KNOWN_EVENT_TYPES["stripe"]


def test_get_and_oversized_bodies_are_refused(client):
    assert client.get(URL).status_code == 405
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert client.post(URL, data=huge, content_type="application/json").status_code == 413

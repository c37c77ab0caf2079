"""Hostile but well-formed-enough deliveries: deep nesting, non-finite numbers, header floods,
oversized and badly sized bodies. None may give a 500 or grow the database without bound."""

import logging

import pytest

from tests.webhooks.helpers import mdi_body, post_mdi
from tests.webhooks.test_stripe_receive import URL as STRIPE_URL
from tests.webhooks.test_stripe_receive import post_stripe, stripe_signature
from webhooks.models import DeliveryOutcome, EventStatus, Provider, WebhookDelivery, WebhookEvent
from webhooks.views import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db

DEEP_LIST = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT], ids=["list", "object"])
def test_a_signed_deeply_nested_body_is_stored_as_malformed_and_acknowledged(client, body):
    response = post_mdi(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.raw_body) == (EventStatus.MALFORMED, body)
    assert WebhookDelivery.objects.get().outcome == DeliveryOutcome.ACCEPTED


def test_a_body_nested_deeper_than_any_real_event_is_malformed_even_if_python_could_parse_it(
    client,
):
    body = b'{"event_type":"patient_created","metadata":' + b"[" * 100 + b"]" * 100 + b"}"
    assert post_mdi(client, body).status_code == 200
    assert WebhookEvent.objects.get().status == EventStatus.MALFORMED


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_non_finite_timestamp_is_stored_as_malformed_not_a_500(client, constant):
    body = b'{"event_type":"patient_created","timestamp":' + constant + b"}"
    response = post_mdi(client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.provider_timestamp) == (EventStatus.MALFORMED, None)


def test_a_huge_integer_timestamp_is_stored_without_one(client):
    response = post_mdi(client, mdi_body("patient_created", timestamp=10**400))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().provider_timestamp is None


@pytest.mark.parametrize(
    "body",
    [
        DEEP_OBJECT,
        b'{"id":"evt_1","object":"event","type":"charge.refunded","created":NaN,"data":{}}',
    ],
    ids=["deep", "nan"],
)
def test_a_signed_stripe_body_that_cannot_be_parsed_safely_is_refused_not_a_500(client, body):
    response = post_stripe(client, body)
    assert response.status_code == 401
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.failure_reason) == (
        DeliveryOutcome.UNAUTHENTICATED,
        "malformed",
    )
    assert not WebhookEvent.objects.exists()


def _flood() -> dict[str, str]:
    headers = {f"HTTP_X_JUNK_{i}": "v" * 5000 for i in range(200)}
    headers["HTTP_" + "Y" * 500] = "long name"
    headers["HTTP_COOKIE"] = "sessionid=secret"
    headers["HTTP_USER_AGENT"] = "MDI-Webhooks/1.0 " + "x" * 1000
    return headers


@pytest.mark.parametrize("signed", [True, False], ids=["accepted", "refused"])
def test_stored_headers_are_an_allow_list_bounded_in_number_names_and_values(client, signed):
    body = mdi_body("patient_created")
    extra = _flood()
    if signed:
        from tests.webhooks.helpers import AUTHORIZATION, SECRET
        from webhooks.providers import mdi_sign

        extra |= {
            "HTTP_AUTHORIZATION": AUTHORIZATION,
            "HTTP_SIGNATURE": mdi_sign(body=body, secret=SECRET),
        }
    else:
        extra |= {"HTTP_AUTHORIZATION": "Bearer wrong"}
    response = client.post("/webhooks/mdi/", data=body, content_type="application/json", **extra)
    assert response.status_code == (200 if signed else 401)
    headers = WebhookDelivery.objects.get().headers
    assert len(headers) <= 20
    assert {name.lower() for name in headers} <= {
        "content-type",
        "content-length",
        "user-agent",
        "x-forwarded-for",
        "authorization",
        "signature",
        "stripe-signature",
    }
    assert all(len(name) <= 64 and len(value) <= 200 for name, value in headers.items())
    assert headers["Authorization"] == "[redacted]"
    assert headers["User-Agent"].startswith("MDI-Webhooks/1.0")
    assert "Cookie" not in headers


@pytest.mark.parametrize(
    ("url", "provider"), [("/webhooks/mdi/", Provider.MDI), (STRIPE_URL, Provider.STRIPE)]
)
def test_an_oversized_body_is_refused_with_413_and_recorded_without_its_body(
    client, url, provider, caplog
):
    huge = b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}"
    with caplog.at_level(logging.WARNING, logger="security"):
        response = client.post(url, data=huge, content_type="application/json")
    assert response.status_code == 413
    delivery = WebhookDelivery.objects.get()
    assert (delivery.provider, delivery.outcome, delivery.body_size, delivery.event) == (
        provider,
        DeliveryOutcome.TOO_LARGE,
        len(huge),
        None,
    )
    assert not WebhookEvent.objects.exists()
    assert [r.name for r in caplog.records if str(delivery.pk) in r.getMessage()] == ["security"]


def test_every_refusal_is_logged_as_a_security_event_with_ids_and_reason_only(client, caplog):
    body = mdi_body("patient_created", secret_marker="do-not-log-me")
    with caplog.at_level(logging.WARNING, logger="security"):
        assert post_mdi(client, body, secret="wrong").status_code == 401
        assert post_stripe(client, b'{"id":"evt_x"}', signature=None).status_code == 401
    security = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert len(security) == 2
    for delivery, message in zip(WebhookDelivery.objects.order_by("pk"), security, strict=True):
        assert str(delivery.pk) in message and delivery.failure_reason in message
    assert not any("do-not-log-me" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("url", ["/webhooks/mdi/", STRIPE_URL])
@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "²"])
def test_a_non_numeric_content_length_is_a_400_not_a_500(client, url, length):
    response = client.post(
        url, data=b"{}", content_type="application/json", CONTENT_LENGTH=length,
        HTTP_STRIPE_SIGNATURE=stripe_signature(b"{}"),
    )  # fmt: skip
    assert response.status_code == 400

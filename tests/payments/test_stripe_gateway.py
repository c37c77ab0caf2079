"""StripeGateway against mocked Stripe HTTP: the exact requests it sends, what it makes of
Stripe's answers, and how each kind of Stripe failure reaches the payment service."""

import uuid
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import respx

from core.exceptions import PermanentError, TransientError
from payments.gateways import CheckoutOutcome, CheckoutSession, GatewayDeclined, payment_gateway
from payments.gateways.stripe import StripeGateway, StripeUnavailable

API = "https://api.stripe.com"
# The SDK posts its form body as a str; httpx warns about that, which is the SDK's business.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def gateway(settings) -> StripeGateway:
    settings.PAYMENTS_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_thinclinic"
    return payment_gateway()


@pytest.fixture
def stripe_api():
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(str(request.url)).query)


def error(status: int, **fields: str) -> httpx.Response:
    return httpx.Response(status, json={"error": fields})


def session_json(status: str, intent: dict | None = None) -> dict:
    return {"id": "cs_test_1", "object": "checkout.session", "status": status,
            "url": None, "payment_intent": intent}  # fmt: skip


def intent_json(status: str, *, last4: str | None = "4242") -> dict:
    charge = {"id": "ch_1", "object": "charge",
              "payment_method_details": {"type": "card", "card": {"last4": last4}}}  # fmt: skip
    return {"id": "pi_1", "object": "payment_intent", "status": status, "amount": 4900,
            "currency": "usd", "latest_charge": charge}  # fmt: skip


def test_payment_gateway_returns_the_stripe_gateway_when_configured(gateway):
    assert isinstance(gateway, StripeGateway)
    assert gateway.name == "stripe"


def test_an_unset_secret_key_is_a_configuration_error(settings):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(PermanentError):
        StripeGateway()


@pytest.mark.parametrize(
    ("success_url", "expected"),
    [
        ("https://clinic.example/pay/done/", "https://clinic.example/pay/done/?session_id={CHECKOUT_SESSION_ID}"),
        ("https://clinic.example/pay/done/?p=abc", "https://clinic.example/pay/done/?p=abc&session_id={CHECKOUT_SESSION_ID}"),
    ],
    ids=["no-query", "with-query"],
)  # fmt: skip
def test_checkout_start_creates_a_manual_capture_session(
    gateway, stripe_api, success_url, expected
):
    route = stripe_api.post("/v1/checkout/sessions").respond(
        200,
        json={"id": "cs_test_1", "object": "checkout.session", "status": "open",
              "url": "https://checkout.stripe.com/c/pay/cs_test_1"},
    )  # fmt: skip
    reference = str(uuid.uuid4())
    key = f"checkout:{reference}"

    result = gateway.checkout_start(
        payment_reference=reference,
        amount=4900,
        currency="USD",
        description="Online visit",
        success_url=success_url,
        cancel_url="https://clinic.example/pay/cancelled/",
        idempotency_key=key,
    )

    assert result == CheckoutSession("cs_test_1", "https://checkout.stripe.com/c/pay/cs_test_1")
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == "/v1/checkout/sessions"
    assert request.headers["Idempotency-Key"] == key
    assert request.headers["Authorization"] == "Bearer sk_test_thinclinic"
    assert form(request) == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "4900",
        "line_items[0][price_data][product_data][name]": "Online visit",
        "line_items[0][quantity]": "1",
        "payment_intent_data[capture_method]": "manual",
        "payment_intent_data[metadata][payment]": reference,
        "client_reference_id": reference,
        "metadata[payment]": reference,
        "success_url": expected,
        "cancel_url": "https://clinic.example/pay/cancelled/",
    }


def test_checkout_outcome_expands_the_intent_and_its_charge(gateway, stripe_api):
    route = stripe_api.get("/v1/checkout/sessions/cs_test_1").respond(
        200, json=session_json("complete", intent_json("requires_capture"))
    )

    outcome = gateway.checkout_outcome(session_id="cs_test_1")

    assert outcome == CheckoutOutcome(
        "authorized", gateway_payment_id="pi_1", amount=4900, currency="usd", card_last4="4242"
    )
    request = route.calls.last.request
    assert request.method == "GET"
    assert query(request) == [
        ("expand[0]", "payment_intent"),
        ("expand[1]", "payment_intent.latest_charge"),
    ]


@pytest.mark.parametrize(
    ("session", "status", "reason_part"),
    [
        (session_json("expired"), "failed", "expired"),
        (session_json("open"), "open", ""),
        (session_json("complete", intent_json("requires_payment_method")), "failed", "requires_payment_method"),
        (session_json("complete", intent_json("canceled")), "failed", "canceled"),
    ],
    ids=["expired", "open", "intent-not-authorized", "intent-canceled"],
)  # fmt: skip
def test_checkout_outcome_other_states(gateway, stripe_api, session, status, reason_part):
    stripe_api.get("/v1/checkout/sessions/cs_test_1").respond(200, json=session)
    outcome = gateway.checkout_outcome(session_id="cs_test_1")
    assert outcome.status == status
    assert reason_part in outcome.reason
    assert (outcome.amount, outcome.card_last4) == (0, "")
    if status == "failed":
        assert outcome.reason


def test_an_authorization_without_card_details_has_no_last4(gateway, stripe_api):
    intent = intent_json("requires_capture")
    intent["latest_charge"] = "ch_1"  # not expanded
    stripe_api.get("/v1/checkout/sessions/cs_test_1").respond(
        200, json=session_json("complete", intent)
    )
    outcome = gateway.checkout_outcome(session_id="cs_test_1")
    assert (outcome.status, outcome.card_last4) == ("authorized", "")


def test_capture_sends_the_amount_and_the_idempotency_key(gateway, stripe_api):
    route = stripe_api.post("/v1/payment_intents/pi_1/capture").respond(
        200, json={"id": "pi_1", "object": "payment_intent", "status": "succeeded"}
    )
    key = f"capture:{uuid.uuid4()}"
    assert gateway.capture(gateway_payment_id="pi_1", amount=4900, idempotency_key=key) is None
    request = route.calls.last.request
    assert (request.method, request.url.path) == ("POST", "/v1/payment_intents/pi_1/capture")
    assert form(request) == {"amount_to_capture": "4900"}
    assert request.headers["Idempotency-Key"] == key


def test_void_cancels_the_intent(gateway, stripe_api):
    route = stripe_api.post("/v1/payment_intents/pi_1/cancel").respond(
        200, json={"id": "pi_1", "object": "payment_intent", "status": "canceled"}
    )
    key = f"void:{uuid.uuid4()}"
    gateway.void(gateway_payment_id="pi_1", idempotency_key=key)
    request = route.calls.last.request
    assert (request.method, request.url.path) == ("POST", "/v1/payment_intents/pi_1/cancel")
    assert form(request) == {"cancellation_reason": "requested_by_customer"}
    assert request.headers["Idempotency-Key"] == key


def test_refund_creates_a_refund_of_the_intent(gateway, stripe_api):
    route = stripe_api.post("/v1/refunds").respond(
        200, json={"id": "re_1", "object": "refund", "status": "succeeded"}
    )
    key = f"refund:{uuid.uuid4()}"
    gateway.refund(gateway_payment_id="pi_1", amount=4900, idempotency_key=key)
    request = route.calls.last.request
    assert (request.method, request.url.path) == ("POST", "/v1/refunds")
    assert form(request) == {"payment_intent": "pi_1", "amount": "4900"}
    assert request.headers["Idempotency-Key"] == key


def test_the_sdk_never_retries_on_its_own(gateway, stripe_api):
    """Our tasks own retries: one failing call is one request, not the SDK's silent three."""
    route = stripe_api.post("/v1/payment_intents/pi_1/capture").respond(
        500, json={"error": {"type": "api_error", "message": "boom"}}
    )
    with pytest.raises(TransientError):
        gateway.capture(gateway_payment_id="pi_1", amount=1, idempotency_key="capture:x")
    assert route.call_count == 1


@pytest.mark.parametrize(
    "response",
    [
        error(500, type="api_error", message="Something went wrong on Stripe's end."),
        error(503, type="api_error", message="Unavailable"),
        error(429, type="invalid_request_error", code="rate_limit", message="Too many requests"),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
    ids=["500", "503", "429", "connection-error", "timeout"],
)
def test_outages_are_transient(gateway, stripe_api, response):
    route = stripe_api.post("/v1/payment_intents/pi_1/capture")
    if isinstance(response, Exception):
        route.side_effect = response
    else:
        route.return_value = response
    with pytest.raises(StripeUnavailable) as raised:
        gateway.capture(gateway_payment_id="pi_1", amount=4900, idempotency_key="capture:x")
    assert isinstance(raised.value, TransientError)


def test_a_card_error_is_declined_with_stripes_message(gateway, stripe_api):
    stripe_api.post("/v1/payment_intents/pi_1/capture").mock(
        return_value=error(402, type="card_error", code="card_declined",
                           decline_code="insufficient_funds", message="Your card has insufficient funds.")
    )  # fmt: skip
    with pytest.raises(GatewayDeclined) as raised:
        gateway.capture(gateway_payment_id="pi_1", amount=4900, idempotency_key="capture:x")
    assert raised.value.reason == "Your card has insufficient funds."


@pytest.mark.parametrize(
    ("path", "call", "code", "message"),
    [
        ("/v1/payment_intents/pi_1/capture", "capture", "payment_intent_unexpected_state",
         "This PaymentIntent could not be captured because it has a status of canceled."),
        ("/v1/refunds", "refund", "charge_already_refunded",
         "Charge ch_1 has already been refunded."),
    ],
    ids=["unexpected-state", "already-refunded"],
)  # fmt: skip
def test_an_operation_that_cannot_succeed_is_declined(
    gateway, stripe_api, path, call, code, message
):
    stripe_api.post(path).mock(
        return_value=error(400, type="invalid_request_error", code=code, message=message)
    )
    with pytest.raises(GatewayDeclined) as raised:
        getattr(gateway, call)(gateway_payment_id="pi_1", amount=4900, idempotency_key="k")
    assert raised.value.reason == message


@pytest.mark.parametrize(
    "response",
    [
        error(401, type="invalid_request_error", message="Invalid API Key provided: sk_test_****"),
        error(400, type="invalid_request_error", code="parameter_unknown", message="Received unknown parameter: x"),
        error(400, type="idempotency_error", message="Keys for idempotent requests can only be used with the same parameters"),
    ],
    ids=["401", "bad-parameter", "idempotency-conflict"],
)  # fmt: skip
def test_our_own_mistakes_are_permanent(gateway, stripe_api, response):
    stripe_api.post("/v1/payment_intents/pi_1/cancel").mock(return_value=response)
    with pytest.raises(PermanentError):
        gateway.void(gateway_payment_id="pi_1", idempotency_key="void:x")


def test_failures_surface_only_as_our_exception_types(gateway, stripe_api):
    """Callers never need to import stripe: nothing raised is a Stripe SDK error."""
    stripe_api.get("/v1/checkout/sessions/cs_test_1").mock(
        return_value=httpx.Response(502, content=b"<html>bad gateway</html>")
    )
    with pytest.raises(TransientError) as raised:
        gateway.checkout_outcome(session_id="cs_test_1")
    assert type(raised.value) is StripeUnavailable
    assert not type(raised.value).__module__.startswith("stripe")

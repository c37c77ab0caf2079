"""The webhook event types the cases app reacts to (registered from CasesConfig.ready)."""

from cases import mdi_client
from cases.models import MDI_CASE_EVENTS, MDI_PRESCRIPTION_EVENTS, TimelineOutcome
from cases.services.checkout import case_checkout_complete
from cases.services.mdi_events import case_apply_mdi_event, case_cancellation_lookup
from cases.services.messages import (
    ACTION_EVENTS,
    action_request_open,
    case_message_lookup,
    case_message_store,
)
from payments.gateways import CheckoutOutcome
from payments.services import payment_checkout_outcome_lookup
from webhooks.models import WebhookEvent
from webhooks.registry import webhook_handler, webhook_preparer


@webhook_preparer("mdi", ["case_cancelled"])
def on_mdi_case_cancelled_prepare(event: WebhookEvent) -> dict[str, str]:
    return case_cancellation_lookup(event=event, client=mdi_client.mdi_client())


@webhook_handler("mdi", sorted(set(MDI_CASE_EVENTS) | MDI_PRESCRIPTION_EVENTS))
def on_mdi_case_event(event: WebhookEvent) -> str:
    outcome = case_apply_mdi_event(event=event)
    if event.event_type == "case_waiting" and outcome in {"applied", TimelineOutcome.DUPLICATE}:
        # In the same transaction, after the case moved; the event's outcome stays the case's
        # (support filters events by it), so the request's own outcome is not reported.
        action_request_open(event=event)
    return outcome


@webhook_preparer("mdi", ["message_created"])
def on_mdi_message_created_prepare(event: WebhookEvent) -> dict[str, str]:
    return case_message_lookup(event=event, client=mdi_client.mdi_client())


@webhook_handler("mdi", ["message_created"])
def on_mdi_message_created(event: WebhookEvent) -> str:
    return case_message_store(event=event)


@webhook_handler("mdi", sorted(set(ACTION_EVENTS) - {"case_waiting"}))
def on_mdi_action_requested(event: WebhookEvent) -> str:
    return action_request_open(event=event)


@webhook_preparer("stripe", ["checkout.session.completed"])
def on_stripe_checkout_completed_prepare(event: WebhookEvent) -> dict[str, object]:
    return payment_checkout_outcome_lookup(session_id=event.external_id)


@webhook_handler("stripe", ["checkout.session.completed"])
def on_stripe_checkout_completed(event: WebhookEvent) -> str:
    """The paid-for visit becomes a case even if the patient never came back to us."""
    if not event.context:
        return "not our checkout"
    payment, case = case_checkout_complete(
        session_id=event.external_id, outcome=CheckoutOutcome(**event.context)
    )
    return "applied" if case is not None else f"payment {payment.status}"

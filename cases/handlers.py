"""The MDI webhook event types the cases app reacts to (registered from CasesConfig.ready)."""

from cases import mdi_client
from cases.models import MDI_CASE_EVENTS, MDI_PRESCRIPTION_EVENTS
from cases.services.mdi_events import case_apply_mdi_event, case_cancellation_lookup
from webhooks.models import WebhookEvent
from webhooks.registry import webhook_handler, webhook_preparer


@webhook_preparer("mdi", ["case_cancelled"])
def on_mdi_case_cancelled_prepare(event: WebhookEvent) -> dict[str, str]:
    return case_cancellation_lookup(event=event, client=mdi_client.mdi_client())


@webhook_handler("mdi", sorted(set(MDI_CASE_EVENTS) | MDI_PRESCRIPTION_EVENTS))
def on_mdi_case_event(event: WebhookEvent) -> str:
    return case_apply_mdi_event(event=event)

"""The MDI webhook event types the cases app reacts to (registered from CasesConfig.ready)."""

from cases.models import MDI_CASE_EVENTS, MDI_PRESCRIPTION_EVENTS
from cases.services import case_apply_mdi_event
from webhooks.models import WebhookEvent
from webhooks.registry import webhook_handler


@webhook_handler("mdi", sorted(set(MDI_CASE_EVENTS) | MDI_PRESCRIPTION_EVENTS))
def on_mdi_case_event(event: WebhookEvent) -> str:
    return case_apply_mdi_event(event=event)

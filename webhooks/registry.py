"""Domain apps subscribe to webhook event types here; webhooks never imports them.

    @webhook_handler("mdi", ["case_approved"])
    def on_mdi_case_approved(event: WebhookEvent) -> str: ...

A handler runs inside the event's processing transaction and returns a short outcome
("applied", "stale", ...). Naming a type the provider does not send raises at import time,
so a typo cannot silently subscribe to nothing.
"""

from collections.abc import Callable, Iterable

from webhooks.providers import KNOWN_EVENT_TYPES

Handler = Callable[..., str]
_HANDLERS: dict[tuple[str, str], list[Handler]] = {}


class EventNotReady(Exception):
    """The event refers to something we have not stored yet (e.g. a case whose MDI id we have
    not saved); processing is retried later instead of dropping the event."""


def webhook_handler(provider: str, event_types: Iterable[str]) -> Callable[[Handler], Handler]:
    event_types = list(event_types)
    unknown = sorted(set(event_types) - KNOWN_EVENT_TYPES[provider])
    if unknown:
        raise ValueError(f"Unknown {provider} event types: {', '.join(unknown)}")

    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            handlers = _HANDLERS.setdefault((provider, event_type), [])
            if handler not in handlers:
                handlers.append(handler)
        return handler

    return register


def handlers_for(*, provider: str, event_type: str) -> list[Handler]:
    return list(_HANDLERS.get((provider, event_type), []))

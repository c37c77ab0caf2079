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
Preparer = Callable[..., dict]
_HANDLERS: dict[tuple[str, str], list[Handler]] = {}
_PREPARERS: dict[tuple[str, str], list[Preparer]] = {}


class EventNotReady(Exception):
    """The event refers to something we have not stored yet (e.g. a case whose MDI id we have
    not saved); processing is retried later instead of dropping the event."""


def _registrar(
    table: dict[tuple[str, str], list], provider: str, event_types: Iterable[str]
) -> Callable:
    event_types = list(event_types)
    unknown = sorted(set(event_types) - KNOWN_EVENT_TYPES[provider])
    if unknown:
        raise ValueError(f"Unknown {provider} event types: {', '.join(unknown)}")

    def register(function: Callable) -> Callable:
        for event_type in event_types:
            functions = table.setdefault((provider, event_type), [])
            if function not in functions:
                functions.append(function)
        return function

    return register


def webhook_handler(provider: str, event_types: Iterable[str]) -> Callable[[Handler], Handler]:
    return _registrar(_HANDLERS, provider, event_types)


def webhook_preparer(provider: str, event_types: Iterable[str]) -> Callable[[Preparer], Preparer]:
    """A preparer looks up what an event leaves out (e.g. who cancelled a case) before the
    handlers run. It runs outside any transaction, may call the provider's API, returns a dict
    stored on the event as `context`, and raises TransientError to have the event retried."""
    return _registrar(_PREPARERS, provider, event_types)


def handlers_for(*, provider: str, event_type: str) -> list[Handler]:
    return list(_HANDLERS.get((provider, event_type), []))


def preparers_for(*, provider: str, event_type: str) -> list[Preparer]:
    return list(_PREPARERS.get((provider, event_type), []))

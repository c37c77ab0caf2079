"""Text messages behind one function, `send_sms`; the backend is the `SMS_BACKEND` setting.

No provider is wired yet: a provider is one more backend class with a `send` method that
raises `core.exceptions.TransientError` when a retry may succeed.
"""

import logging
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    reference: str


class ConsoleSmsBackend:
    """Local development: says that a text went out, never to whom or what it said (logs
    are read by more people than the patient's messages are)."""

    def send(self, *, message: SmsMessage) -> None:
        logger.info("SMS sent for %s", message.reference or "an unnamed message")


# The locmem backend's messages, newest last; tests clear it (like django.core.mail.outbox).
outbox: list[SmsMessage] = []


class LocmemSmsBackend:
    def send(self, *, message: SmsMessage) -> None:
        outbox.append(message)


@cache
def _backend(path: str) -> object:
    return import_string(path)()


def send_sms(*, to: str, body: str, reference: str = "") -> None:
    """Send one text through the configured backend. `reference` names what is sent (e.g.
    "notification 12") so a log line can say so without the number or the words."""
    _backend(settings.SMS_BACKEND).send(message=SmsMessage(to=to, body=body, reference=reference))

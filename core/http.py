"""Reading request metadata that clients control, without trusting it."""

from django.http import HttpRequest


def request_content_length(request: HttpRequest) -> int | None:
    """The declared body size: 0 when absent, None when it is not a plain decimal number.

    Django's own int() accepts "-5", " 12" and non-ASCII digits, and raises on anything else
    when the body is first read; every reader goes through here instead.
    """
    value = request.META.get("CONTENT_LENGTH") or ""
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    return int(value)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the lockouts see it: behind the proxy in production (the
    trusted X-Forwarded-For position, settings AXES_IPWARE_*), REMOTE_ADDR locally. Every log,
    audit row and delivery record uses this, never REMOTE_ADDR, which in production is the
    load balancer's address for everyone."""
    from axes.helpers import get_client_ip_address  # axes reads settings on import

    return get_client_ip_address(request) or request.META.get("REMOTE_ADDR") or None

from django.conf import settings
from django.http import HttpRequest


def brand(request: HttpRequest) -> dict[str, object]:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "MDI_SANDBOX_ENABLED": settings.MDI_SANDBOX_ENABLED,
        "SANDBOX_PAYMENTS": settings.PAYMENTS_GATEWAY == "sandbox",
    }

from django.conf import settings
from django.http import HttpRequest
from django.templatetags.static import static


def brand(request: HttpRequest) -> dict[str, object]:
    return {
        "SITE_NAME": settings.SITE_NAME,
        "BRAND_LOGO_URL": static(settings.BRAND_LOGO_URL),
        "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
        "MDI_SANDBOX_ENABLED": settings.MDI_SANDBOX_ENABLED,
        "SANDBOX_PAYMENTS": settings.PAYMENTS_GATEWAY == "sandbox",
    }

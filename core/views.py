import logging

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from cases.selectors import offerings_for_home
from core.brand import brand_stylesheet
from core.health import health_check_broker, health_check_database

logger = logging.getLogger(__name__)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"offerings": offerings_for_home()})


# Linked from every page after app.css; a day's cache is plenty for a value that changes
# only with a deploy (a changed colour shows after the cache expires or a hard reload).
@cache_control(public=True, max_age=86400)
@require_GET
def brand_css(request: HttpRequest) -> HttpResponse:
    return HttpResponse(brand_stylesheet(), content_type="text/css; charset=utf-8")


@cache_control(public=True, max_age=86400)
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG."""
    return HttpResponsePermanentRedirect(static("brand/favicon.svg"))


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: renders with a plain context (no context processors, no database), since
    whatever failed may be the database or a context processor itself."""
    try:
        context = {
            "SITE_NAME": settings.SITE_NAME,
            "SUPPORT_EMAIL": settings.SUPPORT_EMAIL,
            "app_css": static("css/app.css"),
            "logo_url": static(settings.BRAND_LOGO_URL),
            "favicon_url": static("brand/favicon.svg"),
        }
        return HttpResponseServerError(loader.get_template("500.html").render(context))
    except Exception:  # the error page must never fail itself
        logger.exception("500 page could not be rendered")
        return HttpResponseServerError(
            "Something went wrong on our side. Please try again in a few minutes.",
            content_type="text/plain; charset=utf-8",
        )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 only when the database (and the broker, if any) answer."""
    database = health_check_database()
    broker = health_check_broker()
    healthy = database is None and broker is None
    # The endpoint is public: exception names tell an attacker what runs behind it. Only the
    # log, which operations read, gets them.
    for component, reason in (("database", database), ("broker", broker)):
        if reason is not None:
            logger.warning("healthz: %s unavailable (%s)", component, reason)
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if database is None else "unavailable",
        "broker": ("unavailable" if broker else ("ok" if settings.REDIS_URL else "not configured")),
    }
    return JsonResponse(body, status=200 if healthy else 503)


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """settings.RATELIMIT_VIEW: a throttled request gets a plain 429 saying what to do."""
    return render(request, "core/ratelimited.html", status=429)

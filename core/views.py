import logging

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cases.selectors import offerings_for_home
from core.brand import brand_stylesheet
from core.health import health_check_broker, health_check_database, health_check_migrations
from core.metrics import metrics_registry

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
    """Liveness: the process answers. No dependency is asked, so a database outage makes the
    load balancer stop sending traffic (/readyz) without the orchestrator killing every web
    process over it."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness, for the load balancer: 200 only when the database and the broker (if any)
    answer and every migration is applied."""
    database = health_check_database()
    checks = {
        "database": database,
        "broker": health_check_broker(),
        # Unknowable without the database; asking would only repeat its failure.
        "migrations": health_check_migrations() if database is None else "database unavailable",
    }
    # The endpoint is public: exception names tell an attacker what runs behind it. Only the
    # log, which operations read, gets them.
    for component, reason in checks.items():
        if reason is not None:
            logger.warning("readyz: %s unavailable (%s)", component, reason)
    healthy = all(reason is None for reason in checks.values())
    broker_when_healthy = "ok" if settings.REDIS_URL else "not configured"
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if checks["database"] is None else "unavailable",
        "broker": "unavailable" if checks["broker"] else broker_when_healthy,
        "migrations": "ok" if checks["migrations"] is None else "unavailable",
    }
    return JsonResponse(body, status=200 if healthy else 503)


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """settings.RATELIMIT_VIEW: a throttled request gets a plain 429 saying what to do."""
    return render(request, "core/ratelimited.html", status=429)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of core.metrics, behind METRICS_TOKEN (see settings)."""
    token = settings.METRICS_TOKEN
    if not token:
        if not settings.DEBUG:
            raise Http404
    else:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not constant_time_compare(given, token):
            raise Http404  # no hint that anything lives here
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)

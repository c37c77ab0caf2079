from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from core import views as core_views

admin.site.site_header = f"{settings.SITE_NAME} staff"
admin.site.site_title = f"{settings.SITE_NAME} staff"
# At 1280 px the app sidebar took a quarter of the width and pushed list columns (the access
# log's object, the payment's amount) out of sight; the index and breadcrumbs remain.
admin.site.enable_nav_sidebar = False

# The 500 page renders without the request's context processors (see the view).
handler500 = "core.views.server_error"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("brand.css", core_views.brand_css, name="brand_css"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("intake/", include("intake.urls")),
    path("cases/", include("cases.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("payments/", include("payments.urls")),
    path("staff/", admin.site.urls),
]

if settings.MDI_SANDBOX_ENABLED:
    urlpatterns.append(path("mdi-sandbox/", include("mdi_sandbox.urls")))

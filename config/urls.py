from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from core import views as core_views

admin.site.site_header = f"{settings.SITE_NAME} staff"
admin.site.site_title = f"{settings.SITE_NAME} staff"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
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

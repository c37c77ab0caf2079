from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("start/", views.start, name="start"),
    path("eligibility/", views.eligibility, name="eligibility"),
    path("eligibility/waitlist/", views.waitlist, name="waitlist"),
    path("identity/", views.identity, name="identity"),
    path("photo-id/", views.photo_id, name="photo_id"),
    path("documents/<uuid:document_id>/", views.document, name="document"),
    path(
        "notifications/",
        views.notification_preferences,
        name="notification_preferences",
    ),
]

from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("sandbox/checkout/<str:session_id>/", views.sandbox_checkout, name="sandbox_checkout"),
]

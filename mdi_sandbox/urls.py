from django.urls import path  # noqa: F401

app_name = "mdi_sandbox"

urlpatterns: list = []

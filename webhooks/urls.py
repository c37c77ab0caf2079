from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("mdi/", views.mdi, name="mdi"),
    path("stripe/", views.stripe, name="stripe"),
]

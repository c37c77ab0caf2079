from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("submit/<uuid:response_id>/", views.submit, name="submit"),
    path("<uuid:case_id>/", views.detail, name="detail"),
]

from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("checkout/<uuid:response_id>/", views.checkout, name="checkout"),
    path("checkout/<uuid:response_id>/return/", views.checkout_return, name="checkout_return"),
    path("<uuid:case_id>/", views.detail, name="detail"),
]

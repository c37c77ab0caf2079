from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("checkout/<uuid:response_id>/", views.checkout, name="checkout"),
    path("checkout/<uuid:response_id>/return/", views.checkout_return, name="checkout_return"),
    path("", views.dashboard, name="dashboard"),
    path("home/", views.home, name="home"),
    path("new/", views.new_visit, name="new_visit"),
    path("<uuid:case_id>/", views.detail, name="detail"),
    path("<uuid:case_id>/status/", views.detail_status, name="detail_status"),
]

from django.urls import path

from cases import views, views_messages

app_name = "cases"

urlpatterns = [
    path("checkout/<uuid:response_id>/", views.checkout, name="checkout"),
    path("checkout/<uuid:response_id>/return/", views.checkout_return, name="checkout_return"),
    path("", views.dashboard, name="dashboard"),
    path("home/", views.home, name="home"),
    path("new/", views.new_visit, name="new_visit"),
    path("<uuid:case_id>/", views.detail, name="detail"),
    path("<uuid:case_id>/status/", views.detail_status, name="detail_status"),
    path("<uuid:case_id>/messages/", views_messages.message_send, name="message_send"),
    path(
        "<uuid:case_id>/messages/<int:message_id>/retry/",
        views_messages.message_retry,
        name="message_retry",
    ),
    path("actions/<int:action_id>/upload/", views_messages.action_upload, name="action_upload"),
]

from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("start/", views.start, name="start"),
    path("choose/<slug:slug>/", views.choose, name="choose"),
    path("<uuid:response_id>/step/<int:number>/", views.step, name="step"),
    path("<uuid:response_id>/review/", views.review, name="review"),
    path("<uuid:response_id>/complete/", views.complete, name="complete"),
    path("<uuid:response_id>/stopped/", views.stopped, name="stopped"),
]

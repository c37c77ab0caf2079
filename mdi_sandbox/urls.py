from django.urls import path

from mdi_sandbox import api, views

app_name = "mdi_sandbox"

partner = "api/v1/partner"

urlpatterns = [
    path("console/", views.console, name="console"),
    path("console/cases/<str:case_id>/act/", views.act, name="act"),
    path("console/deliver-held/", views.deliver_held, name="deliver_held"),
    path(f"{partner}/auth/token", api.token, name="token"),
    path(f"{partner}/patients", api.patients, name="patients"),
    path(f"{partner}/patients/search", api.patient_search, name="patient_search"),
    path(f"{partner}/patients/<str:patient_id>", api.patient_detail, name="patient_detail"),
    path(f"{partner}/patients/<str:patient_id>/cases", api.patient_cases, name="patient_cases"),
    path(
        f"{partner}/patients/<str:patient_id>/messages",
        api.patient_messages,
        name="patient_messages",
    ),
    path(f"{partner}/files", api.files, name="files"),
    path(f"{partner}/cases", api.cases, name="cases"),
    path(f"{partner}/cases/<str:case_id>", api.case_detail, name="case_detail"),
    path(f"{partner}/cases/<str:case_id>/cancel", api.case_cancel, name="case_cancel"),
    path(f"{partner}/cases/<str:case_id>/statuses", api.case_statuses, name="case_statuses"),
    path(f"{partner}/cases/<str:case_id>/files/<str:file_id>", api.case_file, name="case_file"),
    path(
        f"{partner}/tests/encounters/<str:case_id>/status",
        api.test_encounter_status,
        name="test_status",
    ),
    path(
        f"{partner}/tests/encounters/<str:case_id>/prescriptions",
        api.test_encounter_prescriptions,
        name="test_prescriptions",
    ),
    path(
        f"{partner}/tests/patients/<str:patient_id>/messages",
        api.test_patient_message,
        name="test_message",
    ),
]

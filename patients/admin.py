"""Support staff read identity here; every opening of a patient's record is access-logged.

The only change made here is support's correction of the state of residence and date of
birth (the patient can no longer change them once a visit is submitted); it is access-logged.
"""

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin import (
    AccessLoggedAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    address_display,
)
from core.audit import access_log_record
from core.models import AccessLogAction
from patients.forms import STATE_CHOICES
from patients.models import IdentityDocument, Patient, StateWaitlistEntry
from patients.services import patient_correct_eligibility, patient_eligibility_problems

ELIGIBILITY_FIELDS = ["state_of_residence", "date_of_birth"]
CORRECT_ELIGIBILITY = "patients.correct_eligibility"


class IdentityDocumentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = IdentityDocument
    fields = ["kind", "mime_type", "size", "created_at", "open_link"]
    readonly_fields = fields

    @admin.display(description="File")
    def open_link(self, obj: IdentityDocument) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open</a>',
            reverse("patients:document", args=[obj.public_id]),
        )


class EligibilityCorrectionForm(forms.ModelForm):
    state_of_residence = forms.ChoiceField(label="State of residence", choices=STATE_CHOICES)
    date_of_birth = forms.DateField(label="Date of birth", help_text="YYYY-MM-DD")

    class Meta:
        model = Patient
        fields = ELIGIBILITY_FIELDS

    def clean(self) -> dict:
        data = super().clean()
        if data.get("state_of_residence") and data.get("date_of_birth"):
            for problem in patient_eligibility_problems(
                state=data["state_of_residence"], date_of_birth=data["date_of_birth"]
            ):
                self.add_error(None, problem)
        return data


@admin.register(Patient)
class PatientAdmin(AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # Lists show only non-identifying columns; names appear on the (logged) detail page.
    list_display = [
        "public_id",
        "user",
        "state_of_residence",
        "created_at",
        "identity_completed_at",
    ]
    list_filter = ["state_of_residence"]
    search_fields = ["user__email", "public_id"]
    list_select_related = ["user"]
    fields = [
        "public_id", "user", "state_of_residence", "date_of_birth", "legal_first_name",
        "legal_last_name", "sex_at_birth", "phone", "shipping_address_display",
        "eligibility_confirmed_at", "identity_completed_at", "mdi_patient_id",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [IdentityDocumentInline]
    form = EligibilityCorrectionForm

    def accessed_patient_user_id(self, obj: Patient) -> int:
        return obj.user_id

    @admin.display(description="Shipping address")
    def shipping_address_display(self, obj: Patient) -> str:
        return address_display(obj.shipping_address)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(CORRECT_ELIGIBILITY)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        if obj is not None and self.has_change_permission(request, obj):
            return [name for name in self.fields if name not in ELIGIBILITY_FIELDS]
        return self.fields

    def save_model(
        self, request: HttpRequest, obj: Patient, form: forms.ModelForm, change: bool
    ) -> None:
        if not form.has_changed():
            return
        # The form checked the same rules; the service checks again and raises (a 500, not a
        # silent save) only if they changed in between.
        patient_correct_eligibility(
            patient=obj,
            state=form.cleaned_data["state_of_residence"],
            date_of_birth=form.cleaned_data["date_of_birth"],
        )
        access_log_record(
            request=request, obj=obj, action=AccessLogAction.CHANGE, patient_user_id=obj.user_id
        )


@admin.register(StateWaitlistEntry)
class StateWaitlistEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["state", "email", "created_at"]
    list_filter = ["state"]

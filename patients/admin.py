"""Support staff read identity here; every opening of a patient's record is access-logged."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import AccessLoggedAdminMixin, ReadOnlyAdminMixin, ReadOnlyInlineMixin
from patients.models import IdentityDocument, Patient, StateWaitlistEntry


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
        "legal_last_name", "sex_at_birth", "phone", "shipping_address",
        "eligibility_confirmed_at", "identity_completed_at", "mdi_patient_id",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [IdentityDocumentInline]

    def accessed_patient_user_id(self, obj: Patient) -> int:
        return obj.user_id


@admin.register(StateWaitlistEntry)
class StateWaitlistEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["state", "email", "created_at"]
    list_filter = ["state"]

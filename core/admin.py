from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from core.audit import access_log_record
from core.models import AccessLog
from core.roles import VIEW_CLINICAL_ANSWERS


class ReadOnlyAdminMixin:
    """For logs: visible to those allowed, never added, changed or deleted through admin."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInlineMixin:
    """Inlines that show related rows and never add, change or delete them."""

    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ClinicalFieldsAdminMixin:
    """Fields named in `clinical_fields` show only to staff who may read clinical answers.

    Without the permission the fields are left out of the page entirely (not blanked), so
    neither the change view nor a crafted request renders them.
    """

    clinical_fields: tuple[str, ...] = ()

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        fields = list(super().get_fields(request, obj))
        if request.user.has_perm(VIEW_CLINICAL_ANSWERS):
            return fields
        return [name for name in fields if name not in self.clinical_fields]


class AccessLoggedAdminMixin:
    """Every successful opening of an object's page is written to the access log.

    Subclasses say whose data it is by overriding `accessed_patient_user_id`.
    """

    def accessed_patient_user_id(self, obj: models.Model) -> int | None:
        return None

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, object_id)
        if obj is not None and response.status_code == 200:
            access_log_record(
                request=request, obj=obj, patient_user_id=self.accessed_patient_user_id(obj)
            )
        return response


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "patient_user_id",
        "ip_address",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "at"

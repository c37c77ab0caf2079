from django.contrib import admin
from django.http import HttpRequest

from core.models import AccessLog


class ReadOnlyAdminMixin:
    """For logs: visible to those allowed, never added, changed or deleted through admin."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


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

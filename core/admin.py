import csv
import json
import re

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from core.audit import access_log_record, access_log_record_many
from core.models import AccessLog, AccessLogAction, PurgeLog, SecurityEvent
from core.roles import VIEW_CLINICAL_ANSWERS
from core.security import username_digest

EMPTY = "-"


def address_display(address: dict | None) -> SafeString | str:
    """A postal address as people read it, one line each, instead of a Python dict."""
    if not address:
        return EMPTY
    city_line = " ".join(
        part
        for part in (
            ", ".join(p for p in (address.get("city"), address.get("state")) if p),
            address.get("zip") or "",
        )
        if part
    )
    lines = [address.get("line1"), address.get("line2"), city_line]
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines if line))


def _breakable(text: str) -> SafeString:
    """Text with optional line-break points (<wbr>) after ".", ":" and "_"."""
    parts = re.split(r"(?<=[.:_])", text)
    return format_html_join(mark_safe("<wbr>"), "{}", ((part,) for part in parts))


def mapping_display(value: object) -> SafeString | str:
    """Structured data for staff: a key/value list, nested values as compact JSON text."""
    if not value:
        return EMPTY
    if not isinstance(value, dict):
        return format_html('<span class="mapping-value">{}</span>', json.dumps(value))
    rows = (
        (key, item if isinstance(item, str) else json.dumps(item, sort_keys=True))
        for key, item in sorted(value.items())
    )
    return format_html(
        '<dl class="mapping">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows)
    )


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
    """Every successful opening of an object's page is written to the access log, and so is
    every list page: one row per object shown, with its patient. One row for "a list was
    seen" would not answer a patient's "who saw my data?"; a row per listed object does, and
    bulk_create keeps it to one INSERT per page.

    Subclasses say whose data it is by overriding `accessed_patient_user_id` (its lookups
    belong in `list_select_related`), and may set `log_changelist = False` for a list that
    shows no patient data.
    """

    log_changelist = True

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

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if self.log_changelist and response.status_code == 200 and changelist is not None:
            # Iterating fills the page's result cache, which the template then reuses.
            access_log_record_many(
                request=request,
                model=self.model,
                seen=[
                    (obj.pk, self.accessed_patient_user_id(obj)) for obj in changelist.result_list
                ],
            )
        return response


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Support answers "who saw my data?" and "what did this staff member open?" here.
    Search by an email (the staff member's, or the patient's: both match), a patient's user
    id, or an object id; filter by action, object type and role, or ?patient_user_id=<id>."""

    list_display = [
        "at",
        "actor",
        "role",
        "action",
        "object_shown",
        "patient_user_id",
        "screen_shown",
        "ip_address",
    ]
    list_filter = ["action", "object_type", "role"]
    search_fields = ["object_id", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    actions = ["export_csv"]

    # One column for what was opened, and line-break points in the long screen names, so the
    # list fits 1280 px without breaking words mid-way.
    @admin.display(description="Object", ordering="object_type")
    def object_shown(self, obj: AccessLog) -> SafeString:
        return _breakable(f"{obj.object_type} #{obj.object_id}")

    @admin.display(description="Screen", ordering="screen")
    def screen_shown(self, obj: AccessLog) -> SafeString:
        return _breakable(obj.screen)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit():
            found |= queryset.filter(patient_user_id=int(term))
        elif "@" in term:
            users = get_user_model().objects.filter(email__iexact=term)
            patient_ids = list(users.values_list("pk", flat=True))
            found |= queryset.filter(patient_user_id__in=patient_ids)
        return found, may_have_duplicates

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        rows = list(queryset.select_related("actor").order_by("at", "pk"))
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="access-log.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for entry in rows:
            writer.writerow(
                [
                    entry.at.isoformat(),
                    entry.actor.email if entry.actor else "",
                    entry.role,
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.patient_user_id or "",
                    entry.screen,
                    entry.path,
                    entry.ip_address or "",
                ]
            )
        # The export is itself an access: one entry per patient whose history left the system.
        patients = sorted({e.patient_user_id for e in rows if e.patient_user_id is not None})
        access_log_record_many(
            request=request,
            model=AccessLog,
            seen=[("export", patient) for patient in patients] or [("export", None)],
            action=AccessLogAction.EXPORT,
        )
        return response


CSV_COLUMNS = [
    "at",
    "actor_email",
    "role",
    "action",
    "object_type",
    "object_id",
    "patient_user_id",
    "screen",
    "path",
    "ip_address",
]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "kind", "user", "ip_address", "path", "detail", "username_hash"]
    list_filter = ["kind"]
    search_fields = ["user__email", "=ip_address", "detail"]
    list_select_related = ["user"]
    date_hierarchy = "at"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """An email also finds the failed sign-ins typed with it (stored only as its hash)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if digest := username_digest(search_term):
            found |= queryset.filter(username_hash=digest)
        return found, may_have_duplicates


@admin.register(PurgeLog)
class PurgeLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "kind", "cutoff", "rows", "files"]
    list_filter = ["kind"]
    date_hierarchy = "at"

"""Support reads cases and their timelines; nothing here changes clinical state."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from cases.models import (
    Case,
    CaseTimelineEntry,
    DuplicateMdiCase,
    Notification,
    Offering,
    Prescription,
    TimelineOutcome,
)
from cases.services.notifications import notification_retry
from cases.services.submission import case_submission_retry
from core.admin import (
    AccessLoggedAdminMixin,
    ClinicalFieldsAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
)
from intake.admin import response_answers_html
from webhooks import admin as webhooks_admin
from webhooks.models import WebhookEvent


class TimelineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = CaseTimelineEntry
    fields = [
        "occurred_at",
        "received_at",
        "event_type",
        "subject",
        "outcome",
        "from_status",
        "to_status",
        "note",
        "event",
    ]
    readonly_fields = fields
    ordering = ["occurred_at", "received_at", "pk"]


class DuplicateMdiCaseInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DuplicateMdiCase
    fields = ["mdi_case_id", "found_by", "created_at", "cancelled_at", "cancel_error"]
    readonly_fields = fields
    verbose_name_plural = "duplicate MDI cases (never applied; cancelled at MDI)"


class PrescriptionInline(ReadOnlyInlineMixin, admin.StackedInline):
    model = Prescription
    fields = ["status", "mdi_order_status", "tracking_number", "carrier", "updated_at"]
    readonly_fields = fields


class NotificationInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Notification
    fields = ["kind", "channel", "status", "attempts", "last_error", "created_at", "sent_at"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    verbose_name_plural = "notifications to the patient (retry from the notification list)"


@admin.register(Case)
class CaseAdmin(
    ClinicalFieldsAdminMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = [
        "public_id",
        "status",
        "submission_status",
        "mdi_case_id",
        "patient",
        "created_at",
    ]
    list_filter = ["status", "submission_status"]
    actions = ["retry_submission"]
    search_fields = ["public_id", "mdi_case_id", "patient__user__email"]
    list_select_related = ["patient"]
    readonly_fields = [
        "public_id",
        "patient",
        "mdi_case_id",
        "status",
        "decline_reason",
        "cancelled_by",
        "submission_status",
        "submission_attempts",
        "submission_error",
        "submission_next_attempt_at",
        "submission_lease_expires_at",
        "submitted_at",
        "duplicate_mdi_case_events",
        "created_at",
        "updated_at",
        "intake_response",
        "intake_answers",
    ]
    fields = readonly_fields
    clinical_fields = ("intake_answers",)
    inlines = [PrescriptionInline, NotificationInline, DuplicateMdiCaseInline, TimelineInline]

    @admin.display(description="Events naming a duplicate MDI case")
    def duplicate_mdi_case_events(self, obj: Case) -> int:
        return obj.timeline.filter(outcome=TimelineOutcome.DUPLICATE_MDI_CASE).count()

    @admin.display(description="Intake answers")
    def intake_answers(self, obj: Case) -> SafeString | str:
        return response_answers_html(obj.intake_response) if obj.intake_response_id else "-"

    def accessed_patient_user_id(self, obj: Case) -> int:
        return obj.patient.user_id

    def has_retry_submission_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.retry_case_submission")

    @admin.action(
        description="Retry sending to MDI (safe to repeat)", permissions=["retry_submission"]
    )
    def retry_submission(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = sum(case_submission_retry(case=case) for case in queryset)
        self.message_user(
            request,
            f"{queued} case(s) queued to send. Cases already sent or being sent are left as "
            "they are.",
            messages.SUCCESS,
        )


@admin.register(DuplicateMdiCase)
class DuplicateMdiCaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Support's list of MDI cases that duplicated a visit: each is cancelled at MDI."""

    list_display = ["mdi_case_id", "case", "found_by", "created_at", "cancelled_at", "cancel_error"]
    list_filter = ["found_by", ("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = ["mdi_case_id", "case__public_id", "case__mdi_case_id"]
    list_select_related = ["case"]
    readonly_fields = [
        "case",
        "mdi_case_id",
        "found_by",
        "created_at",
        "cancelled_at",
        "cancel_attempts",
        "cancel_error",
        "next_cancel_attempt_at",
    ]
    fields = readonly_fields


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "mdi_offering_id",
        "questionnaire_slug",
        "price_minor",
        "currency",
        "is_active",
    ]
    list_filter = ["is_active", "questionnaire_slug"]


@admin.register(Notification)
class NotificationAdmin(AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Support's view of what the patient was told and whether it reached them."""

    list_display = ["key", "case", "kind", "channel", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["key", "case__public_id", "case__patient__user__email"]
    list_select_related = ["case__patient"]
    actions = ["retry_sending"]
    readonly_fields = [
        "case",
        "key",
        "kind",
        "channel",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    fields = readonly_fields

    def accessed_patient_user_id(self, obj: Notification) -> int:
        return obj.case.patient.user_id

    def has_retry_sending_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.retry_notification")

    @admin.action(description="Retry sending (safe to repeat)", permissions=["retry_sending"])
    def retry_sending(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = sum(notification_retry(notification=n) for n in queryset)
        self.message_user(
            request,
            f"{queued} notification(s) queued to send. Those already sent are left as they are.",
            messages.SUCCESS,
        )


def _case_timeline_panel(event: WebhookEvent) -> SafeString:
    """On a webhook event's page: the whole timeline of the case it belongs to."""
    case = Case.objects.filter(timeline__event=event).first() or (
        Case.objects.filter(mdi_case_id=event.external_id).first() if event.external_id else None
    )
    entries = (
        case.timeline.select_related("event").order_by("occurred_at", "received_at", "pk")
        if case
        else []
    )
    # render_to_string returns autoescaped, safe HTML.
    return render_to_string("admin/cases/event_case_panel.html", {"case": case, "entries": entries})


def _event_patient_user_id(event: WebhookEvent) -> int | None:
    """The patient of the case an event belongs to, for the access log of its payload."""
    case = Case.objects.filter(timeline__event=event).select_related("patient").first() or (
        Case.objects.filter(mdi_case_id=event.external_id).select_related("patient").first()
        if event.external_id
        else None
    )
    return case.patient.user_id if case else None


def _events_for_case_search(term: str) -> QuerySet:
    """Support searches the event log by our case id or the patient's email."""
    cases = Case.objects.filter(public_id__iexact=term) if len(term) == 36 else Case.objects.none()
    cases = cases | Case.objects.filter(patient__user__email__iexact=term)
    ids = [c for c in cases.values_list("mdi_case_id", flat=True) if c]
    return WebhookEvent.objects.filter(external_id__in=ids)


webhooks_admin.EVENT_DETAIL_PANELS.append(_case_timeline_panel)
webhooks_admin.EVENT_SEARCHES.append(_events_for_case_search)
webhooks_admin.EVENT_PATIENT_FINDERS.append(_event_patient_user_id)
webhooks_admin.EVENT_OUTCOME_LABELS[TimelineOutcome.DUPLICATE_MDI_CASE] = "Duplicate MDI case"

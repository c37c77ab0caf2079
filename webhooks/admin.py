"""Support's view of the raw webhook log: read-only, searchable, access-logged payloads."""

import json
from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import (
    AccessLoggedAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    mapping_display,
)
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.providers import UnsafeJson, load_json
from webhooks.services import webhook_event_mark_resolved, webhook_event_reprocess

# Domain apps add panels to the event page (e.g. the linked case's timeline) without
# webhooks importing them: each takes an event and returns HTML.
EVENT_DETAIL_PANELS: list[Callable[[WebhookEvent], SafeString]] = []


# Domain apps say whose data an event is (e.g. the patient of the case it names), so opening
# its payload is access-logged against that patient. The first answer that is not None wins.
EVENT_PATIENT_FINDERS: list[Callable[[WebhookEvent], int | None]] = []


# Domain apps name their handlers' outcomes for the outcome filter ("duplicate MDI case").
EVENT_OUTCOME_LABELS: dict[str, str] = {}


class OutcomeFilter(admin.SimpleListFilter):
    """What the handlers made of an event (e.g. "stale", or a duplicate MDI case)."""

    title = "handler outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        notes = (
            WebhookEvent.objects.exclude(outcome_note="")
            .order_by("outcome_note")
            .values_list("outcome_note", flat=True)
            .distinct()[:50]
        )
        return [(note, EVENT_OUTCOME_LABELS.get(note, note.replace("_", " "))) for note in notes]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(outcome_note=self.value()) if self.value() else queryset


class DeliveryInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = WebhookDelivery
    fields = ["received_at", "outcome", "client_ip", "failure_reason"]
    readonly_fields = fields


@admin.register(WebhookEvent)
class WebhookEventAdmin(
    AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):  # payloads are PHI
    class Media:
        # A stylesheet, not a style attribute: the Content-Security-Policy refuses inline styles.
        css = {"all": ["css/admin.css"]}

    # The list shows routing columns only (type, status, MDI's id); payloads are on the page.
    log_changelist = False
    list_display = [
        "received_at",
        "provider",
        "event_type",
        "status",
        "external_id",
        "occurred_at",
        "attempts",
    ]
    list_filter = ["provider", "status", OutcomeFilter, "event_type"]
    search_fields = ["event_key", "external_id", "reference"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "provider", "event_type", "event_key", "status", "occurred_at", "received_at",
        "processed_at", "attempts", "next_attempt_at", "external_id", "reference",
        "outcome_note", "last_error", "body_pruned_at", "payload", "related",
    ]  # fmt: skip
    fields = readonly_fields
    inlines = [DeliveryInline]
    actions = ["reprocess", "mark_resolved"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple:
        """Also find events by the patient's email or our case id, through the panels' owners."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        for finder in EVENT_SEARCHES:
            queryset |= finder(search_term)
        return queryset, may_have_duplicates

    def accessed_patient_user_id(self, obj: WebhookEvent) -> int | None:
        for finder in EVENT_PATIENT_FINDERS:
            if (patient_user_id := finder(obj)) is not None:
                return patient_user_id
        return None

    @admin.display(description="Payload (decrypted)")
    def payload(self, obj: WebhookEvent) -> str:
        if obj.body_pruned_at is not None:
            return f"Removed on {obj.body_pruned_at:%Y-%m-%d} (retention period ended)."
        try:
            text = json.dumps(load_json(obj.raw_body), indent=2, sort_keys=True)
        except UnsafeJson:  # malformed, non-finite or too deep to pretty-print safely
            text = obj.raw_body.decode("utf-8", "replace")
        return format_html('<pre class="payload-text">{}</pre>', text)

    @admin.display(description="Related")
    def related(self, obj: WebhookEvent) -> SafeString:
        return format_html(
            "".join("{}" for _ in EVENT_DETAIL_PANELS),
            *[panel(obj) for panel in EVENT_DETAIL_PANELS],
        )

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.reprocess_webhookevent")

    @admin.action(description="Reprocess (safe to repeat)", permissions=["reprocess"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet) -> None:
        for event in queryset:
            webhook_event_reprocess(event=event)
        self.message_user(
            request, f"{queryset.count()} event(s) sent for processing.", messages.SUCCESS
        )

    @admin.action(description="Mark resolved", permissions=["reprocess"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet) -> None:
        for event in queryset:
            webhook_event_mark_resolved(event=event, note=f"resolved by {request.user}")
        self.message_user(
            request, "Marked resolved (processed events are left as they are).", messages.SUCCESS
        )


EVENT_SEARCHES: list[Callable[[str], QuerySet]] = []


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "provider", "outcome", "failure_reason", "client_ip", "event"]
    list_filter = ["provider", "outcome"]
    list_select_related = ["event"]
    readonly_fields = [
        "provider",
        "received_at",
        "client_ip",
        "headers_display",
        "body_size",
        "outcome",
        "failure_reason",
        "event",
    ]
    fields = readonly_fields

    # Headers (secrets already redacted) as "Name: value" rows, not a Python dict.
    @admin.display(description="Headers")
    def headers_display(self, obj: WebhookDelivery) -> str:
        return mapping_display(obj.headers)

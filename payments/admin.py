"""Support reads payments (read-only) and can refund a charge, after confirming, once."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.admin import AccessLoggedAdminMixin, ReadOnlyAdminMixin, ReadOnlyInlineMixin
from payments.models import Payment, PaymentHistory, PaymentStatus
from payments.services import payment_refund


class HistoryInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PaymentHistory
    fields = ["created_at", "from_status", "to_status", "note"]
    readonly_fields = fields


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [
            ("capture_failed", "Capture failed"),
            ("hold_expiring", "Hold expiring"),
            ("release_failed", "Release or refund failed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "capture_failed":
            return queryset.filter(capture_failed_at__isnull=False, status=PaymentStatus.AUTHORIZED)
        if self.value() == "hold_expiring":
            return queryset.filter(
                hold_expiry_flagged_at__isnull=False, status=PaymentStatus.AUTHORIZED
            )
        if self.value() == "release_failed":
            return queryset.exclude(release_error="")
        return queryset


@admin.register(Payment)
class PaymentAdmin(AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # Fits 1280 px: the gateway and a failed capture are filters (and on the page), not columns.
    list_display = [
        "public_id",
        "status",
        "amount_shown",
        "card_last4",
        "authorized_at",
        "captured_at",
        "hold_expires_at",
    ]
    list_filter = ["status", NeedsAttentionFilter, "gateway"]
    search_fields = ["public_id", "gateway_payment_id", "checkout_session_id"]
    list_select_related = ["patient"]
    readonly_fields = [
        "public_id", "status", "amount", "currency", "gateway", "card_last4",
        "checkout_session_id", "checkout_attempts", "gateway_payment_id", "failure_reason",
        "authorized_at", "hold_expires_at", "hold_expiry_flagged_at", "capture_requested_at",
        "capture_attempts", "capture_error", "capture_failed_at", "captured_at",
        "release_requested_at", "release_error", "released_at", "refunded_at", "created_at",
    ]  # fmt: skip
    fields = readonly_fields
    inlines = [HistoryInline]
    actions = ["refund"]

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, obj: Payment) -> str:
        return obj.amount_display

    def accessed_patient_user_id(self, obj: Payment) -> int:
        return obj.patient.user_id

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.refund_payment")

    @admin.action(
        description="Refund (asks for confirmation; safe to repeat)", permissions=["refund"]
    )
    def refund(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/payments/refund_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Refund these payments?",
                    "payments": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for payment in queryset:
            outcome = payment_refund(payment=payment, by=str(request.user))
            self.message_user(
                request,
                f"{payment.public_id}: {outcome}",
                messages.SUCCESS if outcome == "refunded" else messages.INFO,
            )
        return None

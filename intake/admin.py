"""Admin for medical advisors: edit drafts, publish, clone, retire, preview and diff.

A published or retired version shows read-only (no change/add/delete permission on it or its
items); the model layer refuses such writes anyway, so a crafted POST cannot get through.
"""

from adminsortable2.admin import SortableAdminBase, SortableInlineAdminMixin
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import (
    AccessLoggedAdminMixin,
    ClinicalFieldsAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
)
from core.exceptions import DomainError
from intake.models import (
    AnswerOption,
    EnableWhen,
    Item,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    VersionStatus,
)
from intake.rendering import step_fields
from intake.selectors import questionnaire_response_snapshot, questionnaire_response_stop_question
from intake.services import (
    questionnaire_version_create_draft_from,
    questionnaire_version_diff,
    questionnaire_version_problems,
    questionnaire_version_publish,
    questionnaire_version_retire,
)
from intake.structure import version_structure_load
from intake.validation import validate_step


def _step_number(raw: str | None, *, count: int) -> int:
    """The preview's ?step=, from the address bar: anything but a step that exists is step 1."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= count:
        return int(raw)
    return 1


def _is_draft(obj: object) -> bool:
    version = obj if isinstance(obj, QuestionnaireVersion) else getattr(obj, "version", None)
    return version is None or version.status == VersionStatus.DRAFT


class FrozenUnlessDraftMixin:
    """Edit rights exist only while the version is a draft."""

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or _is_draft(obj))

    def has_add_permission(self, request: HttpRequest, *obj: object) -> bool:
        # ModelAdmin passes no object; an inline passes its parent.
        return super().has_add_permission(request, *obj) and (
            not obj or obj[0] is None or _is_draft(obj[0])
        )

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or _is_draft(obj))


class VersionInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = QuestionnaireVersion
    fields = ["version", "title", "status", "published_at", "retired_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "url", "minimum_age"]
    search_fields = ["title", "slug"]
    inlines = [VersionInline]


class ItemInline(FrozenUnlessDraftMixin, SortableInlineAdminMixin, admin.TabularInline):
    model = Item
    fk_name = "version"
    fields = [
        "order",
        "link_id",
        "type",
        "parent",
        "prefix",
        "text",
        "required",
        "is_important_for_clinician",
    ]
    extra = 0
    show_change_link = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            version_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Item.objects.filter(version_id=version_id, type="group")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(FrozenUnlessDraftMixin, SortableAdminBase, admin.ModelAdmin):
    list_display = ["questionnaire", "version", "title", "status", "published_at", "preview_link"]
    list_filter = ["status", "questionnaire"]
    list_select_related = ["questionnaire"]
    readonly_fields = ["status", "published_at", "retired_at", "created_from"]
    fields = ["questionnaire", "version", "title", "description", *readonly_fields]
    inlines = [ItemInline]
    actions = ["publish_versions", "create_drafts", "retire_versions"]
    change_form_template = "admin/intake/questionnaireversion/change_form.html"

    @admin.display(description="Preview")
    def preview_link(self, obj: QuestionnaireVersion) -> str:
        return format_html(
            '<a href="{}">Preview</a>',
            reverse("admin:intake_questionnaireversion_preview", args=[obj.pk]),
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/preview/",
                view(self.preview_view),
                name="intake_questionnaireversion_preview",
            ),
            path("<int:pk>/diff/", view(self.diff_view), name="intake_questionnaireversion_diff"),
            *super().get_urls(),
        ]

    def _run(self, request: HttpRequest, queryset: QuerySet, service: object, done: str) -> None:
        for version in queryset:
            try:
                result = service(version=version)
            except DomainError as exc:
                self.message_user(request, f"{version}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{result}: {done}", messages.SUCCESS)

    @admin.action(description="Publish (serve to new intakes)", permissions=["publish"])
    def publish_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, questionnaire_version_publish, "published")

    @admin.action(description="New draft from this version", permissions=["publish"])
    def create_drafts(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, questionnaire_version_create_draft_from, "draft created")

    @admin.action(description="Retire", permissions=["publish"])
    def retire_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, questionnaire_version_retire, "retired")

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("intake.change_questionnaireversion")

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The intake exactly as a patient sees it, one step at a time. Nothing is saved:
        a POST only runs the validator and shows its verdict."""
        version = get_object_or_404(
            QuestionnaireVersion.objects.select_related("questionnaire"), pk=pk
        )
        structure = version_structure_load(version=version)
        if not structure.steps:
            self.message_user(
                request, "This version has no steps to preview yet.", messages.WARNING
            )
            return redirect("admin:intake_questionnaireversion_change", pk)
        index = _step_number(request.GET.get("step"), count=len(structure.steps))
        step = structure.steps[index - 1]
        is_post = request.method == "POST"
        raw = {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"}
        result = validate_step(structure=structure, step_link_id=step.link_id, raw=raw, prior={})
        context = {
            "preview": True,
            "version": version,
            "step": step,
            "step_number": index,
            "step_count": len(structure.steps),
            "fields": step_fields(
                structure=structure,
                step_link_id=step.link_id,
                values=raw,
                errors=result.errors if is_post else {},
            ),
            "errors": result.errors if is_post else {},
            "preview_verdict": result if is_post else None,
            "back_url": f"?step={index - 1}" if index > 1 else None,
            "next_url": f"?step={index + 1}" if index < len(structure.steps) else None,
            "problems": questionnaire_version_problems(version=version),
        }
        return render(request, "intake/response_step.html", context)

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        after = get_object_or_404(QuestionnaireVersion, pk=pk)
        others = QuestionnaireVersion.objects.filter(
            questionnaire_id=after.questionnaire_id
        ).exclude(pk=pk)
        against_id = request.GET.get("against") or (after.created_from_id or "")
        before = others.filter(pk=against_id).first() if str(against_id).isdigit() else None
        diff = questionnaire_version_diff(before=before, after=after) if before else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Changes in {after}",
            "version": after,
            "others": others,
            "before": before,
            "diff": diff,
            "opts": self.model._meta,
        }
        return render(request, "admin/intake/questionnaireversion/diff.html", context)


class AnswerOptionInline(FrozenUnlessDraftMixin, SortableInlineAdminMixin, admin.TabularInline):
    model = AnswerOption
    fields = [
        "order", "code", "display", "kind", "system", "initial_selected",
        "is_exclusive", "ordinal_value", "item_weight",
    ]  # fmt: skip
    extra = 0


class EnableWhenInline(FrozenUnlessDraftMixin, admin.TabularInline):
    model = EnableWhen
    fields = ["question", "operator", "answer"]
    extra = 0


@admin.register(Item)
class ItemAdmin(FrozenUnlessDraftMixin, SortableAdminBase, admin.ModelAdmin):
    list_display = ["link_id", "text", "type", "version"]
    list_filter = ["type", "version__questionnaire", "version__status"]
    list_select_related = ["version__questionnaire"]
    search_fields = ["link_id", "text"]
    inlines = [AnswerOptionInline, EnableWhenInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "version",
                    "parent",
                    "link_id",
                    "type",
                    "prefix",
                    "text",
                    "help_text",
                    "required",
                ]
            },
        ),
        (
            "Constraints",
            {
                "fields": [
                    "repeats",
                    "min_value",
                    "max_value",
                    "max_length",
                    "allowed_mime_types",
                    "max_file_size",
                ]
            },
        ),
        (
            "Display and defaults",
            {
                "fields": [
                    "item_control",
                    "entry_format",
                    "initial",
                    "read_only",
                    "is_hidden",
                    "units",
                    "codes",
                ]
            },
        ),
        ("Conditional display", {"fields": ["enable_behavior"]}),
        (
            "Clinical",
            {
                "fields": [
                    "is_important_for_clinician",
                    "disqualifying_answer",
                    "disqualifying_explanation",
                ]
            },
        ),
        (
            # FHIRPath (docs/fhir-expressions.md); checked again when the version is published.
            "Scores and expressions",
            {
                "fields": [
                    "calculated_expression",
                    "enable_when_expression",
                    "variables",
                    "score_bands",
                ]
            },
        ),
    ]


def response_answers_html(response: QuestionnaireResponse) -> SafeString:
    """A response's answers as the patient saw them; shown only where clinical_fields allow."""
    return render_to_string(
        "admin/intake/response_answers.html",
        {"answers": questionnaire_response_snapshot(response=response)},
    )


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(
    ClinicalFieldsAdminMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """Support sees that an intake exists and where it stands; its answers and the question
    that stopped it need the clinical answers permission (core.roles.VIEW_CLINICAL_ANSWERS)."""

    list_display = ["public_id", "patient", "version", "status", "created_at", "stopped_at"]
    list_filter = ["status", "version__questionnaire"]
    search_fields = ["public_id", "patient__user__email"]
    list_select_related = ["patient", "version__questionnaire"]
    fields = [
        "public_id", "patient", "version", "status", "created_at", "completed_at",
        "stopped_at", "stopped_at_question", "answers_as_shown",
    ]  # fmt: skip
    readonly_fields = fields
    clinical_fields = ("stopped_at_question", "answers_as_shown")

    def accessed_patient_user_id(self, obj: QuestionnaireResponse) -> int:
        return obj.patient.user_id

    @admin.display(description="Stopped at the question")
    def stopped_at_question(self, obj: QuestionnaireResponse) -> str:
        return questionnaire_response_stop_question(response=obj)

    @admin.display(description="Answers")
    def answers_as_shown(self, obj: QuestionnaireResponse) -> SafeString:
        return response_answers_html(obj)

"""The questionnaire engine's data: versioned, FHIR-shaped question objects and responses.

A QuestionnaireVersion is draft -> published -> retired (FHIR draft/active/retired). Once a
version leaves draft its wording, options, rules and order are frozen: every write path
(instance save/delete, QuerySet update/delete, bulk_create/bulk_update) refuses changes to
rows that belong to a non-draft version. Advisors change a questionnaire by cloning the
published version into a new draft (intake.services.questionnaire_version_create_draft_from).
"""

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from core.exceptions import DomainError
from core.fields import EncryptedJSONField, EncryptedTextField, PrivateFileNameField
from core.models import TimeStampedModel


class ImmutableVersionError(DomainError):
    """A write touched a published or retired questionnaire version."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "This questionnaire version is published or retired and cannot be changed. "
            "Create a new draft from it instead."
        )


class Questionnaire(TimeStampedModel):
    """The stable identity of a questionnaire across its versions (FHIR `url`)."""

    slug = models.SlugField(max_length=80, unique=True)
    url = models.URLField("canonical URL", max_length=255, unique=True)
    title = models.CharField(max_length=200)
    # The youngest patient this questionnaire may serve; blank uses MINIMUM_PATIENT_AGE.
    minimum_age = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def effective_minimum_age(self) -> int:
        return max(self.minimum_age or 0, settings.MINIMUM_PATIENT_AGE)


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


def _require_draft_versions(version_ids: Iterable[int | None]) -> None:
    ids = {pk for pk in version_ids if pk is not None}
    if (
        ids
        and QuestionnaireVersion.objects.filter(pk__in=ids)
        .exclude(status=VersionStatus.DRAFT)
        .exists()
    ):
        raise ImmutableVersionError()


class FrozenWhenPublishedQuerySet(models.QuerySet):
    """Bulk paths check that every affected row belongs to a draft version.

    `version_path` is the lookup from the model to its QuestionnaireVersion.
    """

    version_path = "version"

    def _refuse_if_any_frozen(self) -> None:
        if self.exclude(**{f"{self.version_path}__status": VersionStatus.DRAFT}).exists():
            raise ImmutableVersionError()

    def update(self, **kwargs: Any) -> int:
        self._refuse_if_any_frozen()
        target = kwargs.get("version", kwargs.get("version_id"))
        if target is not None:  # re-pointing rows at another version must not reach a frozen one
            _require_draft_versions([getattr(target, "pk", target)])
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._refuse_if_any_frozen()
        return super().delete()

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list:
        objs = list(objs)
        _require_draft_versions(obj.frozen_version_id() for obj in objs)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(
        self, objs: Iterable[models.Model], fields: Any, *args: Any, **kwargs: Any
    ) -> int:
        objs = list(objs)
        _require_draft_versions(obj.frozen_version_id() for obj in objs)
        # The rows' stored versions too: an object could have been re-pointed at a draft.
        pks = [obj.pk for obj in objs]
        self.model.objects.filter(pk__in=pks)._refuse_if_any_frozen()
        return super().bulk_update(objs, fields, *args, **kwargs)


class VersionQuerySet(FrozenWhenPublishedQuerySet):
    """For versions themselves only status moves are allowed outside draft (via transitions)."""

    def _refuse_if_any_frozen(self) -> None:
        if self.exclude(status=VersionStatus.DRAFT).exists():
            raise ImmutableVersionError()


class FrozenWhenPublishedModel(models.Model):
    """Instance save/delete refuse when the stored or target version is not a draft."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        _require_draft_versions([self.frozen_version_id(), self._stored_version_id()])
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        _require_draft_versions([self._stored_version_id()])
        return super().delete(*args, **kwargs)

    def frozen_version_id(self) -> int | None:
        raise NotImplementedError

    def _stored_version_id(self) -> int | None:
        if self.pk is None:
            return None
        stored = type(self)._base_manager.filter(pk=self.pk).first()
        return stored.frozen_version_id() if stored is not None else None


class QuestionnaireVersion(FSMModelMixin, TimeStampedModel):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField()
    # The title as patients see it in this version (FHIR Questionnaire.title).
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # SDC `variable`s declared on the Questionnaire root: [{"name", "expression"}], in order.
    variables = models.JSONField(default=list, blank=True)
    status = FSMField(choices=VersionStatus.choices, default=VersionStatus.DRAFT, protected=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # FHIR Questionnaire.code: codings (e.g. LOINC) naming the whole instrument.
    codes = models.JSONField(default=list, blank=True)
    # Extensions this engine does not act on, kept verbatim so an export gives them back.
    extensions = models.JSONField(default=list, blank=True)
    # Extensions on the wording itself (FHIR `_title`, `_description`: e.g. rendering-xhtml).
    element_extensions = models.JSONField(default=dict, blank=True)

    objects = VersionQuerySet.as_manager()

    # Changing these on a non-draft version is the transition itself, nothing else.
    TRANSITION_FIELDS = frozenset({"status", "published_at", "retired_at", "updated_at"})

    class Meta:
        ordering = ["questionnaire", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "version"], name="intake_version_number_unique"
            ),
            # At most one version per questionnaire is served to new intakes.
            models.UniqueConstraint(
                fields=["questionnaire"],
                condition=Q(status="published"),
                name="intake_one_published_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire.slug} v{self.version} ({self.get_status_display()})"

    @property
    def canonical(self) -> str:
        """FHIR canonical reference to exactly this version: url|version."""
        return f"{self.questionnaire.url}|{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = type(self)._base_manager.filter(pk=self.pk).first()
            if stored is not None and stored.status != VersionStatus.DRAFT:
                changed = {
                    f.attname
                    for f in self._meta.concrete_fields
                    if getattr(stored, f.attname) != getattr(self, f.attname)
                }
                if changed - self.TRANSITION_FIELDS:
                    raise ImmutableVersionError()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if type(self)._base_manager.filter(pk=self.pk).exclude(status=VersionStatus.DRAFT).exists():
            raise ImmutableVersionError()
        return super().delete(*args, **kwargs)

    # --- the state machine: the only place version status moves -----------------------------
    @transition(field=status, source=VersionStatus.DRAFT, target=VersionStatus.PUBLISHED)
    def publish(self) -> None: ...

    @transition(field=status, source=VersionStatus.PUBLISHED, target=VersionStatus.RETIRED)
    def retire(self) -> None: ...


class ItemType(models.TextChoices):
    GROUP = "group", "Group (a step when top-level)"
    DISPLAY = "display", "Display text"
    BOOLEAN = "boolean", "Yes / no"
    DECIMAL = "decimal", "Decimal number"
    INTEGER = "integer", "Whole number"
    DATE = "date", "Date"
    DATETIME = "dateTime", "Date and time"
    TIME = "time", "Time of day"
    STRING = "string", "Short text"
    TEXT = "text", "Long text"
    CHOICE = "choice", "Choice"
    OPEN_CHOICE = "open-choice", "Choice or other text"
    ATTACHMENT = "attachment", "File upload"
    URL = "url", "Web address"
    QUANTITY = "quantity", "Number with a unit"


ANSWERABLE_TYPES = frozenset(ItemType.values) - {ItemType.GROUP, ItemType.DISPLAY}
CHOICE_TYPES = frozenset({ItemType.CHOICE, ItemType.OPEN_CHOICE})


class ItemControl(models.TextChoices):
    """SDC questionnaire-itemControl codes this engine renders (blank: the type's default)."""

    DEFAULT = "", "Default for the type"
    RADIO_BUTTON = "radio-button", "Radio buttons"
    CHECK_BOX = "check-box", "Check boxes"
    DROP_DOWN = "drop-down", "Drop-down list"
    AUTOCOMPLETE = "autocomplete", "Type to search (long lists)"


class EnableBehavior(models.TextChoices):
    ALL = "all", "All rules must match"
    ANY = "any", "Any rule may match"


class ItemQuerySet(FrozenWhenPublishedQuerySet):
    version_path = "version"


class Item(FrozenWhenPublishedModel):
    """One FHIR Questionnaire.item. Top-level groups are the steps of the intake."""

    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.CASCADE, related_name="items"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="The group (step) this question belongs to.",
    )
    order = models.PositiveIntegerField(default=0, db_index=True)
    link_id = models.SlugField(
        "link id", max_length=64, help_text="Stable id of this question; keep it when rewording."
    )
    type = models.CharField(max_length=16, choices=ItemType.choices)
    prefix = models.CharField(max_length=20, blank=True)
    text = models.TextField()
    help_text = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    repeats = models.BooleanField(
        default=False, help_text="Choice questions: allow several answers."
    )
    min_value = models.CharField(
        max_length=32, blank=True, help_text="Numbers or dates (YYYY-MM-DD)."
    )
    max_value = models.CharField(
        max_length=32, blank=True, help_text="Numbers or dates (YYYY-MM-DD)."
    )
    max_length = models.PositiveIntegerField(null=True, blank=True)
    allowed_mime_types = models.CharField(
        max_length=200, blank=True, help_text="Uploads: comma-separated, e.g. image/jpeg,image/png"
    )
    max_file_size = models.PositiveIntegerField(null=True, blank=True, help_text="Uploads: bytes.")
    enable_behavior = models.CharField(
        max_length=3, choices=EnableBehavior.choices, default=EnableBehavior.ALL
    )
    is_important_for_clinician = models.BooleanField(
        "important for the clinician",
        default=False,
        help_text="Sent to MDI as an important question.",
    )
    disqualifying_answer = models.CharField(
        max_length=64,
        blank=True,
        help_text="An answer (option code, or true/false) that ends the intake; blank if none.",
    )
    disqualifying_explanation = models.TextField(
        blank=True, help_text="Shown to the patient when the disqualifying answer is given."
    )
    # SDC questionnaire-hidden: never shown to the patient. A hidden item whose link id is a
    # CONTEXT_LINK_IDS key is answered by the system from the patient's identity.
    is_hidden = models.BooleanField(
        "hidden",
        default=False,
        help_text="Never shown to the patient; its initial value or context fact is stored.",
    )
    # SDC expressions (FHIRPath, evaluated by fhirpathpy; see intake/expressions.py).
    calculated_expression = models.TextField(
        blank=True, help_text="FHIRPath computing this item's answer at completion (a total)."
    )
    enable_when_expression = models.TextField(
        blank=True, help_text="FHIRPath that must be true for this item to show."
    )
    # SDC `variable`s declared on this item: [{"name": ..., "expression": ...}], in order.
    variables = models.JSONField(default=list, blank=True)
    # Severity bands of a score: [{"low": 0, "high": 4, "label": "Minimal"}], inclusive.
    score_bands = models.JSONField(default=list, blank=True)
    # FHIR item.code: codings (e.g. LOINC) naming what the question asks.
    codes = models.JSONField(default=list, blank=True)
    # FHIR initial[x] as answer values (option codes for choices), pre-filled on the page.
    initial = models.JSONField(default=list, blank=True)
    read_only = models.BooleanField(
        default=False, help_text="Shown but not editable; the initial value is the answer."
    )
    entry_format = models.CharField(
        max_length=100, blank=True, help_text="A hint shown in the empty field, e.g. HH:MM."
    )
    item_control = models.CharField(
        max_length=16, choices=ItemControl.choices, blank=True, default=ItemControl.DEFAULT
    )
    # Quantity questions: the units offered, as codings (UCUM); the first is the default.
    units = models.JSONField(default=list, blank=True)
    extensions = models.JSONField(default=list, blank=True)
    # Extensions on the wording itself (FHIR `_text`, `_prefix`: e.g. rendering-style).
    element_extensions = models.JSONField(default=dict, blank=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["version", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "link_id"], name="intake_item_link_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.link_id}: {self.text[:60]}"

    def frozen_version_id(self) -> int | None:
        return self.version_id

    @property
    def is_answerable(self) -> bool:
        return self.type in ANSWERABLE_TYPES

    @property
    def mime_types(self) -> list[str]:
        return [m.strip() for m in self.allowed_mime_types.split(",") if m.strip()]


class OptionQuerySet(FrozenWhenPublishedQuerySet):
    version_path = "item__version"


class OptionKind(models.TextChoices):
    """Which FHIR answerOption.value[x] an option is; its answer value is `code` either way."""

    CODING = "coding", "Coding"
    STRING = "string", "Text"
    INTEGER = "integer", "Whole number"
    DATE = "date", "Date"
    TIME = "time", "Time"


class AnswerOption(FrozenWhenPublishedModel):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="options")
    order = models.PositiveIntegerField(default=0, db_index=True)
    # The stored answer: a Coding's code, or the text/number/date/time of the other kinds
    # (a valueString option such as "Don't know" is not a slug).
    code = models.CharField(max_length=255)
    display = models.CharField(max_length=255)
    # SDC optionExclusive: in a several-answer question, this option stands alone ("None").
    is_exclusive = models.BooleanField(
        "exclusive", default=False, help_text="Cannot be chosen together with other options."
    )
    # FHIR ordinalValue / itemWeight: the option's score in a scored instrument.
    ordinal_value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    item_weight = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    kind = models.CharField(max_length=8, choices=OptionKind.choices, default=OptionKind.CODING)
    system = models.CharField(max_length=255, blank=True, help_text="Coding system, e.g. LOINC.")
    initial_selected = models.BooleanField(default=False)
    extensions = models.JSONField(default=list, blank=True)

    objects = OptionQuerySet.as_manager()

    class Meta:
        ordering = ["item", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="intake_option_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.display}"

    def frozen_version_id(self) -> int | None:
        return (
            Item._base_manager.filter(pk=self.item_id).values_list("version_id", flat=True).first()
        )


class EnableWhenOperator(models.TextChoices):
    EXISTS = "exists", "is answered (true) / not answered (false)"
    EQUALS = "=", "="
    NOT_EQUALS = "!=", "≠"
    GREATER = ">", ">"
    LESS = "<", "<"
    GREATER_OR_EQUAL = ">=", "≥"
    LESS_OR_EQUAL = "<=", "≤"


class EnableWhen(FrozenWhenPublishedModel):
    """Show `item` only when the answer to `question` (a link id) satisfies the rule."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="enable_when")
    question = models.SlugField("question link id", max_length=64)
    operator = models.CharField(max_length=6, choices=EnableWhenOperator.choices)
    answer = models.CharField(
        max_length=64,
        help_text="Compared with the answer: an option code, true/false, a number or a date.",
    )

    objects = OptionQuerySet.as_manager()

    class Meta:
        verbose_name = "enable-when rule"
        ordering = ["item", "pk"]

    def __str__(self) -> str:
        return f"{self.question} {self.operator} {self.answer}"

    def frozen_version_id(self) -> int | None:
        return (
            Item._base_manager.filter(pk=self.item_id).values_list("version_id", flat=True).first()
        )


class ResponseStatus(models.TextChoices):
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped (disqualified)"


class QuestionnaireResponse(FSMModelMixin, TimeStampedModel):
    """A patient's answers to exactly one version, with the wording they saw.

    `answers` maps link_id -> {"value": [...], "text": question as shown, "prefix": ...,
    "type": ..., "display": [option labels as shown]}, encrypted at rest. `answer_order` keeps
    the order questions were shown so the snapshot renders without the version's items.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="responses"
    )
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="responses"
    )
    status = FSMField(
        choices=ResponseStatus.choices, default=ResponseStatus.IN_PROGRESS, protected=True
    )
    answers = EncryptedJSONField(default=dict)
    # Which questions were shown (follow-ups reveal answers): encrypted like the answers.
    answer_order = EncryptedJSONField(default=list)
    # The link ids of the steps the patient has completed (saved with Continue).
    completed_steps = models.JSONField(default=list)
    completed_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Which question stopped the intake (a link id, not the answer).
    stopped_by_link_id = EncryptedTextField(blank=True, default="")
    # Retention (intake.services.questionnaire_response_purge): the answers of a long-closed
    # visit are removed here; the clinical partner keeps the clinical record. The digest of
    # what was submitted (wording and answers) stays, so a copy can still be matched to it.
    content_sha256 = models.CharField(max_length=64, blank=True)
    answers_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # Support reads that a response exists and where it stands; the answers themselves
        # (and the question that stopped it) need this permission on top of viewing it.
        permissions = [("view_clinical_answers", "Can view patients' clinical answers")]
        constraints = [
            # One intake in progress per patient and questionnaire version at a time.
            models.UniqueConstraint(
                fields=["patient", "version"],
                condition=Q(status="in-progress"),
                name="intake_one_draft_per_patient_version",
            )
        ]

    def __str__(self) -> str:
        return f"Response {self.public_id} ({self.status})"

    @transition(field=status, source=ResponseStatus.IN_PROGRESS, target=ResponseStatus.COMPLETED)
    def complete(self) -> None: ...

    @transition(field=status, source=ResponseStatus.IN_PROGRESS, target=ResponseStatus.STOPPED)
    def stop(self) -> None: ...


class ResponseAttachment(TimeStampedModel):
    """A file answering an attachment question; the answer JSON refers to it by public id."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    response = models.ForeignKey(
        QuestionnaireResponse, on_delete=models.CASCADE, related_name="attachments"
    )
    link_id = models.CharField(max_length=64)
    stored_name = PrivateFileNameField()
    mime_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # Filled by case submission once MDI has the file.
    mdi_file_id = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Attachment {self.public_id}"

"""Every write to questionnaires and responses."""

import datetime
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import DomainError
from core.uploads import upload_delete, upload_sanitize, upload_store
from intake.context import context_answers
from intake.expressions import calculated_answers, structure_expression_problems
from intake.models import (
    CHOICE_TYPES,
    AnswerOption,
    EnableWhen,
    Item,
    ItemType,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseAttachment,
    ResponseStatus,
    VersionStatus,
)
from intake.selectors import questionnaire_new_intake_allowed_at
from intake.structure import ItemNode, VersionStructure, version_structure_load
from intake.validation import (
    OTHER_PREFIX,
    Answer,
    Disqualification,
    ValidationResult,
    enable_when_rule_problem,
    is_enabled,
    validate_response,
    validate_step,
)
from patients.models import Patient


class IntakeWaitingPeriod(DomainError):
    """A disqualifying answer stopped this questionnaire recently: not again until then."""

    def __init__(self, *, allowed_at: datetime.datetime) -> None:
        self.allowed_at = allowed_at
        super().__init__("A new intake of this questionnaire cannot be started yet.")


class PublishError(DomainError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("This version cannot be published: " + "; ".join(problems))


# --- versions ---------------------------------------------------------------------------------


def questionnaire_version_problems(*, version: QuestionnaireVersion) -> list[str]:
    """Everything that would make this version unsafe to serve, in the advisor's words."""
    structure = version_structure_load(version=version)
    problems: list[str] = []
    if not structure.steps:
        problems.append("it has no steps (top-level groups)")
    for node in structure.ordered:
        if node.depth == 0 and node.type != ItemType.GROUP:
            problems.append(f"'{node.link_id}' is outside any step: top-level items must be groups")
        if node.type in CHOICE_TYPES and not node.options:
            problems.append(f"choice question '{node.link_id}' has no answer options")
        if len(node.enable_when) > 1 and node.enable_behavior not in {"all", "any"}:
            problems.append(f"'{node.link_id}' needs an enable behaviour for its several rules")
        if node.disqualifying_answer and not node.disqualifying_explanation.strip():
            problems.append(
                f"'{node.link_id}' stops the intake but has no explanation for the patient"
            )
    problems += structure_expression_problems(structure)
    seen: list[str] = []
    for node in structure.ordered:
        for rule in node.enable_when:
            if rule.question not in structure.by_link_id:
                problems.append(
                    f"'{node.link_id}' has a rule on '{rule.question}', which does not exist"
                )
            elif rule.question not in seen:
                problems.append(
                    f"'{node.link_id}' has a rule on '{rule.question}', which comes after it"
                )
            elif not structure.by_link_id[rule.question].is_answerable:
                problems.append(
                    f"'{node.link_id}' has a rule on '{rule.question}', which takes no answer"
                )
        seen.append(node.link_id)
    problems += questionnaire_version_rule_problems(version=version)
    return problems


@transaction.atomic
def questionnaire_version_publish(*, version: QuestionnaireVersion) -> QuestionnaireVersion:
    """Validate and publish a draft; the previously published version is retired.

    Locks the questionnaire's versions so two advisors publishing at once cannot both win
    (the partial unique constraint would refuse the second anyway).
    """
    versions = QuestionnaireVersion.objects.select_for_update().filter(
        questionnaire_id=version.questionnaire_id
    )
    version = versions.get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        raise PublishError(["only a draft can be published"])
    if problems := questionnaire_version_problems(version=version):
        raise PublishError(problems)
    now = timezone.now()
    for current in versions.filter(status=VersionStatus.PUBLISHED):
        current.retire()
        current.retired_at = now
        current.save()
    version.publish()
    version.published_at = now
    version.save()
    return version


@transaction.atomic
def questionnaire_version_retire(*, version: QuestionnaireVersion) -> QuestionnaireVersion:
    version = QuestionnaireVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.PUBLISHED:
        raise DomainError("Only the published version can be retired.")
    version.retire()
    version.retired_at = timezone.now()
    version.save()
    return version


@transaction.atomic
def questionnaire_version_create_draft_from(
    *, version: QuestionnaireVersion
) -> QuestionnaireVersion:
    """Deep-copy a version (items, options, rules, order) into a new draft numbered last+1."""
    questionnaire = Questionnaire.objects.select_for_update().get(pk=version.questionnaire_id)
    last = (
        questionnaire.versions.order_by("-version").values_list("version", flat=True).first() or 0
    )
    draft = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        version=last + 1,
        title=version.title,
        description=version.description,
        created_from=version,
        variables=version.variables,
        codes=version.codes,
        extensions=version.extensions,
        element_extensions=version.element_extensions,
    )
    old_items = list(
        Item.objects.filter(version=version).prefetch_related("options", "enable_when")
    )
    new_by_old: dict[int, Item] = {}
    # Parents first, so each copy can point at its parent's copy.
    pending = sorted(old_items, key=lambda i: _depth(i, {x.pk: x for x in old_items}))
    for old in pending:
        copy = Item.objects.create(
            version=draft,
            parent=new_by_old[old.parent_id] if old.parent_id else None,
            **{f: getattr(old, f) for f in _ITEM_COPY_FIELDS},
        )
        new_by_old[old.pk] = copy
        AnswerOption.objects.bulk_create(
            [
                AnswerOption(
                    item=copy,
                    order=o.order,
                    code=o.code,
                    display=o.display,
                    is_exclusive=o.is_exclusive,
                    ordinal_value=o.ordinal_value,
                    item_weight=o.item_weight,
                    kind=o.kind,
                    system=o.system,
                    initial_selected=o.initial_selected,
                    extensions=o.extensions,
                )
                for o in old.options.all()
            ]
        )
        EnableWhen.objects.bulk_create(
            [
                EnableWhen(item=copy, question=r.question, operator=r.operator, answer=r.answer)
                for r in old.enable_when.all()
            ]
        )
    return draft


_ITEM_COPY_FIELDS = [
    "order", "link_id", "type", "prefix", "text", "help_text", "required", "repeats", "min_value",
    "max_value", "max_length", "allowed_mime_types", "max_file_size", "enable_behavior",
    "is_important_for_clinician", "disqualifying_answer", "disqualifying_explanation",
    "is_hidden", "calculated_expression", "enable_when_expression", "variables", "score_bands",
    "codes", "initial", "read_only", "entry_format", "item_control", "units",
    "extensions", "element_extensions",
]  # fmt: skip


def _depth(item: Item, by_pk: dict[int, Item]) -> int:
    depth = 0
    while item.parent_id:
        item = by_pk[item.parent_id]
        depth += 1
    return depth


# --- diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemChange:
    link_id: str
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class VersionDiff:
    before: str
    after: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[ItemChange, ...]

    def as_text(self) -> str:
        lines = [f"Diff {self.before} -> {self.after}"]
        lines += [f"+ added   {link_id}" for link_id in self.added]
        lines += [f"- removed {link_id}" for link_id in self.removed]
        lines += [
            f"~ changed {c.link_id}.{c.field}: {c.before!r} -> {c.after!r}" for c in self.changed
        ]
        if len(lines) == 1:
            lines.append("  (no differences)")
        return "\n".join(lines)


_DIFF_FIELDS = [
    "type", "text", "prefix", "help_text", "required", "repeats", "min_value", "max_value",
    "max_length", "mime_types", "enable_behavior", "enable_when", "options", "parent_link_id",
    "is_important_for_clinician", "disqualifying_answer", "disqualifying_explanation",
    "is_hidden", "calculated_expression", "enable_when_expression", "variables", "score_bands",
    "codes", "initial", "read_only", "entry_format", "item_control", "units",
]  # fmt: skip


def questionnaire_version_diff(
    *, before: QuestionnaireVersion, after: QuestionnaireVersion
) -> VersionDiff:
    """Items added, removed and changed (wording, options, rules, position in a step)."""
    a, b = version_structure_load(version=before), version_structure_load(version=after)
    changed: list[ItemChange] = []
    for link_id, old in a.by_link_id.items():
        new = b.by_link_id.get(link_id)
        if new is None:
            continue
        for name in _DIFF_FIELDS:
            old_value, new_value = _describe(getattr(old, name)), _describe(getattr(new, name))
            if old_value != new_value:
                changed.append(ItemChange(link_id, name, old_value, new_value))
    old_order = [n.link_id for n in a.ordered if n.link_id in b.by_link_id]
    new_order = [n.link_id for n in b.ordered if n.link_id in a.by_link_id]
    if old_order != new_order:
        changed.append(ItemChange("(order)", "order", ", ".join(old_order), ", ".join(new_order)))
    return VersionDiff(
        before=str(before),
        after=str(after),
        added=tuple(n.link_id for n in b.ordered if n.link_id not in a.by_link_id),
        removed=tuple(n.link_id for n in a.ordered if n.link_id not in b.by_link_id),
        changed=tuple(changed),
    )


def _describe(value: object) -> str:
    if isinstance(value, tuple):
        return "; ".join(_describe_part(part) for part in value)
    return "" if value is None else str(value)


def _describe_part(part: object) -> str:
    if hasattr(part, "code"):
        scores = [
            f"{name}={value}"
            for name in ("is_exclusive", "ordinal_value", "item_weight")
            if (value := getattr(part, name, None)) not in (None, False)
        ]
        return f"{part.code}={part.display}" + (f" ({', '.join(scores)})" if scores else "")
    if hasattr(part, "question"):
        return f"{part.question} {part.operator} {part.answer}"
    return str(part)


# --- responses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    result: ValidationResult
    response: QuestionnaireResponse

    @property
    def disqualification(self) -> Disqualification | None:
        return self.result.disqualifications[0] if self.result.disqualifications else None


def questionnaire_response_start(
    *, patient: Patient, version: QuestionnaireVersion
) -> QuestionnaireResponse:
    """The patient's draft for this version, created if needed. Safe to call again.

    Raises IntakeWaitingPeriod instead of creating one while a recent stop of the same
    questionnaire still holds (a draft already in progress is always returned).
    """
    if version.status != VersionStatus.PUBLISHED:
        raise DomainError("This questionnaire is not open for new visits.")
    existing = QuestionnaireResponse.objects.filter(
        patient=patient, version=version, status=ResponseStatus.IN_PROGRESS
    ).first()
    if existing:
        return existing
    if allowed_at := questionnaire_new_intake_allowed_at(
        patient=patient, questionnaire=version.questionnaire
    ):
        raise IntakeWaitingPeriod(allowed_at=allowed_at)
    structure = version_structure_load(version=version)
    context = _context_snapshots(patient=patient, structure=structure)
    try:
        with transaction.atomic():
            return QuestionnaireResponse.objects.create(
                patient=patient,
                version=version,
                answers=context,
                answer_order=[n.link_id for n in structure.ordered if n.link_id in context],
            )
    except IntegrityError:  # a second tab won the race: use its draft
        return QuestionnaireResponse.objects.get(
            patient=patient, version=version, status=ResponseStatus.IN_PROGRESS
        )


def _context_snapshots(*, patient: Patient, structure: VersionStructure) -> dict[str, dict]:
    """The hidden context items' answers (sex at birth, age), snapshotted like any answer."""
    return {
        link_id: _snapshot(structure.by_link_id[link_id], answer)
        for link_id, answer in context_answers(patient=patient, structure=structure).items()
        if answer
    }


def _snapshot(node: ItemNode, answer: Answer) -> dict:
    """The answer with the wording exactly as shown, so later revisions cannot change it."""
    display = []
    for value in answer:
        if node.type in CHOICE_TYPES:
            text = str(value)
            display.append(
                text.removeprefix(OTHER_PREFIX)
                if text.startswith(OTHER_PREFIX)
                else node.option_display(text)
            )
        elif node.type == ItemType.BOOLEAN:
            display.append("Yes" if value else "No")
        elif node.type == ItemType.ATTACHMENT:
            display.append("File uploaded")
        else:
            display.append(str(value))
    snapshot = {
        "value": answer,
        "text": node.text,
        "prefix": node.prefix,
        "type": node.type,
        "display": display,
    }
    if node.score_bands and answer:
        # The band as the instrument declared it when scored, kept beside the total.
        snapshot["band"] = node.band_of(Decimal(str(answer[0])))
    if node.is_answered_by_system:
        snapshot["answered_by"] = "system"
    return snapshot


def _store_attachments(
    *,
    response: QuestionnaireResponse,
    structure: VersionStructure,
    step_link_id: str,
    files: dict[str, UploadedFile],
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Sanitise and store any uploaded files of this step; returns (raw refs, errors)."""
    raw: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    for node in structure.items_of_step(step_link_id):
        if node.type != ItemType.ATTACHMENT or node.link_id not in files:
            continue
        try:
            clean = upload_sanitize(
                uploaded=files[node.link_id],
                allowed_types=node.mime_types or None,
                max_bytes=node.max_file_size,
            )
        except DomainError as exc:
            errors[node.link_id] = [str(exc)]
            continue
        attachment = ResponseAttachment.objects.create(
            response=response,
            link_id=node.link_id,
            stored_name=upload_store(sanitized=clean, folder="intake"),
            mime_type=clean.mime_type,
            size=clean.size,
        )
        raw[node.link_id] = [str(attachment.public_id)]
    return raw, errors


def _attachment_refs_valid(
    response: QuestionnaireResponse, answers: dict[str, Answer]
) -> dict[str, list[str]]:
    """An attachment answer must name a file stored for this response and question."""
    stored = {(str(a.public_id), a.link_id) for a in response.attachments.all()}
    structure_errors: dict[str, list[str]] = {}
    for link_id, values in answers.items():
        for value in values:
            if (
                isinstance(value, str)
                and _looks_like_uuid(value)
                and (value, link_id) not in stored
            ):
                structure_errors[link_id] = ["Please upload the file again."]
    return structure_errors


def _looks_like_uuid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


@transaction.atomic
def questionnaire_response_save_step(
    *,
    response: QuestionnaireResponse,
    structure: VersionStructure,
    step_link_id: str,
    raw: dict[str, list[str]],
    files: dict[str, UploadedFile] | None = None,
) -> StepOutcome:
    """Validate one step and, if valid, save its answers (Continue). Nothing is saved on error.

    A disqualifying answer stops the response: the intake ends and nothing can be paid for.
    Locks the response row so two tabs cannot interleave their saves.
    """
    # The patient comes along (context answers are read from it); only the response is locked.
    response = (
        QuestionnaireResponse.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=response.pk)
    )
    if response.status != ResponseStatus.IN_PROGRESS:
        raise DomainError("This questionnaire has already been finished.")
    if step_link_id not in {s.link_id for s in structure.steps}:
        raise DomainError("That step does not exist.")
    # Identity may have been corrected since the last step: context answers are refreshed.
    context = _context_snapshots(patient=response.patient, structure=structure)
    stored = {
        k: v
        for k, v in response.answers.items()
        if not structure.by_link_id.get(k) or not structure.by_link_id[k].is_hidden
    }
    stored.update(context)
    prior = {k: v["value"] for k, v in stored.items()}
    raw = dict(raw)
    file_refs, file_errors = _store_attachments(
        response=response, structure=structure, step_link_id=step_link_id, files=files or {}
    )
    new_files = [
        a.stored_name
        for a in response.attachments.filter(public_id__in=[r[0] for r in file_refs.values()])
    ]
    try:
        return _save_step_answers(
            response=response,
            structure=structure,
            step_link_id=step_link_id,
            raw=raw,
            prior=prior,
            stored=stored,
            file_refs=file_refs,
            file_errors=file_errors,
            new_files=new_files,
        )
    except BaseException:
        # The transaction rolls back and drops the attachment rows: their files go too.
        upload_delete(names=new_files)
        raise


def _save_step_answers(
    *,
    response: QuestionnaireResponse,
    structure: VersionStructure,
    step_link_id: str,
    raw: dict[str, list[str]],
    prior: dict[str, Answer],
    stored: dict,
    file_refs: dict[str, list[str]],
    file_errors: dict[str, list[str]],
    new_files: list[str],
) -> StepOutcome:
    # A step re-shown after an upload keeps the stored file unless a new one replaces it.
    for node in structure.items_of_step(step_link_id):
        if node.type == ItemType.ATTACHMENT:
            raw[node.link_id] = file_refs.get(node.link_id) or (
                [] if node.link_id in file_errors else prior.get(node.link_id, [])
            )
    system = {
        k: v for k, v in prior.items() if getattr(structure.by_link_id.get(k), "is_hidden", 0)
    }
    result = validate_step(
        structure=structure, step_link_id=step_link_id, raw=raw, prior=prior, system=system
    )
    result.errors.update(file_errors)
    result.errors.update(_attachment_refs_valid(response, result.answers))
    if not result.is_valid:
        transaction.set_rollback(True)
        upload_delete(names=new_files)  # the rows roll back; a refused step keeps no file
        return StepOutcome(result=result, response=response)
    step_ids = {n.link_id for n in structure.items_of_step(step_link_id)}
    answers = {k: v for k, v in stored.items() if k not in step_ids}
    answers.update(
        {
            link_id: _snapshot(structure.by_link_id[link_id], value)
            for link_id, value in result.answers.items()
        }
    )
    response.answers = answers
    response.answer_order = [n.link_id for n in structure.ordered if n.link_id in answers]
    if step_link_id not in response.completed_steps:
        response.completed_steps = [
            s.link_id
            for s in structure.steps
            if s.link_id in {*response.completed_steps, step_link_id}
        ]
    if result.disqualifications:
        response.stop()
        response.stopped_at = timezone.now()
        response.stopped_by_link_id = result.disqualifications[0].link_id
    response.save()
    return StepOutcome(result=result, response=response)


@transaction.atomic
def questionnaire_response_complete(
    *, response: QuestionnaireResponse, structure: VersionStructure
) -> ValidationResult:
    """Re-validate every step from the stored answers and mark the response completed.

    Answers to items that are hidden by the final answers are discarded. Returns the result;
    when it has errors (or a disqualification) nothing changes.
    """
    response = QuestionnaireResponse.objects.select_for_update().get(pk=response.pk)
    if response.status != ResponseStatus.IN_PROGRESS:
        raise DomainError("This questionnaire has already been finished.")
    result = validate_response(
        structure=structure, answers={k: v["value"] for k, v in response.answers.items()}
    )
    missing_steps = [
        s.link_id for s in structure.steps if s.link_id not in response.completed_steps
    ]
    for step in missing_steps:
        result.errors.setdefault(step, []).append("This step has not been completed.")
    if not result.is_valid or result.disqualifications:
        return result
    answers = {k: v for k, v in response.answers.items() if k in result.answers}
    answers.update(questionnaire_response_scores(structure=structure, answers=result.answers))
    response.answers = answers
    response.answer_order = [n.link_id for n in structure.ordered if n.link_id in answers]
    response.complete()
    response.completed_at = timezone.now()
    response.save()
    return result


def questionnaire_response_scores(
    *, structure: VersionStructure, answers: dict[str, Answer]
) -> dict[str, dict]:
    """The calculated items (totals) of these answers, snapshotted with their severity band.
    Pure: the review page shows them before completion stores them."""
    return {
        link_id: _snapshot(structure.by_link_id[link_id], value)
        for link_id, value in calculated_answers(structure=structure, answers=answers).items()
        if is_enabled(structure.by_link_id[link_id], structure, answers)
    }


def response_attachment_link_mdi_file(*, attachment: ResponseAttachment, mdi_file_id: str) -> None:
    """Remember MDI's id for an intake photo, so it is never uploaded twice."""
    ResponseAttachment.objects.filter(pk=attachment.pk).update(mdi_file_id=mdi_file_id)
    attachment.mdi_file_id = mdi_file_id


def questionnaire_response_digest(*, response: QuestionnaireResponse) -> str:
    """sha256 of what was submitted: the version answered, the order shown, and each answer
    with the wording the patient saw. Canonical JSON, so the same content gives the same hash."""
    content = {
        "version": response.version.canonical,
        "answer_order": response.answer_order,
        "answers": response.answers,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def questionnaire_response_purge(
    *, response: QuestionnaireResponse, now: datetime.datetime
) -> tuple[bool, int]:
    """Remove a response's answers and attachment files, keeping its digest and the date.
    Locked; a second call is a no-op. Files are deleted after commit, so a rollback never
    leaves rows pointing at deleted files. Returns (purged now, files removed)."""
    response = QuestionnaireResponse.objects.select_for_update().get(pk=response.pk)
    if response.answers_purged_at is not None:
        return False, 0
    if not response.content_sha256:
        response.content_sha256 = questionnaire_response_digest(response=response)
    response.answers = {}
    response.answer_order = []
    response.answers_purged_at = now
    response.save(update_fields=["content_sha256", "answers", "answer_order", "answers_purged_at"])
    attachments = list(response.attachments.all())
    names = [a.stored_name for a in attachments if a.stored_name]
    response.attachments.all().delete()
    transaction.on_commit(lambda: upload_delete(names=names))
    return True, len(names)


def questionnaire_version_rule_problems(*, version: QuestionnaireVersion) -> list[str]:
    """Rules a step page could not evaluate, and read-only or hidden required questions with
    nothing to answer them: refused at publish as they are at import."""
    structure = version_structure_load(version=version)
    problems = []
    for node in structure.ordered:
        for rule in node.enable_when:
            target = structure.by_link_id.get(rule.question)
            problem = enable_when_rule_problem(
                operator=rule.operator,
                answer=rule.answer,
                target_type=target.type if target else None,
                option_codes=[o.code for o in target.options] if target else [],
            )
            if problem and target is not None:  # a missing target is reported above
                problems.append(f"'{node.link_id}' has a rule on '{rule.question}' that {problem}")
        if node.required and not node.takes_patient_input and not node.initial_answer:
            problems.append(
                f"'{node.link_id}' is required but read-only or hidden, with no initial value"
            )
    return problems

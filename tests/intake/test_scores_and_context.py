"""Scored instruments (PHQ-9, GAD-7), exclusive options, SDC expressions and the hidden
context items filled from identity (issue 13)."""

import copy
import html
import json

import pytest
from django.db import connection
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)

from cases.payloads import mdi_case_questions
from intake.demo import DEMO_FILE
from intake.fhir import (
    FhirImportError,
    questionnaire_import_fhir,
    questionnaire_response_to_fhir,
    questionnaire_version_to_fhir,
)
from intake.models import AnswerOption, QuestionnaireResponse
from intake.services import (
    questionnaire_response_complete,
    questionnaire_response_save_step,
    questionnaire_response_start,
    questionnaire_version_create_draft_from,
    questionnaire_version_diff,
    questionnaire_version_publish,
)
from intake.structure import version_structure_load
from intake.validation import is_enabled, validate_step
from tests.intake.factories import PatientFactory
from tests.intake.test_validation import STEP2

pytestmark = pytest.mark.django_db

DEMO_DIR = DEMO_FILE.parent
PHQ9_FILE = DEMO_DIR / "phq9_questionnaire.json"
GAD7_FILE = DEMO_DIR / "gad7_questionnaire.json"
FHIRPATH = "text/fhirpath"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
EXCLUSIVE = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"

NOT_AT_ALL, SEVERAL_DAYS, MORE_THAN_HALF, NEARLY_EVERY_DAY = (
    "LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9",
)  # fmt: skip


def _instrument(path) -> dict:
    """The LOINC file as shipped, codes (http://loinc.org) and all."""
    return json.loads(path.read_text())


def _published(data: dict):
    return questionnaire_version_publish(version=questionnaire_import_fhir(data=data).version)


def _complete(patient, version, raw: dict) -> QuestionnaireResponse:
    structure = version_structure_load(version=version)
    response = questionnaire_response_start(patient=patient, version=version)
    for step in structure.steps:
        outcome = questionnaire_response_save_step(
            response=response, structure=structure, step_link_id=step.link_id, raw=raw
        )
        assert outcome.result.is_valid, outcome.result.errors
    result = questionnaire_response_complete(response=response, structure=structure)
    assert result.is_valid, result.errors
    return QuestionnaireResponse.objects.get(pk=response.pk)


# --- PHQ-9 and GAD-7 --------------------------------------------------------------------------

# A PHQ-9 walk-through, scored by hand with LOINC's answer list (LA6568-5 "Not at all" = 0,
# LA6569-3 "Several days" = 1, LA6570-1 "More than half the days" = 2, LA6571-9 "Nearly every
# day" = 3):
PHQ9_ANSWERS = {
    "44250-9": [SEVERAL_DAYS],  # little interest or pleasure      1
    "44255-8": [MORE_THAN_HALF],  # feeling down, depressed         2
    "44259-0": [NEARLY_EVERY_DAY],  # sleep                         3
    "44254-1": [MORE_THAN_HALF],  # tired, little energy            2
    "44251-7": [SEVERAL_DAYS],  # appetite                          1
    "44258-2": [NOT_AT_ALL],  # feeling bad about yourself          0
    "44252-5": [NEARLY_EVERY_DAY],  # trouble concentrating         3
    "44253-3": [NOT_AT_ALL],  # moving or speaking slowly           0
    "44260-8": [NOT_AT_ALL],  # thoughts of being better off dead   0
    "69722-7": ["LA6573-5"],  # how difficult: "Somewhat difficult" (not scored)
}
# 1 + 2 + 3 + 2 + 1 + 0 + 3 + 0 + 0 = 12, in the 10-14 band: moderate depression.
PHQ9_TOTAL, PHQ9_BAND = 12, "Moderate depression"


def test_phq9_imports_and_a_completed_response_stores_the_hand_computed_total(patient):
    version = _published(_instrument(PHQ9_FILE))
    response = _complete(patient, version, PHQ9_ANSWERS)
    total = response.answers["44261-6"]
    assert total["value"] == [PHQ9_TOTAL]
    assert total["band"] == PHQ9_BAND
    assert total["answered_by"] == "system"
    assert response.answer_order.index("44261-6") == response.answer_order.index("44260-8") + 1


@pytest.mark.parametrize(
    ("answer", "total", "band"),
    [
        (NOT_AT_ALL, 0, "Minimal depression"),  # 9 x 0
        (SEVERAL_DAYS, 9, "Mild depression"),  # 9 x 1
        (MORE_THAN_HALF, 18, "Moderately severe depression"),  # 9 x 2
        (NEARLY_EVERY_DAY, 27, "Severe depression"),  # 9 x 3
    ],
)
def test_phq9_bands_follow_the_instrument(patient, answer, total, band):
    version = _published(_instrument(PHQ9_FILE))
    raw = {link_id: [answer] for link_id in PHQ9_ANSWERS if link_id != "69722-7"}
    response = _complete(patient, version, raw)
    assert (response.answers["44261-6"]["value"], response.answers["44261-6"]["band"]) == (
        [total],
        band,
    )


def test_gad7_total_and_band(patient):
    version = _published(_instrument(GAD7_FILE))
    raw = {
        "69725-0": [MORE_THAN_HALF],  # 2
        "68509-9": [MORE_THAN_HALF],  # 2
        "69733-4": [SEVERAL_DAYS],  # 1
        "69734-2": [SEVERAL_DAYS],  # 1
        "69735-9": [NOT_AT_ALL],  # 0
        "69689-8": [NEARLY_EVERY_DAY],  # 3
        "69736-7": [SEVERAL_DAYS],  # 1
    }
    # 2 + 2 + 1 + 1 + 0 + 3 + 1 = 10: moderate anxiety (10-14).
    response = _complete(patient, version, raw)
    assert response.answers["70274-6"]["value"] == [10]
    assert response.answers["70274-6"]["band"] == "Moderate anxiety"


def test_a_total_posted_by_the_patient_is_ignored_and_computed_by_the_server(patient):
    version = _published(_instrument(PHQ9_FILE))
    response = _complete(patient, version, {**PHQ9_ANSWERS, "44261-6": ["0"]})
    assert response.answers["44261-6"]["value"] == [PHQ9_TOTAL]


def test_the_total_is_stored_encrypted(patient):
    version = _published(_instrument(PHQ9_FILE))
    response = _complete(patient, version, PHQ9_ANSWERS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT answers FROM intake_questionnaireresponse WHERE id = %s", [response.pk]
        )
        (stored,) = cursor.fetchone()
    stored = stored if isinstance(stored, str) else bytes(stored).decode("latin-1")
    assert PHQ9_BAND not in stored and "44261-6" not in stored


def test_the_total_goes_to_the_clinician_with_its_band(patient):
    version = _published(_instrument(PHQ9_FILE))
    response = _complete(patient, version, PHQ9_ANSWERS)
    questions = {q["question"]: q["answer"] for q in mdi_case_questions(response=response)}
    total_text = "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
    assert questions[total_text] == f"{PHQ9_TOTAL} ({PHQ9_BAND})"


def test_the_total_is_the_calculated_items_answer_in_the_fhir_response(patient):
    version = _published(_instrument(PHQ9_FILE))
    response = _complete(patient, version, PHQ9_ANSWERS)
    exported = questionnaire_response_to_fhir(response=response)
    FhirQuestionnaireResponse.model_validate(exported)
    (group,) = exported["item"]
    total = next(i for i in group["item"] if i["linkId"] == "44261-6")
    assert total["answer"] == [{"valueInteger": PHQ9_TOTAL}]


@pytest.mark.parametrize("path", [PHQ9_FILE, GAD7_FILE], ids=["phq-9", "gad-7"])
def test_the_instruments_are_valid_fhir_and_round_trip(path):
    FhirQuestionnaire.model_validate(json.loads(path.read_text()))  # the file as shipped
    data = _instrument(path)
    first = questionnaire_import_fhir(data=copy.deepcopy(data)).version
    exported = questionnaire_version_to_fhir(version=first)
    FhirQuestionnaire.model_validate(exported)
    again = questionnaire_version_to_fhir(
        version=questionnaire_import_fhir(data=copy.deepcopy(exported)).version
    )
    strip = lambda r: {k: v for k, v in r.items() if k not in {"version", "status"}}  # noqa: E731
    assert strip(again) == strip(exported)
    # Everything the file says survives: the LOINC codes (questionnaire, items, option
    # systems), the variable, every ordinal value, the calculated expression and the bands.
    assert exported["code"] == data["code"]
    assert exported["extension"] == data["extension"]
    assert exported["item"][0]["item"] == data["item"][0]["item"]


def test_the_review_page_shows_the_total_and_its_band_before_finishing(client, patient):
    from django.urls import reverse

    version = _published(_instrument(PHQ9_FILE))
    structure = version_structure_load(version=version)
    response = questionnaire_response_start(patient=patient, version=version)
    questionnaire_response_save_step(
        response=response, structure=structure, step_link_id="phq-9-questions", raw=PHQ9_ANSWERS
    )
    client.force_login(patient.user)
    page = client.get(reverse("intake:review", args=[response.public_id]))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert f'{PHQ9_TOTAL} <span class="score-band">{PHQ9_BAND}</span>' in text


# --- optionExclusive --------------------------------------------------------------------------


def test_none_of_these_cannot_be_sent_with_a_condition(demo_structure):
    result = validate_step(
        structure=demo_structure,
        step_link_id="your-health",
        raw={**STEP2, "conditions": ["heart-disease", "none"]},
        prior={},
    )
    assert result.errors == {
        "conditions": ["“None of these” cannot be chosen together with other answers."]
    }


def test_nothing_yet_cannot_be_sent_with_treatments_or_other_text(demo_structure):
    for given in (["minoxidil", "finasteride", "none"], ["none", "other:rosemary oil"]):
        result = validate_step(
            structure=demo_structure,
            step_link_id="about-hair-loss",
            raw={
                "hair-loss-duration": ["1-5-years"],
                "hair-loss-pattern": ["crown"],
                "family-history": ["true"],
                "sudden-onset": ["false"],
                "tried-treatments": given,
            },
            prior={},
        )
        assert result.errors == {
            "tried-treatments": ["“Nothing yet” cannot be chosen together with other answers."]
        }


def test_an_exclusive_option_alone_and_other_options_together_are_fine(demo_structure):
    for given in (["none"], ["heart-disease", "depression"]):
        result = validate_step(
            structure=demo_structure,
            step_link_id="your-health",
            raw={**STEP2, "conditions": given, "depression-current": ["false"]},
            prior={},
        )
        assert result.is_valid, result.errors


def test_the_step_page_shows_the_error_without_javascript(client, demo_version):
    from django.urls import reverse

    from patients.models import IdentityDocument

    patient = PatientFactory(identified=True)
    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    client.force_login(patient.user)
    client.get(reverse("intake:start"))
    response = QuestionnaireResponse.objects.get(patient=patient)
    client.post(
        reverse("intake:step", args=[response.public_id, 1]),
        {
            "hair-loss-duration": "1-5-years",
            "hair-loss-pattern": "crown",
            "family-history": "true",
            "sudden-onset": "false",
            "tried-treatments": "minoxidil",
        },
    )
    page = client.post(
        reverse("intake:step", args=[response.public_id, 2]),
        {"pregnancy": "false", "conditions": ["heart-disease", "none"]},
    )
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "“None of these” cannot be chosen together with other answers." in text
    assert 'value="none" checked data-exclusive' in text


# --- scored options and expressions, small forms ----------------------------------------------


def _form(*, items: list[dict], extension: list[dict] | None = None) -> dict:
    data = {
        "resourceType": "Questionnaire",
        "url": "https://thinclinic.dev/fhir/Questionnaire/expressions-test",
        "title": "Expressions",
        "status": "draft",
        "item": [{"linkId": "step", "type": "group", "text": "Step", "item": items}],
    }
    if extension:
        data["extension"] = extension
    return data


def _expression(kind: str, text: str, language: str = FHIRPATH, **extra) -> dict:
    return {
        "url": SDC + f"sdc-questionnaire-{kind}",
        "valueExpression": {"language": language, "expression": text, **extra},
    }


def _variable(name: str, text: str) -> dict:
    return {
        "url": "http://hl7.org/fhir/StructureDefinition/variable",
        "valueExpression": {"name": name, "language": FHIRPATH, "expression": text},
    }


SCORED_OPTIONS = [
    {
        "valueCoding": {"code": "low", "display": "Low"},
        "extension": [{"url": ORDINAL, "valueDecimal": 1}, {"url": WEIGHT, "valueDecimal": 0.5}],
    },
    {
        "valueCoding": {"code": "high", "display": "High"},
        "extension": [{"url": ORDINAL, "valueDecimal": 4}, {"url": WEIGHT, "valueDecimal": 2}],
    },
    {
        "valueCoding": {"code": "neither", "display": "Neither"},
        "extension": [{"url": EXCLUSIVE, "valueBoolean": True}],
    },
]
SCORE_PATH = (
    f"%resource.repeat(item).where(linkId='level').answer.value.extension('{ORDINAL}').value"
)


def _expressions_form() -> dict:
    return _form(
        extension=[_variable("level", SCORE_PATH)],
        items=[
            {"linkId": "level", "type": "choice", "text": "Level?", "repeats": True,
             "answerOption": SCORED_OPTIONS},
            {"linkId": "why-high", "type": "string", "text": "Why so high?", "required": True,
             "extension": [_expression("enableWhenExpression", "%level.exists($this > 3)")]},
            {"linkId": "score", "type": "decimal", "text": "Score", "extension": [
                _variable("weights", "%resource.repeat(item).answer.value"
                          f".extension('{WEIGHT}').value"),
                _expression("calculatedExpression",
                            "%level.aggregate($total + $this, 0) + %weights.aggregate($total + $this, 0)"),
            ]},
        ],
    )  # fmt: skip


def test_ordinal_values_weights_and_exclusivity_are_kept_and_exported():
    version = questionnaire_import_fhir(data=_expressions_form()).version
    options = {o.code: o for o in AnswerOption.objects.filter(item__version=version)}
    assert (options["low"].ordinal_value, options["low"].item_weight) == (1, 0.5)
    assert (options["high"].ordinal_value, options["high"].item_weight) == (4, 2)
    assert options["neither"].is_exclusive and not options["low"].is_exclusive
    exported = questionnaire_version_to_fhir(version=version)
    level = exported["item"][0]["item"][0]
    assert [o.get("extension") for o in level["answerOption"]] == [
        o["extension"] for o in SCORED_OPTIONS
    ]


def test_expressions_and_variables_round_trip_and_draft_copies_keep_them():
    version = questionnaire_import_fhir(data=_expressions_form()).version
    exported = questionnaire_version_to_fhir(version=version)
    FhirQuestionnaire.model_validate(exported)
    again = questionnaire_version_to_fhir(
        version=questionnaire_import_fhir(data=copy.deepcopy(exported)).version
    )
    strip = lambda r: {k: v for k, v in r.items() if k not in {"version", "status"}}  # noqa: E731
    assert strip(again) == strip(exported)
    assert exported["extension"] == _expressions_form()["extension"]
    assert [i.get("extension") for i in exported["item"][0]["item"]] == [
        i.get("extension") for i in _expressions_form()["item"][0]["item"]
    ]
    published = questionnaire_version_publish(version=version)
    draft = questionnaire_version_create_draft_from(version=published)
    diff = questionnaire_version_diff(before=published, after=draft)
    assert (diff.added, diff.removed, diff.changed) == ((), (), ())
    assert questionnaire_version_to_fhir(version=draft)["item"] == exported["item"]


def test_enable_when_expression_shows_a_question_only_when_it_holds(patient):
    version = _published(_expressions_form())
    structure = version_structure_load(version=version)
    why = structure.by_link_id["why-high"]
    assert not is_enabled(why, structure, {"level": ["low"]})
    assert is_enabled(why, structure, {"level": ["high"]})
    low = validate_step(structure=structure, step_link_id="step", raw={"level": ["low"]}, prior={})
    assert low.is_valid  # hidden, so not required
    high = validate_step(
        structure=structure, step_link_id="step", raw={"level": ["high"]}, prior={}
    )
    assert high.errors == {"why-high": ["This question needs an answer."]}


def test_a_calculated_expression_with_item_variables_scores_ordinal_plus_weight(patient):
    version = _published(_expressions_form())
    response = _complete(patient, version, {"level": ["low", "high"], "why-high": ["because"]})
    # ordinals 1 + 4 = 5, weights 0.5 + 2 = 2.5: 7.5
    assert response.answers["score"]["value"] == ["7.5"]


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        (_expression("initialExpression", "today()"), "initialExpression is not supported"),
        (_expression("answerExpression", "%a"), "answerExpression is not supported"),
        (_expression("candidateExpression", "%a"), "candidateExpression is not supported"),
        (
            _expression("calculatedExpression", "1 + 1", language="text/cql"),
            "expression language 'text/cql' is not supported (only text/fhirpath)",
        ),
        (_expression("calculatedExpression", "1 +* ("), "does not parse"),
        (_expression("calculatedExpression", "%resource.item.ordinal()"), "cannot be evaluated"),
        (_expression("enableWhenExpression", "%nowhere.exists()"), "cannot be evaluated"),
    ],
    ids=["initial", "answer", "candidate", "cql", "syntax", "unknown-function", "unknown-var"],
)
def test_expressions_we_do_not_run_are_refused_at_import_with_a_listed_message(extension, message):
    data = _form(items=[{"linkId": "x", "type": "integer", "text": "X", "extension": [extension]}])
    with pytest.raises(FhirImportError) as refused:
        questionnaire_import_fhir(data=data)
    (problem,) = refused.value.problems
    assert problem.startswith("item[0] (step).item[0] (x)") and message in problem


# --- context from identity --------------------------------------------------------------------


def _identified(sex: str | None):
    return PatientFactory(identified=True, sex_at_birth=sex)


@pytest.mark.parametrize(("sex", "shown"), [("female", True), ("male", False), (None, True)])
def test_the_pregnancy_question_follows_sex_at_birth_on_the_server(
    demo_version, demo_structure, sex, shown
):
    patient = _identified(sex)
    response = questionnaire_response_start(patient=patient, version=demo_version)
    assert response.answers.get("context-sex-at-birth", {}).get("value") == ([sex] if sex else None)
    assert response.answers["context-age"]["value"] == [
        _age_of(patient.date_of_birth)
    ]  # the factory's birth date
    questionnaire_response_save_step(
        response=response,
        structure=demo_structure,
        step_link_id="about-hair-loss",
        raw={"hair-loss-duration": ["1-5-years"], "hair-loss-pattern": ["crown"],
             "family-history": ["true"], "sudden-onset": ["false"], "tried-treatments": ["none"]},
    )  # fmt: skip
    without_pregnancy = questionnaire_response_save_step(
        response=response,
        structure=demo_structure,
        step_link_id="your-health",
        raw={"conditions": ["none"]},
    )
    if shown:
        assert without_pregnancy.result.errors == {"pregnancy": ["This question needs an answer."]}
    else:
        assert without_pregnancy.result.is_valid
        assert "pregnancy" not in QuestionnaireResponse.objects.get(pk=response.pk).answers


def _age_of(born):
    from django.utils import timezone

    today = timezone.localdate()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_a_male_patients_pregnancy_answer_is_discarded_and_a_posted_context_ignored(
    demo_version, demo_structure
):
    patient = _identified("male")
    response = questionnaire_response_start(patient=patient, version=demo_version)
    outcome = questionnaire_response_save_step(
        response=response,
        structure=demo_structure,
        step_link_id="your-health",
        raw={"pregnancy": ["true"], "conditions": ["none"], "context-sex-at-birth": ["female"]},
    )
    assert outcome.result.is_valid and not outcome.result.disqualifications
    answers = QuestionnaireResponse.objects.get(pk=response.pk).answers
    assert answers["context-sex-at-birth"]["value"] == ["male"]
    assert answers["context-sex-at-birth"]["answered_by"] == "system"
    assert "pregnancy" not in answers


def test_context_is_refreshed_before_each_step_save(demo_version, demo_structure):
    patient = _identified("female")
    response = questionnaire_response_start(patient=patient, version=demo_version)
    patient.sex_at_birth = "male"  # corrected in identity meanwhile
    patient.save()
    outcome = questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="your-health",
        raw={"conditions": ["none"]},
    )  # fmt: skip
    assert outcome.result.is_valid
    answers = QuestionnaireResponse.objects.get(pk=response.pk).answers
    assert answers["context-sex-at-birth"]["value"] == ["male"]


def test_the_context_items_are_in_the_fhir_response_and_never_on_a_step_page(
    client, demo_version, demo_structure
):
    from django.urls import reverse

    from patients.models import IdentityDocument

    patient = _identified("male")
    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    client.force_login(patient.user)
    client.get(reverse("intake:start"))
    response = QuestionnaireResponse.objects.get(patient=patient)
    client.post(
        reverse("intake:step", args=[response.public_id, 1]),
        {"hair-loss-duration": "1-5-years", "hair-loss-pattern": "crown",
         "family-history": "true", "sudden-onset": "false", "tried-treatments": "none"},
    )  # fmt: skip
    page = html.unescape(
        client.get(reverse("intake:step", args=[response.public_id, 2])).content.decode()
    )
    for link_id in ("context-sex-at-birth", "context-age"):
        assert f'name="{link_id}"' not in page and f'data-link-id="{link_id}"' not in page
    assert 'data-link-id="pregnancy"' in page
    at = page.index('data-link-id="pregnancy"')
    pregnancy_tag = page[page.rindex("<div", 0, at) : page.index(">", at)]
    assert pregnancy_tag.endswith(" hidden")  # the server hid it: the page is right without JS
    exported = questionnaire_response_to_fhir(response=QuestionnaireResponse.objects.get())
    FhirQuestionnaireResponse.model_validate(exported)
    health = next(i for i in exported["item"] if i["linkId"] == "your-health")
    sex = next(i for i in health["item"] if i["linkId"] == "context-sex-at-birth")
    assert sex["answer"] == [{"valueCoding": {"code": "male", "display": "Male"}}]


def test_the_demo_declares_its_context_items_hidden(demo_data):
    health = next(i for i in demo_data["item"] if i["linkId"] == "your-health")
    hidden = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"
    for link_id in ("context-sex-at-birth", "context-age"):
        item = next(i for i in health["item"] if i["linkId"] == link_id)
        assert {"url": hidden, "valueBoolean": True} in item["extension"]


def test_an_expression_typed_in_the_admin_is_checked_again_at_publish():
    from intake.models import Item
    from intake.services import PublishError

    version = questionnaire_import_fhir(data=_expressions_form()).version
    Item.objects.filter(version=version, link_id="score").update(
        calculated_expression="%level.ordinal()"
    )
    with pytest.raises(PublishError) as refused:
        questionnaire_version_publish(version=version)
    assert refused.value.problems == [
        "'score' calculated expression: '%level.ordinal()' cannot be evaluated: "
        "Not implemented: ordinal"
    ]


def test_the_demo_exports_its_exclusive_options_and_hidden_items(demo_version):
    exported = questionnaire_version_to_fhir(version=demo_version)
    items = {}

    def collect(nodes):
        for node in nodes:
            items[node["linkId"]] = node
            collect(node.get("item", []))

    collect(exported["item"])
    exclusive = {"url": EXCLUSIVE, "valueBoolean": True}
    for link_id in ("conditions", "tried-treatments"):
        marked = [o["valueCoding"]["code"] for o in items[link_id]["answerOption"]
                  if exclusive in o.get("extension", [])]  # fmt: skip
        assert marked == ["none"]
    hidden = {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden",
              "valueBoolean": True}  # fmt: skip
    assert hidden in items["context-sex-at-birth"]["extension"]
    assert items["pregnancy"]["enableBehavior"] == "any"

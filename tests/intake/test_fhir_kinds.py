"""FHIR R4 Questionnaire beyond the first subset: codes, every answerOption kind, contained
ValueSets, initial/readOnly/hidden, time/dateTime/url/quantity, SDC display extensions, unknown
extensions kept verbatim, and enableWhen rules checked at import and at publish."""

import copy
import json
from pathlib import Path

import pytest
from django.urls import reverse
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)

from cases.payloads import mdi_case_questions
from intake.fhir import (
    FhirImportError,
    questionnaire_import_fhir,
    questionnaire_response_to_fhir,
    questionnaire_version_to_fhir,
)
from intake.models import EnableWhen, Item, QuestionnaireResponse, QuestionnaireVersion
from intake.services import (
    PublishError,
    questionnaire_response_complete,
    questionnaire_response_save_step,
    questionnaire_response_start,
    questionnaire_version_create_draft_from,
    questionnaire_version_publish,
)
from intake.structure import version_structure_load
from intake.validation import validate_step
from tests.intake.test_validation import STEP1
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fhir"
LOINC = "http://loinc.org"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _export_without_version(version: QuestionnaireVersion) -> dict:
    exported = questionnaire_version_to_fhir(version=version)
    return {k: v for k, v in exported.items() if k not in {"version", "status"}}


def _items(resource: dict) -> dict[str, dict]:
    found = {}

    def walk(items: list[dict]) -> None:
        for item in items:
            found[item["linkId"]] = item
            walk(item.get("item", []))

    walk(resource["item"])
    return found


@pytest.fixture
def kinds_version():
    return questionnaire_import_fhir(data=_load("engine_kinds")).version


@pytest.fixture
def kinds_structure(kinds_version):
    return version_structure_load(version=kinds_version)


def _step(structure, raw: dict) -> object:
    return validate_step(structure=structure, step_link_id="kinds", raw=raw, prior={})


# --- import, export, round trip ---------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["cervical_screening_history", "engine_kinds"])
def test_import_export_reimport_gives_no_difference_and_is_valid_fhir(fixture):
    first = questionnaire_import_fhir(data=_load(fixture)).version
    exported = questionnaire_version_to_fhir(version=first)
    FhirQuestionnaire.model_validate(exported)
    second = questionnaire_import_fhir(data=copy.deepcopy(exported)).version
    assert _export_without_version(second) == _export_without_version(first)


def test_the_cervical_screening_form_keeps_its_string_option_codes_and_unknown_extensions():
    source = _load("cervical_screening_history")
    exported = questionnaire_version_to_fhir(
        version=questionnaire_import_fhir(data=copy.deepcopy(source)).version
    )
    items = _items(exported)
    # the valueString option that used to refuse the whole import
    assert items["ever-screened"]["answerOption"] == [
        {"valueCoding": {"system": LOINC, "code": "LA33-6", "display": "Yes"}},
        {"valueCoding": {"system": LOINC, "code": "LA32-8", "display": "No"}},
        {"valueString": "Not sure"},
    ]
    assert exported["code"] == source["code"]
    assert items["ever-screened"]["code"] == source["item"][0]["item"][0]["code"]
    # unknown extensions, at the root, on an item and on the item's text, come back verbatim
    assert exported["extension"] == source["extension"]
    assert source["item"][0]["item"][1]["extension"][1] in items["last-screening-date"]["extension"]
    assert items["ever-screened"]["_text"] == source["item"][0]["item"][0]["_text"]
    # the contained ValueSet is expanded into options that keep their system
    assert items["last-result"]["answerOption"][1] == {
        "valueCoding": {
            "system": "http://forms.example.org/CodeSystem/screening-result",
            "code": "abnormal",
            "display": "Abnormal",
        }
    }
    # a rule on a coded answer keeps the option's system
    assert items["last-result"]["enableWhen"][0]["answerCoding"]["system"] == LOINC


def test_an_answer_value_set_expands_from_expansion_contains(kinds_structure):
    country = kinds_structure.by_link_id["country"]
    assert [(o.code, o.display, o.system) for o in country.options] == [
        ("GB", "United Kingdom", "urn:iso:std:iso:3166"),
        ("US", "United States", "urn:iso:std:iso:3166"),
        ("FR", "France", "urn:iso:std:iso:3166"),
    ]


def test_an_unrendered_item_control_is_kept_verbatim_not_dropped(kinds_version):
    exported = _items(questionnaire_version_to_fhir(version=kinds_version))
    slider = exported["pain-scale"]["extension"][-1]
    assert slider["valueCodeableConcept"]["coding"][0]["code"] == "slider"
    assert Item.objects.get(version=kinds_version, link_id="pain-scale").item_control == ""


def test_a_new_draft_copies_everything_the_import_kept(kinds_version):
    questionnaire_version_publish(version=kinds_version)
    draft = questionnaire_version_create_draft_from(version=kinds_version)
    assert _export_without_version(draft) == _export_without_version(kinds_version)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["item"][0]["item"][0].update(
                modifierExtension=[{"url": "http://x/mod", "valueBoolean": True}]
            ),
            "modifierExtension",
        ),
        (
            lambda d: d["item"][0]["item"][5]["answerOption"][0].update(
                modifierExtension=[{"url": "http://x/mod", "valueBoolean": True}]
            ),
            r"answerOption\[0\]: modifierExtension",
        ),
        (
            lambda d: d["contained"].append({"resourceType": "Patient", "id": "p"}),
            "only ValueSets",
        ),
        (
            lambda d: d["contained"][0].update(
                expansion={}, compose={"include": [{"system": "urn:iso:std:iso:3166"}]}
            ),
            "must list its concepts",
        ),
        (
            lambda d: d["item"][0]["item"][5]["answerOption"].append({"valueInteger": 2}),
            "same value",
        ),
        (
            lambda d: d["item"][0]["item"][0].update(initial=[{"valueTime": "25:00"}]),
            r"initial\[0\]",
        ),
        (
            lambda d: d["item"][0]["item"][7].update(initial=[{"valueTime": "10:00:00"}]),
            "not one of the options",
        ),
        (
            lambda d: d["item"][0]["item"][6]["enableWhen"][0].update(operator=">"),
            "has no order",
        ),
        (lambda d: d["item"][0]["item"][2].update(_linkId={"x": 1}), "'_linkId'"),
    ],
)
def test_what_cannot_be_represented_is_refused_and_listed(mutate, message):
    data = _load("engine_kinds")
    mutate(data)
    with pytest.raises(FhirImportError, match=message):
        questionnaire_import_fhir(data=data)
    assert not Item.objects.exists()


# --- publish: rules a step page could not evaluate --------------------------------------------


def _publishable_draft(demo_data) -> QuestionnaireVersion:
    return questionnaire_import_fhir(data=demo_data).version


@pytest.mark.parametrize(
    ("operator", "answer", "message"),
    [
        ("~", "true", "unknown operator '~'"),
        ("=", "maybe", "not a valid 'boolean' answer"),
        (">", "true", "has no order"),
    ],
)
def test_publish_refuses_a_rule_a_step_page_could_not_evaluate(
    demo_data, operator, answer, message
):
    draft = _publishable_draft(demo_data)
    EnableWhen.objects.filter(item__version=draft, item__link_id="sudden-onset-details").update(
        operator=operator, answer=answer
    )
    with pytest.raises(PublishError, match=message):
        questionnaire_version_publish(version=draft)


def test_publish_refuses_a_rule_on_an_option_the_question_does_not_have(demo_data):
    draft = _publishable_draft(demo_data)
    EnableWhen.objects.filter(item__version=draft, item__link_id="liver-details").update(
        answer="no-such-option"
    )
    with pytest.raises(PublishError, match="not one of the question's options"):
        questionnaire_version_publish(version=draft)


def test_a_step_page_never_fails_on_an_unknown_operator(client, demo_data):
    """A version published before the check existed still serves its pages."""
    draft = _publishable_draft(demo_data)
    EnableWhen.objects.filter(item__version=draft, item__link_id="sudden-onset-details").update(
        operator="~"
    )
    QuestionnaireVersion.objects.filter(pk=draft.pk).update(status="published")
    patient = PatientFactory(identified=True)
    from patients.models import IdentityDocument

    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    client.force_login(patient.user)
    step_url = client.get(reverse("intake:start")).url
    # the rule is evaluated once its question has an answer
    assert client.post(step_url, {**STEP1, "sudden-onset": "true"}).status_code == 302
    page = client.get(step_url)
    assert page.status_code == 200
    assert 'data-link-id="sudden-onset-details"' in page.content.decode()


def test_publish_refuses_a_required_read_only_question_with_nothing_to_answer_it():
    data = _load("engine_kinds")
    source = data["item"][0]["item"][11]
    source.pop("initial")
    source["required"] = True
    draft = questionnaire_import_fhir(data=data).version
    with pytest.raises(PublishError, match="'source-system' is required but read-only"):
        questionnaire_version_publish(version=draft)


# --- validation of the new kinds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("link_id", "raw", "expected"),
    [
        ("usual-time", "07:30", "07:30:00"),
        ("clinic-website", "https://clinic.example.org/a", "https://clinic.example.org/a"),
        ("height", "180", "180 cm"),  # the first unit offered when none is posted
        ("smear-count", "2", "2"),
        ("preferred-day", "2030-01-08", "2030-01-08"),
        ("country", "France", "FR"),  # autocomplete: a typed label maps to its code
        ("country", "GB", "GB"),
    ],
)
def test_valid_answers_of_each_kind_are_stored_typed(kinds_structure, link_id, raw, expected):
    result = _step(kinds_structure, {link_id: [raw]})
    assert result.is_valid, result.errors
    assert result.answers[link_id] == [expected]


@pytest.mark.parametrize(
    ("link_id", "raw", "error"),
    [
        ("usual-time", "7 o'clock", "HH:MM"),
        ("usual-time", "25:00", "HH:MM"),
        ("appointment-at", "next tuesday", "date and time"),
        ("clinic-website", "javascript:alert(1)", "http:// or https://"),
        ("clinic-website", "ftp://files.example.org", "http:// or https://"),
        ("clinic-website", "https://" + "a" * 60 + ".org", "under 60 characters"),
        ("height", "tall", "number"),
        ("weight", "19", "20 or more"),
        ("weight", "401", "400 or less"),
        ("pain-scale", "11", "10 or less"),
        ("smear-count", "7", "options shown"),
        ("country", "Atlantis", "options shown"),
    ],
)
def test_invalid_answers_of_each_kind_are_refused_on_the_server(
    kinds_structure, link_id, raw, error
):
    result = _step(kinds_structure, {link_id: [raw]})
    assert error in result.errors[link_id][0]


def test_a_quantity_unit_must_be_one_offered(kinds_structure):
    ok = _step(kinds_structure, {"height": ["70"], "height__unit": ["[in_i]"]})
    assert ok.answers["height"] == ["70 [in_i]"]
    bad = _step(kinds_structure, {"height": ["70"], "height__unit": ["furlong"]})
    assert "units shown" in bad.errors["height"][0]


def test_a_date_time_is_stored_with_the_clinic_offset(kinds_structure):
    result = _step(kinds_structure, {"appointment-at": ["2030-01-07T09:15"]})
    stored = result.answers["appointment-at"][0]
    assert stored.startswith("2030-01-07T09:15:00") and stored[19] in "+-"


def test_read_only_and_hidden_items_answer_with_their_initial_value_whatever_is_posted(
    kinds_structure,
):
    result = _step(kinds_structure, {"source-system": ["tampered"], "form-revision": ["9"]})
    assert result.answers["source-system"] == ["Partner EHR"]
    assert result.answers["form-revision"] == ["2.1"]


# --- the patient's page -----------------------------------------------------------------------


@pytest.fixture
def kinds_client(client, kinds_version):
    questionnaire_version_publish(version=kinds_version)
    patient = PatientFactory(identified=True)
    from patients.models import IdentityDocument

    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    client.force_login(patient.user)
    return client


def _first_step_page(client) -> str:
    return client.get(client.get(reverse("intake:start")).url).content.decode()


def test_the_step_page_renders_each_kind_with_suitable_inputs(kinds_client):
    page = _first_step_page(kinds_client)
    assert 'type="time" id="q-usual-time" name="usual-time" value="09:00:00"' in page  # initial
    assert 'type="datetime-local" id="q-appointment-at"' in page
    assert 'type="url" id="q-clinic-website"' in page
    assert 'maxlength="60"' in page and 'placeholder="https://..."' in page
    assert 'name="height__unit"' in page and '<option value="[in_i]">inches</option>' in page
    assert 'min="20" max="400"' in page and '<span class="unit">kg</span>' in page
    assert '<select id="q-smear-count" name="smear-count"' in page  # drop-down
    assert (
        'list="q-country-options"' in page
        and '<option value="France" data-code="FR"></option>' in page
    )
    assert 'value="14:30:00" checked' in page  # initialSelected
    assert (
        'value="Partner EHR"' in page and "disabled" in page.split('id="q-source-system"')[1][:200]
    )
    assert "form-revision" not in page  # questionnaire-hidden


def test_a_completed_response_exports_every_kind_as_valid_fhir(kinds_version, kinds_structure):
    patient = PatientFactory(identified=True)
    kinds_version = questionnaire_version_publish(version=kinds_version)
    response = questionnaire_response_start(patient=patient, version=kinds_version)
    raw = {
        "usual-time": ["07:30"], "appointment-at": ["2030-01-07T09:15"],
        "clinic-website": ["https://clinic.example.org"], "height": ["180"],
        "height__unit": ["cm"], "weight": ["70.5"], "smear-count": ["2"],
        "preferred-slot": ["14:30:00"], "preferred-day": ["2030-01-08"], "country": ["FR"],
        "country-note": ["Family"], "pain-scale": ["3"],
    }  # fmt: skip
    outcome = questionnaire_response_save_step(
        response=response, structure=kinds_structure, step_link_id="kinds", raw=raw
    )
    assert outcome.result.is_valid, outcome.result.errors
    response = QuestionnaireResponse.objects.get(pk=response.pk)
    assert questionnaire_response_complete(response=response, structure=kinds_structure).is_valid
    exported = questionnaire_response_to_fhir(
        response=QuestionnaireResponse.objects.get(pk=response.pk)
    )
    FhirQuestionnaireResponse.model_validate(exported)
    answers = {i["linkId"]: i["answer"] for i in exported["item"][0]["item"]}
    assert answers["usual-time"] == [{"valueTime": "07:30:00"}]
    assert answers["clinic-website"] == [{"valueUri": "https://clinic.example.org"}]
    assert answers["height"] == [
        {
            "valueQuantity": {
                "value": 180.0,
                "unit": "cm",
                "system": "http://unitsofmeasure.org",
                "code": "cm",
            }
        }
    ]
    assert answers["smear-count"] == [{"valueInteger": 2}]
    assert answers["preferred-slot"] == [{"valueTime": "14:30:00"}]
    assert answers["preferred-day"] == [{"valueDate": "2030-01-08"}]
    assert answers["country"] == [
        {"valueCoding": {"system": "urn:iso:std:iso:3166", "code": "FR", "display": "France"}}
    ]
    assert answers["source-system"] == [{"valueString": "Partner EHR"}]
    assert answers["form-revision"] == [{"valueString": "2.1"}]  # hidden, still stored
    assert "valueDateTime" in answers["appointment-at"][0]


# --- codes reach the clinician ----------------------------------------------------------------


def test_a_coded_question_tells_the_clinician_its_loinc_code():
    version = questionnaire_version_publish(
        version=questionnaire_import_fhir(data=_load("cervical_screening_history")).version
    )
    structure = version_structure_load(version=version)
    patient = PatientFactory(identified=True)
    response = questionnaire_response_start(patient=patient, version=version)
    assert questionnaire_response_save_step(
        response=response,
        structure=structure,
        step_link_id="screening-history",
        raw={"ever-screened": ["LA33-6"], "last-result": ["normal"]},
    ).result.is_valid
    response = QuestionnaireResponse.objects.get(pk=response.pk)
    questions = {q["question"]: q for q in mdi_case_questions(response=response)}
    ever = questions["Have you ever had a cervical screening (smear) test?"]
    assert ever["description"] == "Coded as LOINC LQ-EVER-SCREENED"
    assert ever["answer"] == "Yes"
    assert "description" not in questions["What was the result?"]  # no code, no description
    exported = questionnaire_response_to_fhir(response=response)
    FhirQuestionnaireResponse.model_validate(exported)
    assert exported["item"][0]["item"][0]["answer"] == [
        {"valueCoding": {"system": LOINC, "code": "LA33-6", "display": "Yes"}}
    ]


def test_the_version_diff_shows_changes_to_the_new_fields(kinds_version):
    from intake.services import questionnaire_version_diff

    published = questionnaire_version_publish(version=kinds_version)
    draft = questionnaire_version_create_draft_from(version=published)
    Item.objects.filter(version=draft, link_id="source-system").update(
        read_only=False, codes=[{"system": LOINC, "code": "X-1"}]
    )
    changed = questionnaire_version_diff(before=published, after=draft).changed
    assert {(c.link_id, c.field) for c in changed} == {
        ("source-system", "read_only"),
        ("source-system", "codes"),
    }


def test_a_rule_answer_too_long_to_store_is_refused_at_import():
    data = _load("engine_kinds")
    long_text = "x" * 70
    data["item"][0]["item"][8]["answerOption"].append({"valueString": long_text})
    data["item"][0]["item"][2]["enableWhen"] = [
        {"question": "preferred-day", "operator": "=", "answerString": long_text}
    ]
    with pytest.raises(FhirImportError, match="longer than 64 characters"):
        questionnaire_import_fhir(data=data)

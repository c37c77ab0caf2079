import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse as FhirQuestionnaireResponse,
)

from intake.fhir import (
    FhirImportError,
    questionnaire_import_fhir,
    questionnaire_response_to_fhir,
    questionnaire_version_to_fhir,
)
from intake.models import AnswerOption, Item, QuestionnaireResponse
from intake.services import (
    questionnaire_response_complete,
    questionnaire_response_save_step,
    questionnaire_response_start,
    questionnaire_version_create_draft_from,
    questionnaire_version_diff,
    questionnaire_version_publish,
)
from intake.structure import version_structure_load
from tests.intake.test_validation import STEP1, STEP2, STEP3, _answer_all

pytestmark = pytest.mark.django_db


def _completed(patient, version, structure, photo_upload) -> QuestionnaireResponse:
    response = _answer_all(patient, version, structure, photo_upload)
    assert questionnaire_response_complete(response=response, structure=structure).is_valid
    return QuestionnaireResponse.objects.get(pk=response.pk)


def _revise(version):
    draft = questionnaire_version_create_draft_from(version=version)
    item = Item.objects.get(version=draft, link_id="hair-loss-pattern")
    item.text = "Where on your head is the hair loss?"
    item.save()
    option = AnswerOption.objects.get(item=item, code="crown")
    option.display = "The crown (top and back)"
    option.save()
    Item.objects.get(version=draft, link_id="questions-for-clinician").delete()
    Item.objects.create(
        version=draft, parent=Item.objects.get(version=draft, link_id="your-health"),
        link_id="smoker", type="boolean", text="Do you smoke?", order=999,
    )  # fmt: skip
    return questionnaire_version_publish(version=draft)


def test_a_completed_response_keeps_the_wording_the_patient_saw_after_a_revision(
    patient, demo_version, demo_structure, photo_upload
):
    response = _completed(patient, demo_version, demo_structure, photo_upload)
    _revise(demo_version)
    response.refresh_from_db()
    entry = response.answers["hair-loss-pattern"]
    assert entry["text"] == "Which best describes where you are losing hair?"
    assert entry["display"] == ["Thinning at the crown"]
    assert response.version.version == 1
    assert response.version.status == "retired"


def test_the_diff_lists_added_removed_and_reworded_items(demo_version):
    revised = _revise(demo_version)
    diff = questionnaire_version_diff(before=demo_version, after=revised)
    assert diff.added == ("smoker",)
    assert diff.removed == ("questions-for-clinician",)
    changes = {(c.link_id, c.field) for c in diff.changed}
    assert ("hair-loss-pattern", "text") in changes
    assert ("hair-loss-pattern", "options") in changes
    text = diff.as_text()
    assert "+ added   smoker" in text and "- removed questions-for-clinician" in text


def test_export_is_valid_fhir_and_round_trips_losslessly(demo_version, demo_data):
    exported = questionnaire_version_to_fhir(version=demo_version)
    FhirQuestionnaire.model_validate(exported)  # the third-party model accepts it
    reimported = questionnaire_import_fhir(data=copy.deepcopy(exported)).version
    again = questionnaire_version_to_fhir(version=reimported)
    strip = lambda r: {k: v for k, v in r.items() if k not in {"version", "status"}}  # noqa: E731
    assert strip(again) == strip(exported)
    diff = questionnaire_version_diff(before=demo_version, after=reimported)
    assert (diff.added, diff.removed, diff.changed) == ((), (), ())
    # and the shipped file itself survives the round trip item for item
    assert [i["linkId"] for i in exported["item"]] == [i["linkId"] for i in demo_data["item"]]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["item"][0]["item"][0].update(type="reference"),
            "item type 'reference' is not supported",
        ),
        (
            lambda d: d["item"][0]["item"][0].update(
                answerValueSet="http://loinc.org/vs/LL361-7", answerOption=[]
            ),
            "external ValueSet",
        ),
        (
            lambda d: d["item"][0]["item"][0].update(answerValueSet="#missing", answerOption=[]),
            "not a contained ValueSet",
        ),
        (
            lambda d: d["item"][0]["item"][0]["answerOption"].append(
                {"valueReference": {"reference": "Patient/1"}}
            ),
            r"answerOption\[4\] must be one valueCoding",
        ),
        (
            lambda d: d["item"][0]["item"][3].update(initial=[{"valueString": "x"}]),
            "valueString does not fit a 'boolean' question",
        ),
        (lambda d: d.update(copyright="x"), "'copyright' is not supported"),
        (
            lambda d: d["item"][0]["item"][1].update(
                modifierExtension=[{"url": "http://other/mod", "valueBoolean": True}]
            ),
            r"Questionnaire.item\[0\].item\[1\]: modifierExtension",
        ),
        (
            lambda d: d["item"][0]["item"][5]["enableWhen"][0].update(operator="~"),
            "sudden-onset-details: enableWhen\\[0\\] has an unknown operator '~'",
        ),
        (
            lambda d: d["item"][0]["item"][5]["enableWhen"][0].update(question="nowhere"),
            "refers to a question that does not exist",
        ),
        (
            lambda d: (
                d["item"][0]["item"][5]["enableWhen"][0].update(
                    answerBoolean=None, answerCoding={"code": "yes"}
                )
                or d["item"][0]["item"][5]["enableWhen"][0].pop("answerBoolean")
            ),
            "uses answerCoding against a 'boolean' question",
        ),
        (
            lambda d: d["item"][1]["item"][2]["enableWhen"][0].update(
                answerCoding={"code": "no-such-option"}
            ),
            "expects 'no-such-option', which is not one of the question's options",
        ),
        (
            lambda d: d["item"][1]["item"][2]["enableWhen"][0].update(
                question="weight-kg", answerCoding={"code": "70"}
            ),
            "uses answerCoding against a 'decimal' question",
        ),
    ],
)
def test_unsupported_constructs_are_refused_clearly_and_nothing_is_imported(
    demo_data, mutate, message
):
    mutate(demo_data)
    with pytest.raises(FhirImportError, match=message):
        questionnaire_import_fhir(data=demo_data)
    assert not Item.objects.exists()


def test_the_commands_import_and_export(demo_data, tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps(demo_data))
    out = io.StringIO()
    call_command("import_questionnaire", str(path), stdout=out)
    assert "draft version 1" in out.getvalue()
    exported = io.StringIO()
    call_command("export_questionnaire", "hair-loss", "--version", "1", stdout=exported)
    assert json.loads(exported.getvalue())["url"] == demo_data["url"]
    demo_data["item"][0]["type"] = "reference"
    path.write_text(json.dumps(demo_data))
    with pytest.raises(CommandError, match="not supported"):
        call_command("import_questionnaire", str(path), stdout=io.StringIO())


def test_a_completed_response_exports_as_a_valid_questionnaire_response(
    patient, demo_version, demo_structure, photo_upload
):
    response = _completed(patient, demo_version, demo_structure, photo_upload)
    resource = questionnaire_response_to_fhir(response=response)
    parsed = FhirQuestionnaireResponse.model_validate(resource)
    assert parsed.questionnaire == "https://thinclinic.dev/fhir/Questionnaire/hair-loss|1"
    assert parsed.status == "completed"
    steps = {group.linkId: group for group in parsed.item}
    answers = {item.linkId: item.answer[0] for item in steps["about-hair-loss"].item}
    assert answers["family-history"].valueBoolean is True
    assert answers["hair-loss-pattern"].valueCoding.code == "crown"
    assert answers["hair-loss-pattern"].valueCoding.display == "Thinning at the crown"
    photo = {i.linkId: i for i in steps["photos-and-goals"].item}["scalp-photo"].answer[0]
    assert photo.valueAttachment.contentType == "image/jpeg"


def test_the_structure_loads_in_a_fixed_number_of_queries(demo_version, django_assert_num_queries):
    with django_assert_num_queries(3):
        version_structure_load(version=demo_version)


def test_draft_resumes_on_its_own_version_after_a_new_publish(
    patient, demo_version, demo_structure
):
    response = questionnaire_response_start(patient=patient, version=demo_version)
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="about-hair-loss", raw=STEP1
    )
    _revise(demo_version)
    response.refresh_from_db()
    assert response.version_id == demo_version.pk
    for step, raw in [("your-health", STEP2), ("medications", STEP3)]:
        assert questionnaire_response_save_step(
            response=response, structure=demo_structure, step_link_id=step, raw=raw
        ).result.is_valid

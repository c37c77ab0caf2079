"""The one rule set, on steps and on whole responses, including crafted POSTs."""

import pytest

from intake.fhir import questionnaire_import_fhir
from intake.models import QuestionnaireResponse, ResponseStatus
from intake.services import (
    questionnaire_response_complete,
    questionnaire_response_save_step,
    questionnaire_response_start,
    questionnaire_version_publish,
)
from intake.structure import version_structure_load
from intake.validation import validate_step

pytestmark = pytest.mark.django_db

STEP1 = {
    "hair-loss-duration": ["1-5-years"],
    "hair-loss-pattern": ["crown"],
    "family-history": ["true"],
    "sudden-onset": ["false"],
    "tried-treatments": ["minoxidil"],
}
STEP2 = {"pregnancy": ["false"], "conditions": ["none"]}
STEP3 = {"takes-medications": ["false"], "has-allergies": ["false"]}


def _validate(structure, step, raw, prior=None):
    return validate_step(structure=structure, step_link_id=step, raw=raw, prior=prior or {})


def test_a_complete_step_validates_and_types_are_coerced(demo_structure):
    result = _validate(
        demo_structure,
        "your-health",
        {**STEP2, "systolic-pressure": ["120"], "weight-kg": ["80.5"]},
    )
    assert result.is_valid
    assert result.answers["pregnancy"] == [False]
    assert result.answers["systolic-pressure"] == [120]
    assert result.answers["weight-kg"] == ["80.5"]


def test_required_enabled_items_must_be_answered(demo_structure):
    result = _validate(demo_structure, "about-hair-loss", {**STEP1, "hair-loss-pattern": [""]})
    assert result.errors == {"hair-loss-pattern": ["This question needs an answer."]}


def test_a_required_follow_up_is_required_only_when_it_shows(demo_structure):
    hidden = _validate(demo_structure, "about-hair-loss", STEP1)
    assert hidden.is_valid
    shown = _validate(demo_structure, "about-hair-loss", {**STEP1, "sudden-onset": ["true"]})
    assert shown.errors == {"sudden-onset-details": ["This question needs an answer."]}


def test_an_answer_to_a_hidden_item_is_discarded(demo_structure):
    crafted = {**STEP1, "sudden-onset-details": ["injected text"]}
    result = _validate(demo_structure, "about-hair-loss", crafted)
    assert result.is_valid
    assert "sudden-onset-details" not in result.answers


def test_bounds_types_and_lengths_are_enforced(demo_structure):
    result = _validate(
        demo_structure, "your-health",
        {**STEP2, "systolic-pressure": ["20"], "weight-kg": ["heavy"], "last-checkup": ["1900-01-01"]},
    )  # fmt: skip
    assert result.errors["systolic-pressure"] == ["Please enter 60 or more."]
    assert result.errors["weight-kg"] == ["Please enter a number."]
    assert "1950-01-01" in result.errors["last-checkup"][0]
    too_long = _validate(
        demo_structure,
        "medications",
        {**STEP3, "has-allergies": ["true"], "allergy-list": ["x" * 501]},
    )
    assert too_long.errors["allergy-list"] == ["Please keep this under 500 characters."]


def test_a_choice_outside_the_options_is_refused_but_open_choice_takes_other_text(demo_structure):
    bad = _validate(demo_structure, "about-hair-loss", {**STEP1, "hair-loss-pattern": ["made-up"]})
    assert bad.errors == {"hair-loss-pattern": ["Please choose one of the options shown."]}
    two = _validate(
        demo_structure, "about-hair-loss", {**STEP1, "hair-loss-pattern": ["crown", "diffuse"]}
    )
    assert two.errors == {"hair-loss-pattern": ["Please choose one answer."]}
    other = _validate(
        demo_structure, "about-hair-loss", {**STEP1, "tried-treatments": ["minoxidil", "laser cap"]}
    )
    assert other.answers["tried-treatments"] == ["minoxidil", "other:laser cap"]


def test_the_disqualifying_answer_is_reported_with_its_explanation(demo_structure):
    result = _validate(demo_structure, "your-health", {**STEP2, "pregnancy": ["true"]})
    assert result.is_valid
    assert [d.link_id for d in result.disqualifications] == ["pregnancy"]
    assert "You have not been charged" in result.disqualifications[0].explanation


def test_a_rule_on_an_earlier_step_uses_the_saved_answer(demo_structure):
    prior = {"tried-treatments": ["finasteride"]}
    result = _validate(demo_structure, "medications", STEP3, prior)
    assert result.errors == {"finasteride-side-effects": ["This question needs an answer."]}
    assert _validate(
        demo_structure, "medications", STEP3, {"tried-treatments": ["minoxidil"]}
    ).is_valid


def _answer_all(patient, version, structure, photo_upload):
    response = questionnaire_response_start(patient=patient, version=version)
    for step, raw in [("about-hair-loss", STEP1), ("your-health", STEP2), ("medications", STEP3)]:
        assert questionnaire_response_save_step(
            response=response, structure=structure, step_link_id=step, raw=raw
        ).result.is_valid
    outcome = questionnaire_response_save_step(
        response=response, structure=structure, step_link_id="photos-and-goals",
        raw={"treatment-preference": ["both"], "attestation": ["confirmed"]}, files={"scalp-photo": photo_upload()},
    )  # fmt: skip
    assert outcome.result.is_valid, outcome.result.errors
    return QuestionnaireResponse.objects.get(pk=response.pk)


def test_a_full_response_completes(patient, demo_version, demo_structure, photo_upload):
    response = _answer_all(patient, demo_version, demo_structure, photo_upload)
    result = questionnaire_response_complete(response=response, structure=demo_structure)
    assert result.is_valid
    response.refresh_from_db()
    assert response.status == ResponseStatus.COMPLETED
    assert response.attachments.count() == 1


def test_complete_refuses_when_a_step_was_skipped(patient, demo_version, demo_structure):
    """A crafted request that jumps to the end: the whole response is re-validated."""
    response = questionnaire_response_start(patient=patient, version=demo_version)
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="about-hair-loss", raw=STEP1
    )
    result = questionnaire_response_complete(response=response, structure=demo_structure)
    assert not result.is_valid
    assert "pregnancy" in result.errors
    assert result.errors["your-health"] == ["This step has not been completed."]
    response.refresh_from_db()
    assert response.status == ResponseStatus.IN_PROGRESS


def test_complete_revalidates_answers_whose_conditions_changed(
    patient, demo_version, demo_structure, photo_upload
):
    """Step 1 said 'finasteride' and step 3 answered its follow-up; then step 1 was changed.
    The now-hidden answer is discarded at completion, never sent to a clinician."""
    response = _answer_all(patient, demo_version, demo_structure, photo_upload)
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="about-hair-loss",
        raw={**STEP1, "tried-treatments": ["finasteride"]},
    )  # fmt: skip
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="medications",
        raw={**STEP3, "finasteride-side-effects": ["false"]},
    )  # fmt: skip
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="about-hair-loss", raw=STEP1
    )
    result = questionnaire_response_complete(response=response, structure=demo_structure)
    assert result.is_valid
    response.refresh_from_db()
    assert "finasteride-side-effects" not in response.answers


def test_a_disqualifying_answer_stops_the_response(patient, demo_version, demo_structure):
    response = questionnaire_response_start(patient=patient, version=demo_version)
    outcome = questionnaire_response_save_step(
        response=response,
        structure=demo_structure,
        step_link_id="your-health",
        raw={**STEP2, "pregnancy": ["true"]},
    )
    assert outcome.disqualification.link_id == "pregnancy"
    response.refresh_from_db()
    assert response.status == ResponseStatus.STOPPED
    assert response.stopped_by_link_id == "pregnancy"


def test_an_invalid_step_saves_nothing(patient, demo_version, demo_structure):
    response = questionnaire_response_start(patient=patient, version=demo_version)
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="about-hair-loss", raw=STEP1
    )
    bad = {**STEP1, "hair-loss-pattern": ["made-up"], "family-history": ["false"]}
    questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="about-hair-loss", raw=bad
    )
    response.refresh_from_db()
    assert response.answers["family-history"]["value"] == [True]


def test_a_disguised_upload_is_an_error_on_its_question(patient, demo_version, demo_structure):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = questionnaire_response_start(patient=patient, version=demo_version)
    outcome = questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="photos-and-goals",
        raw={"treatment-preference": ["both"], "attestation": ["confirmed"]},
        files={"scalp-photo": SimpleUploadedFile("scalp.jpg", b"<?php echo 1; ?>" * 20, "image/jpeg")},
    )  # fmt: skip
    assert "file type isn't accepted" in outcome.result.errors["scalp-photo"][0]
    assert response.attachments.count() == 0


def _stolen_attachment_ref(patient, demo_version, demo_structure, photo_upload) -> str:
    """The public id of a file another patient uploaded to their own response."""
    other = _answer_all(patient.__class__.objects.create(user=patient.user.__class__.objects.create(email="o@example.com")),
                        demo_version, demo_structure, photo_upload)  # fmt: skip
    return str(other.attachments.get().public_id)


def test_an_attachment_answer_must_be_a_file_of_this_response(
    patient, demo_version, demo_structure, photo_upload
):
    """The ownership check itself: a reference that reaches validation (here from the
    response's stored answers, as a copied or tampered record would carry it) naming another
    response's file is refused. The question is answered, so `required` plays no part."""
    stolen = _stolen_attachment_ref(patient, demo_version, demo_structure, photo_upload)
    response = questionnaire_response_start(patient=patient, version=demo_version)
    response.answers = {"scalp-photo": {"value": [stolen], "text": "", "type": "attachment"}}
    response.save()
    outcome = questionnaire_response_save_step(
        response=response, structure=demo_structure, step_link_id="photos-and-goals",
        raw={"treatment-preference": ["both"], "attestation": ["confirmed"]},
    )  # fmt: skip
    assert outcome.result.errors == {"scalp-photo": ["Please upload the file again."]}


def test_a_posted_attachment_reference_is_never_taken_as_the_answer(
    patient, demo_data, demo_version, demo_structure, photo_upload
):
    """With the upload optional, a posted id of someone else's file is simply ignored: only
    a file uploaded with the request (or already stored for this response) answers it."""
    stolen = _stolen_attachment_ref(patient, demo_version, demo_structure, photo_upload)
    scalp = demo_data["item"][3]["item"][0]
    assert scalp["linkId"] == "scalp-photo"
    scalp["required"] = False
    demo_data["url"] += "-optional-photo"
    draft = questionnaire_import_fhir(data=demo_data).version
    version = questionnaire_version_publish(version=draft)
    structure = version_structure_load(version=version)
    response = questionnaire_response_start(patient=patient, version=version)
    outcome = questionnaire_response_save_step(
        response=response, structure=structure, step_link_id="photos-and-goals",
        raw={"treatment-preference": ["both"], "attestation": ["confirmed"], "scalp-photo": [stolen]},
    )  # fmt: skip
    assert outcome.result.is_valid
    assert "scalp-photo" not in QuestionnaireResponse.objects.get(pk=response.pk).answers

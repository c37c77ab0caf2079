import factory
from factory.django import DjangoModelFactory

from intake.models import (
    AnswerOption,
    EnableWhen,
    Item,
    ItemType,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
)
from tests.patients.factories import PatientFactory  # noqa: F401 - re-exported for intake tests


class QuestionnaireFactory(DjangoModelFactory):
    class Meta:
        model = Questionnaire

    slug = factory.Sequence(lambda n: f"questionnaire-{n}")
    url = factory.LazyAttribute(lambda o: f"https://thinclinic.dev/fhir/Questionnaire/{o.slug}")
    title = "Test questionnaire"


class QuestionnaireVersionFactory(DjangoModelFactory):
    """Always created as a draft: the constructor may not set a frozen state; services do."""

    class Meta:
        model = QuestionnaireVersion

    questionnaire = factory.SubFactory(QuestionnaireFactory)
    version = factory.Sequence(lambda n: n + 1)
    title = "Test questionnaire"


class ItemFactory(DjangoModelFactory):
    class Meta:
        model = Item

    version = factory.SubFactory(QuestionnaireVersionFactory)
    link_id = factory.Sequence(lambda n: f"item-{n}")
    type = ItemType.STRING
    text = factory.LazyAttribute(lambda o: f"Question {o.link_id}?")
    order = factory.Sequence(lambda n: n)


class AnswerOptionFactory(DjangoModelFactory):
    class Meta:
        model = AnswerOption

    item = factory.SubFactory(ItemFactory, type=ItemType.CHOICE)
    code = factory.Sequence(lambda n: f"code-{n}")
    display = factory.LazyAttribute(lambda o: f"Option {o.code}")


class EnableWhenFactory(DjangoModelFactory):
    class Meta:
        model = EnableWhen

    item = factory.SubFactory(ItemFactory)
    operator = "="


class QuestionnaireResponseFactory(DjangoModelFactory):
    """A completed response with no answers: enough for rows that refer to an intake."""

    class Meta:
        model = QuestionnaireResponse

    patient = factory.SubFactory("tests.patients.factories.PatientFactory")
    version = factory.SubFactory(QuestionnaireVersionFactory)
    status = ResponseStatus.COMPLETED


PREGNANCY_QUESTION = "Are you pregnant, trying to become pregnant, or breastfeeding?"


def stopped_intake(*, patient, version, structure) -> QuestionnaireResponse:
    """A demo intake stopped by a disqualifying answer (pregnancy: yes) on its second step,
    through the real service, as the patient's own answers would stop it."""
    from intake.services import questionnaire_response_save_step, questionnaire_response_start
    from tests.intake.test_validation import STEP1, STEP2

    response = questionnaire_response_start(patient=patient, version=version)
    for step, raw in [
        ("about-hair-loss", STEP1),
        ("your-health", {**STEP2, "pregnancy": ["true"]}),
    ]:
        outcome = questionnaire_response_save_step(
            response=response, structure=structure, step_link_id=step, raw=raw
        )
    assert outcome.disqualification is not None
    response.refresh_from_db()
    assert response.status == ResponseStatus.STOPPED
    return response

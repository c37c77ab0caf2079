import pytest
from django.db import IntegrityError

from intake.models import ItemType, QuestionnaireVersion, VersionStatus
from intake.services import (
    PublishError,
    questionnaire_version_create_draft_from,
    questionnaire_version_publish,
)
from tests.intake.factories import (
    AnswerOptionFactory,
    EnableWhenFactory,
    ItemFactory,
    QuestionnaireFactory,
    QuestionnaireVersionFactory,
)

pytestmark = pytest.mark.django_db


def _valid_draft(**kwargs):
    version = QuestionnaireVersionFactory(**kwargs)
    step = ItemFactory(version=version, type=ItemType.GROUP, link_id="step", order=1)
    choice = ItemFactory(
        version=version, parent=step, type=ItemType.CHOICE, link_id="colour", order=2
    )
    AnswerOptionFactory(item=choice, code="red")
    return version, step


def test_a_valid_draft_publishes_and_retires_the_previous_version():
    questionnaire = QuestionnaireFactory()
    first, _ = _valid_draft(questionnaire=questionnaire, version=1)
    questionnaire_version_publish(version=first)
    second = questionnaire_version_create_draft_from(version=first)
    questionnaire_version_publish(version=second)
    statuses = dict(QuestionnaireVersion.objects.values_list("version", "status"))
    assert statuses == {1: VersionStatus.RETIRED, 2: VersionStatus.PUBLISHED}


def test_the_database_refuses_two_published_versions():
    questionnaire = QuestionnaireFactory()
    first, _ = _valid_draft(questionnaire=questionnaire, version=1)
    second, _ = _valid_draft(questionnaire=questionnaire, version=2)
    questionnaire_version_publish(version=first)
    with pytest.raises(IntegrityError):
        QuestionnaireVersion.objects.filter(pk=second.pk).update(status=VersionStatus.PUBLISHED)


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda v, s: ItemFactory(version=v, parent=s, type=ItemType.CHOICE, link_id="empty"),
            "has no answer options",
        ),
        (
            lambda v, s: ItemFactory(version=v, type=ItemType.STRING, link_id="loose"),
            "outside any step",
        ),
        (
            lambda v, s: EnableWhenFactory(
                item=ItemFactory(version=v, parent=s, link_id="x"), question="nope", answer="1"
            ),
            "does not exist",
        ),
        (
            lambda v, s: EnableWhenFactory(
                item=ItemFactory(version=v, parent=s, link_id="early", order=0),
                question="colour",
                answer="red",
            ),
            "comes after it",
        ),
        (
            lambda v, s: ItemFactory(
                version=v, parent=s, type=ItemType.BOOLEAN, link_id="p", disqualifying_answer="true"
            ),
            "no explanation",
        ),
    ],
    ids=[
        "choice-without-options",
        "item-outside-step",
        "rule-on-missing-item",
        "rule-on-later-item",
        "stop-without-reason",
    ],
)
def test_publish_refuses_an_unsafe_version_and_says_why(break_it, expected):
    version, step = _valid_draft()
    break_it(version, step)
    with pytest.raises(PublishError, match=expected):
        questionnaire_version_publish(version=version)
    assert QuestionnaireVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT


def test_a_version_with_no_steps_cannot_be_published():
    with pytest.raises(PublishError, match="no steps"):
        questionnaire_version_publish(version=QuestionnaireVersionFactory())


def test_only_a_draft_can_be_published():
    version, _ = _valid_draft()
    questionnaire_version_publish(version=version)
    with pytest.raises(PublishError, match="only a draft"):
        questionnaire_version_publish(version=version)


def test_duplicate_link_ids_are_refused_by_the_database():
    version, step = _valid_draft()
    with pytest.raises(IntegrityError):
        ItemFactory(version=version, parent=step, link_id="colour")

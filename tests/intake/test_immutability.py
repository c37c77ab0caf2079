"""A published or retired version is frozen on every write path; a draft is editable."""

import pytest

from intake.models import (
    AnswerOption,
    EnableWhen,
    ImmutableVersionError,
    Item,
    ItemType,
    QuestionnaireVersion,
    VersionStatus,
)
from intake.services import (
    questionnaire_version_create_draft_from,
    questionnaire_version_publish,
    questionnaire_version_retire,
)
from tests.intake.factories import (
    AnswerOptionFactory,
    EnableWhenFactory,
    ItemFactory,
    QuestionnaireVersionFactory,
)

pytestmark = pytest.mark.django_db


def _version_with_content():
    version = QuestionnaireVersionFactory()
    step = ItemFactory(version=version, type=ItemType.GROUP, link_id="step", text="Step")
    choice = ItemFactory(version=version, parent=step, type=ItemType.CHOICE, link_id="colour")
    AnswerOptionFactory(item=choice, code="red")
    follow_up = ItemFactory(version=version, parent=step, link_id="why")
    EnableWhenFactory(item=follow_up, question="colour", operator="=", answer="red")
    return version


@pytest.fixture(params=["published", "retired"])
def frozen_version(request):
    version = questionnaire_version_publish(version=_version_with_content())
    if request.param == "retired":
        version = questionnaire_version_retire(version=version)
    return version


def test_a_draft_can_be_edited_on_every_path():
    version = _version_with_content()
    item = Item.objects.get(version=version, link_id="why")
    item.text = "Reworded?"
    item.save()
    Item.objects.filter(version=version).update(help_text="help")
    option = AnswerOption.objects.get(item__version=version)
    option.display = "Crimson"
    option.save()
    Item.objects.bulk_update([item], ["text"])
    Item.objects.bulk_create(
        [Item(version=version, link_id="new", type="string", text="New?", order=99)]
    )
    EnableWhen.objects.filter(item__version=version).delete()
    assert Item.objects.get(version=version, link_id="why").help_text == "help"


def test_item_save_is_refused(frozen_version):
    item = Item.objects.get(version=frozen_version, link_id="why")
    item.text = "Reworded?"
    with pytest.raises(ImmutableVersionError):
        item.save()
    assert Item.objects.get(pk=item.pk).text != "Reworded?"


def test_reordering_is_refused(frozen_version):
    item = Item.objects.get(version=frozen_version, link_id="why")
    item.order = 0
    with pytest.raises(ImmutableVersionError):
        item.save()
    with pytest.raises(ImmutableVersionError):
        Item.objects.bulk_update([item], ["order"])


def test_queryset_update_and_delete_are_refused(frozen_version):
    with pytest.raises(ImmutableVersionError):
        Item.objects.filter(version=frozen_version).update(text="x")
    with pytest.raises(ImmutableVersionError):
        Item.objects.filter(version=frozen_version).delete()
    with pytest.raises(ImmutableVersionError):
        AnswerOption.objects.filter(item__version=frozen_version).update(display="x")
    with pytest.raises(ImmutableVersionError):
        EnableWhen.objects.filter(item__version=frozen_version).update(answer="blue")
    assert Item.objects.filter(version=frozen_version).count() == 3


def test_adding_or_deleting_rows_is_refused(frozen_version):
    with pytest.raises(ImmutableVersionError):
        Item.objects.create(version=frozen_version, link_id="sneaky", type="string", text="?")
    with pytest.raises(ImmutableVersionError):
        Item.objects.bulk_create(
            [Item(version=frozen_version, link_id="sneaky", type="string", text="?")]
        )
    choice = Item.objects.get(version=frozen_version, link_id="colour")
    with pytest.raises(ImmutableVersionError):
        AnswerOption.objects.create(item=choice, code="blue", display="Blue")
    with pytest.raises(ImmutableVersionError):
        AnswerOption.objects.get(item=choice).delete()
    with pytest.raises(ImmutableVersionError):
        EnableWhen.objects.get(item__version=frozen_version).delete()


def test_option_and_rule_saves_are_refused(frozen_version):
    option = AnswerOption.objects.get(item__version=frozen_version)
    option.display = "Crimson"
    with pytest.raises(ImmutableVersionError):
        option.save()
    rule = EnableWhen.objects.get(item__version=frozen_version)
    rule.answer = "blue"
    with pytest.raises(ImmutableVersionError):
        rule.save()


def test_moving_an_item_from_a_draft_into_a_frozen_version_is_refused(frozen_version):
    draft_item = ItemFactory()
    draft_item.version = frozen_version
    with pytest.raises(ImmutableVersionError):
        draft_item.save()
    with pytest.raises(ImmutableVersionError):
        Item.objects.filter(pk=draft_item.pk).update(version=frozen_version)


def test_the_version_row_itself_is_frozen_except_for_its_transitions(frozen_version):
    frozen_version.title = "New title"
    with pytest.raises(ImmutableVersionError):
        frozen_version.save()
    with pytest.raises(ImmutableVersionError):
        QuestionnaireVersion.objects.filter(pk=frozen_version.pk).update(title="New title")
    with pytest.raises(ImmutableVersionError):
        QuestionnaireVersion.objects.get(pk=frozen_version.pk).delete()


def test_status_cannot_be_assigned_directly(frozen_version):
    with pytest.raises(AttributeError):
        frozen_version.status = VersionStatus.DRAFT


def test_changes_happen_through_a_new_draft_which_leaves_the_original_untouched(frozen_version):
    draft = questionnaire_version_create_draft_from(version=frozen_version)
    assert draft.status == VersionStatus.DRAFT
    assert draft.version == frozen_version.version + 1
    item = Item.objects.get(version=draft, link_id="why")
    item.text = "Reworded?"
    item.save()
    assert Item.objects.get(version=frozen_version, link_id="why").text == "Question why?"
    assert AnswerOption.objects.filter(item__version=draft).count() == 1
    copied_rule = EnableWhen.objects.get(item__version=draft)
    assert (copied_rule.question, copied_rule.answer) == ("colour", "red")
    assert Item.objects.get(version=draft, link_id="why").parent.version == draft

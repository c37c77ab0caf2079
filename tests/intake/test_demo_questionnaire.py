import io

import pytest
from django.core.management import call_command

from intake.models import ItemType, Questionnaire, VersionStatus

pytestmark = pytest.mark.django_db


def test_the_demo_questionnaire_is_a_real_intake(demo_structure):
    answerable = [n for n in demo_structure.ordered if n.is_answerable]
    assert len(demo_structure.steps) >= 4
    assert len(demo_structure.ordered) >= 20
    assert any(n.disqualifying_answer for n in answerable)
    assert any(n.enable_when for n in answerable)
    assert any(n.type == ItemType.ATTACHMENT for n in answerable)
    assert any(n.is_important_for_clinician for n in answerable)


def test_seed_demo_publishes_it_once(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    questionnaire = Questionnaire.objects.get()
    assert questionnaire.versions.count() == 1
    assert questionnaire.versions.get().status == VersionStatus.PUBLISHED
    assert questionnaire.minimum_age == 18

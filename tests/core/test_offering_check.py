"""cases.E001: without the sandbox, every published questionnaire needs an MDI offering UUID."""

import uuid

import pytest
from django.core import checks
from django.db import OperationalError

from cases.checks import check_offerings_for_published_questionnaires as check
from cases.models import Offering

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox_off(settings):
    settings.MDI_SANDBOX_ENABLED = False


def _ids(**kwargs) -> list[str]:
    return [e.id for e in check(databases=["default"], **kwargs)]


def test_a_published_questionnaire_with_a_readable_offering_id_is_an_error(
    sandbox_off, demo_version
):
    Offering.objects.create(name="F", questionnaire_slug="hair-loss", mdi_offering_id="finasteride")
    errors = check(databases=["default"])
    assert [e.id for e in errors] == ["cases.E001"]
    assert "'hair-loss'" in errors[0].msg and "UUID" in errors[0].hint


def test_a_published_questionnaire_without_any_offering_is_an_error(sandbox_off, demo_version):
    assert _ids() == ["cases.E001"]


def test_an_inactive_uuid_offering_does_not_count(sandbox_off, demo_version):
    Offering.objects.create(
        name="F", questionnaire_slug="hair-loss", mdi_offering_id=str(uuid.uuid4()), is_active=False
    )
    assert _ids() == ["cases.E001"]


def test_an_active_uuid_offering_with_a_price_satisfies_it(sandbox_off, demo_version):
    Offering.objects.create(name="Old", questionnaire_slug="hair-loss", mdi_offering_id="old-id")
    offering = Offering.objects.create(
        name="F", questionnaire_slug="hair-loss", mdi_offering_id=str(uuid.uuid4())
    )
    assert _ids() == ["cases.E001"]  # no price yet: nobody could check out
    offering.price_minor = 4900
    offering.save()
    assert _ids() == []


def test_the_sandbox_needs_no_real_offering(settings, demo_version):
    settings.MDI_SANDBOX_ENABLED = True
    assert _ids() == []


def test_it_is_registered_and_only_queries_the_databases_it_is_given(sandbox_off, demo_version):
    assert "cases.E001" in [e.id for e in checks.run_checks(databases=["default"])]
    assert "cases.E001" not in [e.id for e in checks.run_checks()]


def test_an_unreachable_database_is_not_an_error(sandbox_off, monkeypatch):
    from django.db import connection

    def down(*args, **kwargs):
        raise OperationalError("down")

    monkeypatch.setattr(connection.introspection, "table_names", down)
    assert _ids() == []


def test_tables_not_yet_created_are_not_an_error(sandbox_off, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection.introspection, "table_names", lambda *a, **k: [])
    assert _ids() == []

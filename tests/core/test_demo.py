import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_staff_with_roles_and_prints_working_passwords(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    User = get_user_model()
    lines = {
        line.split()[-2]: line.split()[-1]
        for line in out.getvalue().splitlines()
        if "@example.com" in line
    }
    assert set(lines) == {
        "admin@example.com",
        "advisor@example.com",
        "support@example.com",
        "clinician@example.com",  # the sandbox clinician (mdi_sandbox/demo.py)
    }
    advisor = User.objects.get(email="advisor@example.com")
    assert advisor.check_password(lines["advisor@example.com"])
    assert list(advisor.groups.values_list("name", flat=True)) == ["Medical advisors"]
    assert User.objects.get(email="admin@example.com").is_superuser


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())


def test_seed_demo_says_where_the_sandbox_credentials_live(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert settings.MDI_CLIENT_ID in out.getvalue()
    assert str(settings.MDI_SANDBOX_CREDENTIALS_FILE) in out.getvalue()


def test_seed_demo_gives_an_old_readable_demo_offering_its_uuid(settings):
    from cases.demo import DEMO_OFFERING_ID
    from cases.models import Offering

    settings.DEBUG = True
    Offering.objects.create(
        name="Old",
        questionnaire_slug="hair-loss",
        mdi_offering_id="sandbox-offering-finasteride-1mg",
    )
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert list(Offering.objects.values_list("mdi_offering_id", flat=True)) == [DEMO_OFFERING_ID]


def test_demo_code_prints_the_code_that_signs_a_demo_staff_member_in(settings, client):
    from django.urls import reverse

    from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory

    settings.DEBUG = True
    staff = StaffUserFactory(is_superuser=True)
    out = io.StringIO()
    call_command("demo_code", staff.email, stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    client.post(reverse("accounts:login"), {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert client.post(reverse("accounts:mfa_verify"), {"code": code}).status_code == 302
    assert client.get("/staff/").status_code == 200


def test_demo_code_refuses_to_run_without_debug(settings):
    from tests.accounts.factories import StaffUserFactory

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("demo_code", StaffUserFactory().email, stdout=io.StringIO())

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission

from core.roles import SANDBOX_CLINICIANS
from tests.accounts.factories import StaffUserFactory
from tests.cases.conftest import completed, completed_unpaid  # noqa: F401 - shared fixtures
from tests.staff import staff_login

PARTNER = "/mdi-sandbox/api/v1/partner"


@pytest.fixture
def clinician_user(db):
    """A staff user in the sandbox clinicians group, the only role the console admits."""
    group, _ = Group.objects.get_or_create(name=SANDBOX_CLINICIANS)
    group.permissions.add(Permission.objects.get(codename="act_as_clinician"))
    user = StaffUserFactory()
    user.groups.add(group)
    return user


@pytest.fixture
def staff(client, clinician_user):
    """The console's client: signed in as a sandbox clinician."""
    return staff_login(client, clinician_user)


@pytest.fixture
def auth(client) -> dict[str, str]:
    """Headers with a bearer token obtained with this run's credentials (from settings)."""
    response = client.post(
        f"{PARTNER}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": django_settings.MDI_CLIENT_ID,
            "client_secret": django_settings.MDI_CLIENT_SECRET,
            "scope": "*",
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}

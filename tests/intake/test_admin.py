import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.roles import MEDICAL_ADVISORS
from intake.models import Item, QuestionnaireVersion, VersionStatus
from intake.services import questionnaire_version_create_draft_from
from tests.accounts.factories import StaffUserFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor_client(client):
    advisor = StaffUserFactory()
    advisor.groups.add(Group.objects.get(name=MEDICAL_ADVISORS))
    return staff_login(client, advisor)


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:intake_questionnaire_changelist",
        "admin:intake_questionnaireversion_changelist",
        "admin:intake_item_changelist",
    ],
)
def test_advisors_work_on_questionnaires(advisor_client, url_name):
    assert advisor_client.get(reverse(url_name)).status_code == 200


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:accounts_user_changelist",
        "admin:core_accesslog_changelist",
        "admin:auth_group_changelist",
    ],
)
def test_advisors_cannot_see_patients_accounts_or_logs(advisor_client, url_name):
    assert advisor_client.get(reverse(url_name)).status_code == 403


def test_the_admin_index_shows_advisors_only_the_questionnaire_app(advisor_client):
    apps = {
        app["app_label"] for app in advisor_client.get(reverse("admin:index")).context["app_list"]
    }
    assert apps == {"intake"}


def test_advisors_cannot_reach_responses(advisor_client):
    """Answers are PHI: the responses admin (support's, with a permission) refuses advisors."""
    assert advisor_client.get("/staff/intake/questionnaireresponse/").status_code == 403


def _action(client, action, version):
    return client.post(
        reverse("admin:intake_questionnaireversion_changelist"),
        {"action": action, "_selected_action": [version.pk]},
        follow=True,
    )


def test_publish_new_draft_and_retire_actions(advisor_client, demo_version):
    response = _action(advisor_client, "create_drafts", demo_version)
    assert "draft created" in response.content.decode()
    draft = QuestionnaireVersion.objects.get(status=VersionStatus.DRAFT)
    response = _action(advisor_client, "publish_versions", draft)
    assert "published" in response.content.decode()
    assert QuestionnaireVersion.objects.get(pk=demo_version.pk).status == VersionStatus.RETIRED
    _action(advisor_client, "retire_versions", draft)
    assert QuestionnaireVersion.objects.get(pk=draft.pk).status == VersionStatus.RETIRED


def test_publish_of_an_invalid_draft_shows_why(advisor_client, demo_version):
    draft = questionnaire_version_create_draft_from(version=demo_version)
    Item.objects.create(version=draft, link_id="loose", type="string", text="?", order=0)
    response = _action(advisor_client, "publish_versions", draft)
    assert "outside any step" in response.content.decode()
    assert QuestionnaireVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT


def _change_form_post(version, **overrides):
    items = list(Item.objects.filter(version=version).order_by("order"))
    data = {
        "questionnaire": version.questionnaire_id,
        "version": version.version,
        "title": overrides.get("title", version.title),
        "description": version.description,
        "items-TOTAL_FORMS": len(items),
        "items-INITIAL_FORMS": len(items),
        "items-MIN_NUM_FORMS": 0,
        "items-MAX_NUM_FORMS": 1000,
    }
    for i, item in enumerate(items):
        data.update(
            {
                f"items-{i}-id": item.pk,
                f"items-{i}-version": version.pk,
                f"items-{i}-order": len(items) - i,  # reverse the order
                f"items-{i}-link_id": item.link_id,
                f"items-{i}-type": item.type,
                f"items-{i}-parent": item.parent_id or "",
                f"items-{i}-prefix": item.prefix,
                f"items-{i}-text": overrides.get("text", item.text),
                f"items-{i}-required": "on" if item.required else "",
                f"items-{i}-is_important_for_clinician": "on"
                if item.is_important_for_clinician
                else "",
            }
        )
    return data


def test_a_crafted_change_form_post_to_a_published_version_is_refused(advisor_client, demo_version):
    before = list(Item.objects.filter(version=demo_version).values_list("link_id", "order", "text"))
    response = advisor_client.post(
        reverse("admin:intake_questionnaireversion_change", args=[demo_version.pk]),
        _change_form_post(demo_version, title="Hacked", text="Reworded"),
    )
    assert response.status_code == 403
    assert (
        list(Item.objects.filter(version=demo_version).values_list("link_id", "order", "text"))
        == before
    )
    page = advisor_client.get(
        reverse("admin:intake_questionnaireversion_change", args=[demo_version.pk])
    )
    assert "cannot be edited" in page.content.decode()


def test_a_draft_can_be_reworded_and_reordered_in_admin(advisor_client, demo_version):
    draft = questionnaire_version_create_draft_from(version=demo_version)
    response = advisor_client.post(
        reverse("admin:intake_questionnaireversion_change", args=[draft.pk]),
        _change_form_post(draft, title="v2"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert QuestionnaireVersion.objects.get(pk=draft.pk).title == "v2"
    first = Item.objects.filter(version=draft).order_by("order").first()
    assert first.link_id == "attestation"  # the last item moved to the top


def test_preview_renders_the_patient_page_and_saves_nothing(advisor_client, demo_version):
    url = reverse("admin:intake_questionnaireversion_preview", args=[demo_version.pk])
    page = advisor_client.get(url + "?step=2").content.decode()
    assert "Step 2 of 4" in page
    assert "Are you pregnant, trying to become pregnant, or breastfeeding?" in page
    checked = advisor_client.post(
        url + "?step=2", {"pregnancy": "true", "conditions": "none"}
    ).content.decode()
    assert "would end the intake" in checked
    invalid = advisor_client.post(url + "?step=2", {}).content.decode()
    assert "This question needs an answer." in invalid
    from intake.models import QuestionnaireResponse

    assert not QuestionnaireResponse.objects.exists()


def test_diff_view_shows_changes_against_the_source_version(advisor_client, demo_version):
    draft = questionnaire_version_create_draft_from(version=demo_version)
    item = Item.objects.get(version=draft, link_id="family-history")
    item.text = "Has anyone in your close family had hair loss?"
    item.save()
    page = advisor_client.get(
        reverse("admin:intake_questionnaireversion_diff", args=[draft.pk])
    ).content.decode()
    assert "family-history" in page
    assert "Has anyone in your close family had hair loss?" in page


@pytest.mark.parametrize("step", ["abc", "", "0", "-1", "99", "2.5", "²", "9" * 5000])
def test_preview_falls_back_to_step_one_for_a_step_that_does_not_exist(
    advisor_client, demo_version, step
):
    url = reverse("admin:intake_questionnaireversion_preview", args=[demo_version.pk])
    response = advisor_client.get(url, {"step": step})
    assert response.status_code == 200
    assert "Step 1 of 4" in response.content.decode()

import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory

User = get_user_model()
pytestmark = pytest.mark.django_db


def _signup(client, email="new@example.com", password="a-long-unusual-pass", password2=None):
    return client.post(
        reverse("accounts:signup"),
        {"email": email, "password1": password, "password2": password2 or password},
    )


def test_signup_creates_an_unverified_patient_login_with_argon2_and_asks_to_check_email(
    client, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    response = _signup(client, email="New.Person@Example.com")
    assert response.url == reverse("accounts:signup_check_email")
    user = User.objects.get()
    assert user.email == "new.person@example.com"
    assert user.password.startswith("argon2")
    assert not user.is_staff
    assert user.email_verified_at is None
    assert "_auth_user_id" not in client.session  # signed in only by the emailed link


def test_signup_with_an_email_taken_in_another_case_creates_nothing_and_says_nothing(client):
    owner = UserFactory(email="taken@example.com")
    response = _signup(client, email="TAKEN@example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_check_email")
    assert User.objects.count() == 1
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)
    assert "already exists" not in client.get(response.url).content.decode()


def test_the_database_rejects_a_case_variant_duplicate_even_without_the_form():
    UserFactory(email="dup@example.com")
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="DUP@example.com")])


def test_signup_rejects_weak_and_mismatched_passwords(client):
    weak = _signup(client, password="password")
    assert "too short" in weak.content.decode() or "too common" in weak.content.decode()
    mismatch = _signup(client, password="a-long-unusual-pass", password2="another-long-pass")
    assert "do not match" in mismatch.content.decode()
    assert not User.objects.exists()


def test_login_is_by_email_in_any_case_and_logout_ends_the_session(client):
    user = UserFactory(email="me@example.com")
    response = client.post(
        reverse("accounts:login"), {"username": "ME@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


def test_wrong_password_shows_an_error_and_does_not_sign_in(client):
    UserFactory(email="me@example.com")
    response = client.post(
        reverse("accounts:login"), {"username": "me@example.com", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_is_locked_after_five_failures_even_with_the_right_password(client):
    UserFactory(email="me@example.com")
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "me@example.com", "password": "wrong"})
    response = client.post(
        reverse("accounts:login"), {"username": "me@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_of_one_account_does_not_lock_another(client):
    UserFactory(email="victim@example.com")
    other = UserFactory(email="other@example.com")
    for _ in range(5):
        client.post(
            reverse("accounts:login"), {"username": "victim@example.com", "password": "wrong"}
        )
    response = client.post(
        reverse("accounts:login"), {"username": "other@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_password_reset_by_email_end_to_end(client, settings):
    settings.SITE_NAME = "Acme Health"
    user = UserFactory(email="forgot@example.com")
    response = client.post(reverse("accounts:password_reset"), {"email": "FORGOT@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Acme Health" in mail.outbox[0].subject
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", body).group(1)
    confirm = client.get(link, follow=True)
    assert confirm.status_code == 200
    client.post(
        confirm.redirect_chain[-1][0],
        {"new_password1": "brand-new-pass-123", "new_password2": "brand-new-pass-123"},
    )
    user.refresh_from_db()
    assert user.check_password("brand-new-pass-123")


def test_password_reset_for_an_unknown_email_sends_nothing_and_reveals_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_pages_for_signed_in_users_are_never_cached(patient_client, client):
    signed_in = patient_client.get(reverse("home"))
    assert "no-store" in signed_in["Cache-Control"]


def _email_of_length(length: int) -> str:
    domain = "@example-clinic.com"
    return "a" * (length - len(domain)) + domain


def test_signup_refuses_an_email_longer_than_mdi_accepts_and_keeps_the_input(client):
    email = _email_of_length(81)
    response = _signup(client, email=email)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert (
        "Our clinical partner accepts email addresses of at most 80 characters. "
        "Please use a shorter address. You entered 81."
    ) in page
    assert f'value="{email}"' in page
    assert not User.objects.exists()


def test_signup_accepts_an_email_of_exactly_80_characters_and_tells_the_browser_the_limit(client):
    assert 'maxlength="80"' in client.get(reverse("accounts:signup")).content.decode()
    email = _email_of_length(80)
    assert _signup(client, email=email).status_code == 302
    assert User.objects.get().email == email


def test_a_patient_email_over_80_is_refused_by_the_model_too_so_admin_forms_refuse_it():
    with pytest.raises(ValidationError) as refused:
        User(email=_email_of_length(81)).full_clean(exclude=["password"])
    assert "at most 80 characters" in str(refused.value.message_dict["email"])
    User(email=_email_of_length(80)).full_clean(exclude=["password"])
    # Staff are never sent to MD Integrations: Django's usual limit applies to them.
    User(email=_email_of_length(81), is_staff=True).full_clean(exclude=["password"])


def test_staff_cannot_add_a_patient_login_with_a_too_long_email_in_admin(admin_client):
    email = _email_of_length(81)
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": email, "password1": "a-long-unusual-pass", "password2": "a-long-unusual-pass"},
    )
    assert response.status_code == 200
    assert "at most 80 characters" in html.unescape(response.content.decode())
    assert not User.objects.filter(email=email).exists()


def test_two_signups_for_one_email_at_once_get_the_neutral_page_not_a_500(client, monkeypatch):
    """A double click: the losing request passed every check before the winner saved."""
    from accounts import services

    UserFactory(email="race@example.com")  # the winner, saved just after our checks ran
    monkeypatch.setattr(services, "user_exists_with_email", lambda *, email: False)
    monkeypatch.setattr(User, "validate_constraints", lambda self, exclude=None: None)
    monkeypatch.setattr(User, "validate_unique", lambda self, exclude=None: None)
    response = _signup(client, email="race@example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_check_email")
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["race@example.com"]]


def test_signup_refuses_a_password_of_only_spaces_and_keeps_the_email(client):
    response = _signup(client, email="Spaces@Example.com", password=" " * 10)
    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    assert "This password is only spaces." in content
    assert 'value="Spaces@Example.com"' in content
    assert not User.objects.exists()


def test_signup_refuses_a_password_with_too_few_different_characters(client):
    content = html.unescape(_signup(client, password="abababababab").content.decode())
    assert "too few different characters" in content
    assert not User.objects.exists()


def test_password_reset_refuses_a_password_of_only_spaces(client):
    user = UserFactory(email="blank@example.com")
    client.post(reverse("accounts:password_reset"), {"email": "blank@example.com"})
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    confirm = client.get(link, follow=True)
    response = client.post(
        confirm.redirect_chain[-1][0], {"new_password1": " " * 12, "new_password2": " " * 12}
    )
    assert response.status_code == 200
    assert "This password is only spaces." in html.unescape(response.content.decode())
    user.refresh_from_db()
    assert not user.check_password(" " * 12)

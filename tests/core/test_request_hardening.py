"""Requests the site must refuse cleanly rather than answer with a 500."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("length", ["abc", "-1", " 12x", "١٢"])
def test_a_form_post_with_a_non_numeric_content_length_is_a_400(client, length):
    response = client.post(
        reverse("accounts:signup"),
        data="email=a%40example.com",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=length,
    )
    assert response.status_code == 400


def test_a_normal_form_post_still_works(client):
    response = client.post(reverse("accounts:signup"), {"email": "a@example.com"})
    assert response.status_code == 200  # the form, with errors: not refused by the check

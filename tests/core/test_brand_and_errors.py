"""The brand comes from settings; error pages stay calm, branded and point to support."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import path

from cases.models import Offering
from config.urls import urlpatterns as project_urls
from core.brand import brand_stylesheet


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [*project_urls, path("boom/", _boom)]
handler500 = "core.views.server_error"


@pytest.mark.django_db
@override_settings(SITE_NAME="Northwind Health", SUPPORT_EMAIL="help@northwind.example")
def test_every_page_carries_the_brand_the_settings_name(client):
    body = client.get("/").content.decode()
    assert "Northwind Health" in body
    assert "mailto:help@northwind.example" in body  # footer
    assert 'href="/brand.css"' in body
    assert 'rel="icon"' in body
    assert "/static/brand/logo.svg" in body


@override_settings(BRAND_PRIMARY_COLOR="#AA3300")
def test_brand_css_carries_the_colour_without_inline_styles(client):
    response = client.get("/brand.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "max-age=86400" in response["Cache-Control"]
    assert response.content.decode() == ":root{--brand:#aa3300;--brand-dark:#7f2600}\n"


def test_a_short_hex_colour_gets_a_darker_shade_too():
    with override_settings(BRAND_PRIMARY_COLOR="#fff"):
        assert brand_stylesheet() == ":root{--brand:#fff;--brand-dark:#bfbfbf}\n"


@pytest.mark.parametrize("bad", ["red", "#12345", "#1f5f8b;}body{display:none", "#ggg"])
def test_a_colour_that_is_not_hex_stops_startup(bad, monkeypatch):
    import importlib

    import config.settings.base as base

    monkeypatch.setenv("BRAND_PRIMARY_COLOR", bad)
    with pytest.raises(ImproperlyConfigured, match="BRAND_PRIMARY_COLOR"):
        importlib.reload(base)
    monkeypatch.delenv("BRAND_PRIMARY_COLOR")
    importlib.reload(base)  # leave the module as the other tests found it


def test_favicon_ico_is_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/brand/favicon.svg"


@pytest.mark.django_db
@override_settings(DEBUG=False, SITE_NAME="Northwind Health", SUPPORT_EMAIL="help@nw.example")
def test_a_missing_page_is_a_branded_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Northwind Health" in body
    assert "We couldn't find that page" in body
    assert "mailto:help@nw.example" in body


@pytest.mark.django_db
@override_settings(
    ROOT_URLCONF=__name__,
    DEBUG=False,
    SITE_NAME="Northwind Health",
    SUPPORT_EMAIL="help@nw.example",
)
def test_a_crashing_view_renders_the_calm_500_page(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "Northwind Health" in body
    assert "mailto:help@nw.example" in body
    assert "RuntimeError" not in body


@pytest.mark.django_db
def test_home_lists_active_offerings_with_price_in_flat_queries(
    client, django_assert_max_num_queries
):
    for n in range(3):
        Offering.objects.create(
            name=f"Treatment {n}",
            mdi_offering_id="5f0c9a8e-6b1d-4c3a-9e2f-7d4b8a1c2e60",
            questionnaire_slug="hair-loss",
            price_minor=4900 + n,
            description=f"Line {n}",
        )
    Offering.objects.create(
        name="Retired", mdi_offering_id="x", questionnaire_slug="old", is_active=False
    )
    with django_assert_max_num_queries(2):
        body = client.get("/").content.decode()
    assert "Treatment 0" in body and "Line 2" in body and "$49.02" in body
    assert "Retired" not in body
    assert body.count("Start a visit") == 3
    assert "held on your card" in body  # how payment works, said plainly
    Offering.objects.create(
        name="Treatment 4", mdi_offering_id="y", questionnaire_slug="z", price_minor=100
    )
    with django_assert_max_num_queries(2):
        client.get("/")

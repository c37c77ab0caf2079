"""Fixtures for the MDI client's tests: a mocked MDI that issues tokens, and a client that
records its backoff sleeps instead of sleeping."""

import pytest
import respx

from cases.mdi_client import MdiClient

BASE = "https://mdi.test"
TOKEN = {"token_type": "Bearer", "expires_in": 86400, "access_token": "tok-1"}


@pytest.fixture
def mdi():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/v1/partner/auth/token").respond(200, json=TOKEN)
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> MdiClient:
    return MdiClient(base_url=BASE, client_id="cid", client_secret="csecret", sleep=sleeps.append)

"""Edges of the MDI client (cases/mdi_client.py) found in review."""

import httpx
import pytest
import respx

from cases.mdi_client import MdiClient, MdiRequestError, MdiUnavailable
from core.exceptions import PermanentError, TransientError
from tests.mdi.conftest import BASE


def test_every_call_has_a_connect_and_a_read_timeout(client):
    timeout = client.http.timeout
    assert timeout.connect and timeout.read and timeout.write and timeout.pool


def test_the_error_types_map_to_core_exceptions():
    assert issubclass(MdiRequestError, PermanentError)
    assert issubclass(MdiUnavailable, TransientError)


def test_the_token_is_cached_for_its_lifetime_minus_a_margin(mdi, client, monkeypatch):
    from django.core.cache import cache

    seen = {}
    real_set = cache.set

    def spy(key, value, timeout=None, **kwargs):
        seen[key] = timeout
        return real_set(key, value, timeout=timeout, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    mdi.get("/v1/partner/cases/c").respond(200, json={"case_id": "c"})
    client.case_get(case_id="c")
    (timeout,) = seen.values()
    assert 86400 - 600 <= timeout < 86400  # refreshed shortly before expires_in
    assert "cs" not in next(iter(seen))  # the secret never lands in a cache key


def test_a_token_request_refused_by_mdi_is_a_permanent_error_with_its_message(client):
    with respx.mock(base_url=BASE) as router:
        router.post("/v1/partner/auth/token").respond(
            401, json={"message": "Client authentication failed"}
        )
        with pytest.raises(MdiRequestError, match="Client authentication failed"):
            client.case_get(case_id="c")


@pytest.mark.parametrize("status", [507, 520, 522, 524])
def test_every_5xx_is_retried(mdi, client, status):
    route = mdi.get("/v1/partner/cases/c")
    route.side_effect = [httpx.Response(status), httpx.Response(200, json={"case_id": "c"})]
    assert client.case_get(case_id="c") == {"case_id": "c"}


def test_a_non_json_success_body_is_a_typed_error_not_a_crash(mdi, client):
    mdi.get("/v1/partner/cases/c").respond(200, text="<html>proxy page</html>")
    with pytest.raises((TransientError, PermanentError)):
        client.case_get(case_id="c")


def test_no_pointless_sleep_after_the_last_attempt(mdi, client, sleeps):
    mdi.get("/v1/partner/cases/c").respond(503)
    with pytest.raises(MdiUnavailable):
        client.case_get(case_id="c")
    assert len(sleeps) == client.max_attempts - 1


def test_a_token_reply_without_an_access_token_is_a_typed_error(sleeps):
    with respx.mock(base_url="https://mdi.test") as router:
        router.post("/v1/partner/auth/token").respond(200, json={"token_type": "Bearer"})
        client = MdiClient(
            base_url="https://mdi.test", client_id="c", client_secret="s", sleep=sleeps.append
        )
        with pytest.raises(PermanentError, match="without access_token"):
            client.case_get(case_id="c")


def test_a_401_on_the_last_attempt_says_so(sleeps):
    with respx.mock(base_url="https://mdi.test") as router:
        router.post("/v1/partner/auth/token").respond(
            200, json={"access_token": "t", "expires_in": 3600}
        )
        router.get("/v1/partner/cases/c").respond(401, json={"message": "Unauthenticated."})
        client = MdiClient(
            base_url="https://mdi.test",
            client_id="c",
            client_secret="s",
            sleep=sleeps.append,
            max_attempts=1,
        )
        with pytest.raises(MdiUnavailable, match="HTTP 401"):
            client.case_get(case_id="c")

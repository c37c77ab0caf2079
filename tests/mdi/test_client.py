"""The MDI client: exact requests, token cache and refresh, retries, typed errors."""

import json

import httpx
import pytest

from cases.mdi_client import MdiClient, MdiRequestError, MdiUnavailable
from tests.mdi.conftest import BASE, TOKEN


def test_the_token_request_is_exactly_what_mdi_documents_and_is_cached(mdi, client):
    mdi.patch("/v1/partner/patients/p").respond(200, json={"patient_id": "p"})
    assert client.patient_update(patient_id="p", payload={"gender": 2}) == {"patient_id": "p"}
    assert client.patient_update(patient_id="p", payload={"gender": 2}) == {"patient_id": "p"}
    token_calls = mdi.routes[0].calls
    assert token_calls.call_count == 1  # cached for the second call
    assert json.loads(token_calls[0].request.content) == {
        "grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret", "scope": "*",
    }  # fmt: skip
    case_request = mdi.routes[1].calls[0].request
    assert case_request.headers["Authorization"] == "Bearer tok-1"
    assert json.loads(case_request.content) == {"gender": 2}


def test_the_token_is_shared_through_the_cache_across_clients(mdi, sleeps):
    mdi.get("/v1/partner/cases/c-1").respond(200, json={"case_id": "c-1"})
    for _ in range(2):
        MdiClient(base_url=BASE, client_id="cid", client_secret="s", sleep=sleeps.append).case_get(
            case_id="c-1"
        )
    assert mdi.routes[0].calls.call_count == 1


def test_a_401_refreshes_the_token_once_and_retries(mdi, client):
    mdi.routes[0].side_effect = [
        httpx.Response(200, json=TOKEN),
        httpx.Response(200, json={**TOKEN, "access_token": "tok-2"}),
    ]
    route = mdi.get("/v1/partner/cases/c-1")
    route.side_effect = [
        httpx.Response(401, json={"message": "Unauthenticated."}),
        httpx.Response(200, json={"case_id": "c-1"}),
    ]
    assert client.case_get(case_id="c-1") == {"case_id": "c-1"}
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_a_second_401_is_an_error_not_a_loop(mdi, client):
    mdi.get("/v1/partner/cases/c-1").respond(401, json={"message": "Unauthenticated."})
    with pytest.raises(MdiRequestError) as excinfo:
        client.case_get(case_id="c-1")
    assert excinfo.value.status == 401
    assert mdi.routes[0].calls.call_count == 2  # the first token, one refresh


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, json={"message": "busy"}),
        httpx.Response(418, json={"message": "API under maintenance"}),
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["503", "418-maintenance", "429", "connect-error", "timeout"],
)
def test_transient_failures_are_retried_with_backoff(mdi, client, sleeps, failure):
    route = mdi.get("/v1/partner/cases/c-1")
    route.side_effect = [failure, failure, httpx.Response(200, json={"case_id": "c-1"})]
    assert client.case_get(case_id="c-1") == {"case_id": "c-1"}
    assert route.call_count == 3
    assert len(sleeps) == 2
    if isinstance(failure, httpx.Response) and failure.status_code == 429:
        assert all(1.6 <= delay <= 2.4 for delay in sleeps)  # Retry-After: 2, with jitter
    else:
        assert sleeps[1] > sleeps[0]  # exponential: 0.5 s then 1 s, each jittered by 20 %


def test_retries_are_bounded_then_a_transient_error_is_raised(mdi, client, sleeps):
    route = mdi.get("/v1/partner/cases/c-1").respond(502)
    with pytest.raises(MdiUnavailable, match="HTTP 502"):
        client.case_get(case_id="c-1")
    assert route.call_count == 4 and len(sleeps) == 3  # no pointless sleep after the last try


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_other_4xx_are_not_retried_and_carry_mdis_message(mdi, client, sleeps, status):
    route = mdi.patch("/v1/partner/patients/p").respond(
        status, json={"message": "The patient id field is required."}
    )
    with pytest.raises(MdiRequestError, match=r"The patient id field is required\.") as excinfo:
        client.patient_update(patient_id="p", payload={})
    assert (excinfo.value.status, route.call_count, sleeps) == (status, 1, [])


def test_email_already_taken_is_its_own_error_and_ensure_finds_the_same_person(mdi, client):
    create = mdi.post("/v1/partner/patients").respond(
        400, json={"message": "ERROR_PATIENT_EMAIL_ALREADY_TAKEN"}
    )
    dana = {
        "patient_id": "p-9",
        "email": "Dana@Example.com",
        "first_name": "Dana",
        "last_name": "Reyes",
        "date_of_birth": "1988-04-12",
    }
    search = mdi.post("/v1/partner/patients/search")
    search.side_effect = [
        httpx.Response(200, json=[]),  # the search index had not caught up yet
        httpx.Response(200, json=[{"patient_id": "other", "email": "x@example.com"}, dana]),
    ]
    payload = {k: v for k, v in dana.items() if k != "patient_id"} | {"email": "dana@example.com"}
    assert client.patient_ensure(payload=payload) == ("p-9", False)
    assert create.call_count == 1
    assert json.loads(search.calls[0].request.content) == {
        "search": "dana@example.com",
        "is_sandbox": False,
    }


def test_file_upload_is_multipart_with_name_and_type(mdi, client):
    route = mdi.post("/v1/partner/files").respond(201, json={"file_id": "f-1"})
    assert (
        client.file_upload(
            content=b"\xff\xd8jpeg",
            name="photo-id.jpg",
            mime_type="image/jpeg",
            file_type="driver-license",
        )
        == "f-1"
    )
    request = route.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    body = request.content
    assert b'name="file"; filename="photo-id.jpg"' in body and b"\xff\xd8jpeg" in body
    assert (
        b'name="type"\r\n\r\ndriver-license' in body and b'name="name"\r\n\r\nphoto-id.jpg' in body
    )


def test_patient_cases_follow_pagination_for_reconciliation(mdi, client):
    route = mdi.get("/v1/partner/patients/p-1/cases")
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "current_page": 1,
                "last_page": 2,
                "data": [{"case_id": "c-1", "metadata": "uuid-a"}],
            },
        ),
        httpx.Response(
            200,
            json={
                "current_page": 2,
                "last_page": 2,
                "data": [{"case_id": "c-2", "metadata": "uuid-b"}],
            },
        ),
    ]
    assert client.case_ids_for_metadata(patient_id="p-1", metadata="uuid-b") == ["c-2"]
    assert [dict(c.request.url.params) for c in route.calls] == [{"page": "1"}, {"page": "2"}]


def test_messages_are_listed_and_sent_on_the_patient_channel(mdi, client):
    mdi.get("/v1/partner/patients/p-1/messages").respond(
        200,
        json={
            "data": [
                {
                    "id": 7,
                    "text": "Any side effects?",
                    "user_type": "App\\Models\\Clinician",
                    "created_at": "2026-11-25",
                }
            ]
        },
    )
    send = mdi.post("/v1/partner/patients/p-1/messages").respond(
        201, json={"id": 8, "text": "None so far"}
    )
    messages = client.patient_messages(patient_id="p-1")
    assert (messages[0].id, messages[0].text) == ("7", "Any side effects?")
    client.patient_message_send(patient_id="p-1", text="None so far", file_ids=["f-1"])
    assert json.loads(send.calls[0].request.content) == {
        "channel": "patient", "text": "None so far", "sender_type": "patient", "files": [{"id": "f-1"}],
    }  # fmt: skip
    assert mdi.routes[1].calls[0].request.url.params["channel"] == "patient"


def test_attaching_a_file_to_a_case(mdi, client):
    route = mdi.post("/v1/partner/cases/c-1/files/f-1").respond(200)
    client.case_attach_file(case_id="c-1", file_id="f-1")
    assert route.called


def test_a_patient_update_is_a_partial_patch(mdi, client):
    route = mdi.patch("/v1/partner/patients/p-1").respond(
        200, json={"patient_id": "p-1", "phone_number": "(415) 555-0199"}
    )
    assert (
        client.patient_update(patient_id="p-1", payload={"phone_number": "(415) 555-0199"})[
            "phone_number"
        ]
        == "(415) 555-0199"
    )
    assert json.loads(route.calls[0].request.content) == {"phone_number": "(415) 555-0199"}

"""The only module that speaks HTTP to MD Integrations (reference: ../shared/reference/mdi-api.md).

Reads settings once per client, sets timeouts on every call, caches the partner token in
Django's cache (Redis when configured, so every process shares it), refreshes it once on a 401,
retries connection errors, timeouts, 429, 418 (maintenance) and 5xx with exponential backoff and
jitter, and turns any other 4xx into an MdiRequestError carrying MDI's `message` for support.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

from core.exceptions import PermanentError, TransientError

# --- facts the reference marks uncertain: each choice lives here, easy to change ------------
TOKEN_PATH = "/v1/partner/auth/token"  # noqa: S105 - a URL path, not a secret [DOC+6]
TOKEN_EXPIRY_MARGIN = 300  # seconds before expires_in we stop using a token (our choice)
TOKEN_FALLBACK_LIFETIME = 3600  # when expires_in is missing (our choice, S1)
EMAIL_TAKEN = "ERROR_PATIENT_EMAIL_ALREADY_TAKEN"  # [1 src] (S3)
PATIENT_SEARCH_BODY = {"is_sandbox": False}  # [DOC]; sandbox patients need True there
# Besides every 5xx: 418 = maintenance [DOC], 429 = slow down.
RETRYABLE_STATUS = frozenset({418, 429})
MESSAGE_CHANNEL = "patient"  # patient <-> clinician channel [DOC]


class MdiRequestError(PermanentError):
    """MDI refused the request (a 4xx other than 401/418/429); `message` is MDI's own."""

    def __init__(self, *, status: int, message: str, path: str) -> None:
        self.status, self.message, self.path = status, message, path
        super().__init__(f"MDI {status} on {path}: {message}")


class MdiPatientEmailTaken(MdiRequestError):
    pass


class MdiUnavailable(TransientError):
    """MDI did not answer usefully after the retry budget (timeouts, 5xx, maintenance)."""


@dataclass(frozen=True)
class MdiMessage:
    id: str
    text: str
    user_type: str
    created_at: str


class MdiClient:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or settings.MDI_API_BASE_URL).rstrip("/")
        self.client_id = client_id or settings.MDI_CLIENT_ID
        self.client_secret = client_secret or settings.MDI_CLIENT_SECRET
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(15.0, connect=5.0),
            headers={"Accept": "application/json"},
        )

    # --- transport ---------------------------------------------------------------------------
    @property
    def _token_cache_key(self) -> str:
        return f"mdi:token:{self.base_url}:{self.client_id}"

    def _token(self, *, refresh: bool = False) -> str:
        if not refresh and (token := cache.get(self._token_cache_key)):
            return token
        body = self._send(
            "POST",
            TOKEN_PATH,
            json={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": "*",
            },
            authenticated=False,
        )
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MdiRequestError(
                status=200, message="token reply without access_token", path=TOKEN_PATH
            )
        lifetime = int(body.get("expires_in") or TOKEN_FALLBACK_LIFETIME)
        cache.set(
            self._token_cache_key,
            body["access_token"],
            timeout=max(60, lifetime - TOKEN_EXPIRY_MARGIN),
        )
        return body["access_token"]

    def _backoff(self, attempt: int, response: httpx.Response | None) -> None:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        delay = float(retry_after) if retry_after and retry_after.isdigit() else 0.5 * 2**attempt
        self.sleep(min(delay, 30.0) * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto

    def _send(self, method: str, path: str, *, authenticated: bool = True, **kwargs: Any) -> Any:
        refreshed = False
        last_problem = ""
        for attempt in range(self.max_attempts):
            is_last = attempt == self.max_attempts - 1
            headers = (
                {"Authorization": f"Bearer {self._token(refresh=False)}"} if authenticated else {}
            )
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_problem = type(exc).__name__
                if not is_last:
                    self._backoff(attempt, None)
                continue
            if response.status_code == 401 and authenticated and not refreshed:
                last_problem = "HTTP 401"
                self._token(refresh=True)  # expired or revoked: one fresh token, one retry
                refreshed = True
                continue
            if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
                last_problem = f"HTTP {response.status_code}"
                if not is_last:
                    self._backoff(attempt, response)
                continue
            if response.status_code >= 400:
                message = _message(response)
                error = MdiPatientEmailTaken if message == EMAIL_TAKEN else MdiRequestError
                raise error(status=response.status_code, message=message, path=path)
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                # A 2xx that is not JSON is a proxy or gateway page, not MDI: try again.
                last_problem = f"HTTP {response.status_code} without a JSON body"
                if not is_last:
                    self._backoff(attempt, response)
        raise MdiUnavailable(f"MDI unavailable for {method} {path}: {last_problem}")

    # --- calls -------------------------------------------------------------------------------
    def patient_create(self, *, payload: dict[str, Any]) -> str:
        return str(self._send("POST", "/v1/partner/patients", json=payload)["patient_id"])

    def patient_update(self, *, patient_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._send("PATCH", f"/v1/partner/patients/{patient_id}", json=payload)

    def patient_search(self, *, search: str) -> list[dict[str, Any]]:
        body = self._send(
            "POST", "/v1/partner/patients/search", json={"search": search, **PATIENT_SEARCH_BODY}
        )
        return body if isinstance(body, list) else body.get("data", [])

    def patient_cases(self, *, patient_id: str) -> list[dict[str, Any]]:
        """All pages of GET /patients/{id}/cases (paginated `current_page`, `data[]`)."""
        cases, page = [], 1
        while True:
            body = self._send(
                "GET", f"/v1/partner/patients/{patient_id}/cases", params={"page": page}
            )
            data = body.get("data", []) if isinstance(body, dict) else body
            cases.extend(data)
            if not data or not isinstance(body, dict) or page >= int(body.get("last_page", page)):
                return cases
            page += 1

    def file_upload(self, *, content: bytes, name: str, mime_type: str, file_type: str) -> str:
        body = self._send(
            "POST",
            "/v1/partner/files",
            files={"file": (name, content, mime_type)},
            data={"name": name, "type": file_type},
        )
        return str(body["file_id"])

    def case_create(self, *, payload: dict[str, Any]) -> str:
        return str(self._send("POST", "/v1/partner/cases", json=payload)["case_id"])

    def case_get(self, *, case_id: str) -> dict[str, Any]:
        return self._send("GET", f"/v1/partner/cases/{case_id}")

    def case_attach_file(self, *, case_id: str, file_id: str) -> None:
        self._send("POST", f"/v1/partner/cases/{case_id}/files/{file_id}")

    def patient_messages(self, *, patient_id: str) -> list[MdiMessage]:
        body = self._send(
            "GET",
            f"/v1/partner/patients/{patient_id}/messages",
            params={"channel": MESSAGE_CHANNEL},
        )
        rows = body.get("data", []) if isinstance(body, dict) else body
        return [
            MdiMessage(
                str(r["id"]), r.get("text", ""), r.get("user_type", ""), r.get("created_at", "")
            )
            for r in rows
        ]

    def patient_message_send(
        self, *, patient_id: str, text: str, file_ids: list[str] | None = None
    ) -> MdiMessage:
        payload: dict[str, Any] = {
            "channel": MESSAGE_CHANNEL,
            "text": text,
            "sender_type": "patient",
        }
        if file_ids:
            payload["files"] = [{"id": file_id} for file_id in file_ids]
        r = self._send("POST", f"/v1/partner/patients/{patient_id}/messages", json=payload)
        return MdiMessage(
            str(r["id"]), r.get("text", ""), r.get("user_type", ""), r.get("created_at", "")
        )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    return (
        str(body.get("message") or body.get("error") or response.status_code)
        if isinstance(body, dict)
        else str(body)
    )

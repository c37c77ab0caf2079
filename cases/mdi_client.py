"""The only module that speaks HTTP to MD Integrations (reference: ../shared/reference/mdi-api.md).

Reads settings once per client, sets timeouts on every call, caches the partner token in
Django's cache (Redis when configured, so every process shares it) and refreshes it once on a
401. Any other 4xx becomes an MdiRequestError carrying MDI's `message` for support.

THE retry rule lives in `_send` and `_create`, nowhere else:
- A failure known to happen before MDI acted (connection refused, DNS, connect timeout, 429,
  503 with Retry-After) is retried as it is, for every request.
- A failure whose outcome is unknown (read timeout, connection reset after sending, any other
  5xx, 418, a non-JSON 2xx) is retried blindly only for requests that are safe to repeat
  (reads, updates, cancellation). A create is never re-sent before reconciling: `_create`
  first asks MDI whether the object exists (patients by email and identity, cases by our
  `metadata`) and re-sends only when it does not. Files have no list route, so a lost upload
  reply may leave one unattached orphan in MDI; only the id we got back is ever attached.
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
MESSAGE_CHANNEL = "patient"  # patient <-> clinician channel [DOC]
CANCELLED = "cancelled"  # MDI's case status name [DOC]
# Failures that cannot have reached MDI's application: safe to repeat for any request.
NOT_ACTED_EXCEPTIONS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Status codes retried at all; which of them prove "not acted" is decided in `_not_acted`.
RETRYABLE_STATUS = frozenset({418, 429})


class MdiRequestError(PermanentError):
    """MDI refused the request (a 4xx other than 401/429); `message` is MDI's own."""

    def __init__(self, *, status: int, message: str, path: str) -> None:
        self.status, self.message, self.path = status, message, path
        super().__init__(f"MDI {status} on {path}: {message}")


class MdiPatientEmailTaken(MdiRequestError):
    pass


class MdiPatientConflict(PermanentError):
    """MDI holds a patient with this email whose name or date of birth differ from ours: we
    never attach a visit to someone else's record. Support resolves it with MDI."""


class MdiUnavailable(TransientError):
    """MDI did not answer usefully after the retry budget (timeouts, 5xx, maintenance)."""


class MdiOutcomeUnknown(TransientError):
    """A create was sent and its outcome is unknown: MDI may or may not have acted."""


@dataclass(frozen=True)
class MdiMessage:
    id: str
    text: str
    user_type: str
    created_at: str


@dataclass(frozen=True)
class MdiCaseLink:
    """The case MDI holds for one visit, and any other active case carrying the same
    `metadata` (a create that landed late): the caller cancels those."""

    case_id: str
    duplicates: tuple[str, ...] = ()


@dataclass(frozen=True)
class MdiStatusChange:
    name: str
    reason: str
    user_type: str


def _not_acted(response: httpx.Response) -> bool:
    """429 is refused before any work; a 503 that names a Retry-After is a planned refusal.
    Anything else at or above 500 (and MDI's 418 maintenance page) might follow the work."""
    return response.status_code == 429 or (
        response.status_code == 503 and "Retry-After" in response.headers
    )


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

    def _send(
        self,
        method: str,
        path: str,
        *,
        authenticated: bool = True,
        repeatable: bool = True,
        **kwargs: Any,
    ) -> Any:
        """One request with bounded retries. `repeatable=False` marks a create: an unknown
        outcome then raises MdiOutcomeUnknown at once instead of sending it again."""
        refreshed = False
        last_problem = ""
        for attempt in range(self.max_attempts):
            is_last = attempt == self.max_attempts - 1
            headers = (
                {"Authorization": f"Bearer {self._token(refresh=False)}"} if authenticated else {}
            )
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
            except NOT_ACTED_EXCEPTIONS as exc:
                last_problem = type(exc).__name__
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_problem = type(exc).__name__
                if not repeatable:
                    raise MdiOutcomeUnknown(f"{method} {path}: {last_problem}") from exc
            else:
                if response.status_code == 401 and authenticated and not refreshed:
                    last_problem = "HTTP 401"
                    self._token(refresh=True)  # expired or revoked: one fresh token, one retry
                    refreshed = True
                    continue
                if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
                    last_problem = f"HTTP {response.status_code}"
                    if not repeatable and not _not_acted(response):
                        raise MdiOutcomeUnknown(f"{method} {path}: {last_problem}")
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
                except ValueError as exc:
                    # A 2xx that is not JSON is a proxy or gateway page: MDI may have acted.
                    last_problem = f"HTTP {response.status_code} without a JSON body"
                    if not repeatable:
                        raise MdiOutcomeUnknown(f"{method} {path}: {last_problem}") from exc
            if not is_last:
                self._backoff(attempt, None)
        raise MdiUnavailable(f"MDI unavailable for {method} {path}: {last_problem}")

    def _create(
        self, path: str, *, find: Callable[[], str | None] | None, id_key: str, **kwargs: Any
    ) -> str:
        """Create one object at most once. An unknown outcome is reconciled with `find`
        before anything is re-sent; without `find` (files) a re-send may leave an orphan."""
        for attempt in range(self.max_attempts):
            try:
                return str(self._send("POST", path, repeatable=False, **kwargs)[id_key])
            except MdiOutcomeUnknown:
                if attempt == self.max_attempts - 1:
                    raise
                self._backoff(attempt, None)  # give MDI a moment to finish what it started
                if find is not None and (found := find()):
                    return found
        raise MdiUnavailable(f"MDI unavailable for POST {path}")  # max_attempts < 1

    # --- patients ----------------------------------------------------------------------------
    def patient_get(self, *, patient_id: str) -> dict[str, Any]:
        return self._send("GET", f"/v1/partner/patients/{patient_id}")

    def patient_update(self, *, patient_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._send("PATCH", f"/v1/partner/patients/{patient_id}", json=payload)

    def patient_search(self, *, search: str) -> list[dict[str, Any]]:
        body = self._send(
            "POST", "/v1/partner/patients/search", json={"search": search, **PATIENT_SEARCH_BODY}
        )
        return body if isinstance(body, list) else body.get("data", [])

    def patient_find(self, *, payload: dict[str, Any]) -> str | None:
        """The MDI patient with this payload's email, if any. One with our email but another
        name or date of birth is someone else's record: MdiPatientConflict, never a match."""
        email = str(payload["email"]).lower()
        for found in self.patient_search(search=email):
            if str(found.get("email", "")).lower() != email:
                continue
            if not _same_person(found, payload):
                raise MdiPatientConflict(
                    f"MDI patient {found.get('patient_id')} has this email but another identity"
                )
            return str(found["patient_id"])
        return None

    def patient_ensure(self, *, payload: dict[str, Any]) -> tuple[str, bool]:
        """The MDI patient for this identity, created only if MDI has none: (id, created).
        Looking first also covers an earlier attempt whose create reply was lost."""
        if found := self.patient_find(payload=payload):
            return found, False
        try:
            patient_id = self._create(
                "/v1/partner/patients",
                json=payload,
                id_key="patient_id",
                find=lambda: self.patient_find(payload=payload),
            )
        except MdiPatientEmailTaken:
            # Created between our search and our create (or MDI's search index lags).
            if found := self.patient_find(payload=payload):
                return found, False
            raise
        return patient_id, True

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

    # --- files -------------------------------------------------------------------------------
    def file_upload(self, *, content: bytes, name: str, mime_type: str, file_type: str) -> str:
        return self._create(
            "/v1/partner/files",
            find=None,  # MDI documents no way to list a partner's files
            id_key="file_id",
            files={"file": (name, content, mime_type)},
            data={"name": name, "type": file_type},
        )

    # --- cases -------------------------------------------------------------------------------
    def case_ids_for_metadata(self, *, patient_id: str, metadata: str) -> list[str]:
        """The patient's active (not cancelled) MDI cases carrying our `metadata`, in MDI's
        listing order."""
        return [
            str(case["case_id"])
            for case in self.patient_cases(patient_id=patient_id)
            if str(case.get("metadata") or "") == metadata
            and (case.get("case_status") or {}).get("name") != CANCELLED
        ]

    def case_ensure(self, *, payload: dict[str, Any]) -> MdiCaseLink:
        """The one MDI case for this visit (`payload["metadata"]`), created only if MDI holds
        none. Every other active case with the same metadata comes back as a duplicate."""

        def active() -> list[str]:
            return self.case_ids_for_metadata(
                patient_id=payload["patient_id"], metadata=payload["metadata"]
            )

        if existing := active():
            return MdiCaseLink(existing[0], tuple(existing[1:]))
        case_id = self._create(
            "/v1/partner/cases",
            json=payload,
            id_key="case_id",
            find=lambda: next(iter(active()), None),
        )
        return MdiCaseLink(case_id)

    def case_get(self, *, case_id: str) -> dict[str, Any]:
        return self._send("GET", f"/v1/partner/cases/{case_id}")

    def case_statuses(self, *, case_id: str) -> list[MdiStatusChange]:
        """The case's status history, oldest first, with who made each change."""
        body = self._send("GET", f"/v1/partner/cases/{case_id}/statuses")
        rows = body.get("data", []) if isinstance(body, dict) else body
        return [
            MdiStatusChange(
                name=str(row.get("name") or ""),
                reason=str(row.get("reason") or ""),
                user_type=str(row.get("user_type") or ""),
            )
            for row in rows
            if isinstance(row, dict)
        ]

    def case_cancel(self, *, case_id: str, reason: str) -> None:
        """Cancel a case as the partner. Safe to repeat: a case already cancelled is done."""
        try:
            self._send("POST", f"/v1/partner/cases/{case_id}/cancel", json={"reason": reason})
        except MdiRequestError:
            status = (self.case_get(case_id=case_id).get("case_status") or {}).get("name")
            if status != CANCELLED:
                raise

    def case_attach_file(self, *, case_id: str, file_id: str) -> None:
        self._send("POST", f"/v1/partner/cases/{case_id}/files/{file_id}")

    # --- messages ----------------------------------------------------------------------------
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
        # A message is a create: an unknown outcome is the caller's to reconcile.
        r = self._send(
            "POST", f"/v1/partner/patients/{patient_id}/messages", json=payload, repeatable=False
        )
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


def _same_person(found: dict[str, Any], payload: dict[str, Any]) -> bool:
    def norm(value: object) -> str:
        return " ".join(str(value or "").split()).casefold()

    return all(
        norm(found.get(field)) == norm(payload.get(field))
        for field in ("first_name", "last_name", "date_of_birth")
    )


def mdi_client() -> MdiClient:
    """The client the services use; tests point it at a fake MDI."""
    return MdiClient()
